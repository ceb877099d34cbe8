"""Scanning: bytes in, a `Tally` out. A byte stream is read in large chunks into one reused
buffer (memory stays bounded whatever the file size) and cut into lines without copying; each
batch of lines goes through the fast path (fast.py), and the lines it refuses through the
precise checker (rules.py). A local file can be split into byte ranges aligned to line
ends and scanned by several processes; their tallies merge in file order, so line numbers
stay exact."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from tuning_provider.dataset.fast import scan_fast
from tuning_provider.dataset.report import Limits, Tally
from tuning_provider.dataset.rules import check_line, is_blank, line_too_long, too_many_tokens

__all__ = [
    "READING", "ReadInto", "Reading", "readinto_of", "scan", "scan_file_range", "scan_ranges_in_processes",
    "split_ranges",
]

# Reads into the buffer it is given and returns the number of bytes read, 0 at the end.
ReadInto = Callable[[memoryview], int]


@dataclass(frozen=True)
class Reading:
    """How bytes are read: sizes chosen for speed and bounded memory (a test hands in tiny ones)."""

    chunk_bytes: int = 2 << 20
    """Read size: big enough that per-chunk overhead vanishes, small enough to stay in the
    CPU's L2 cache while its lines are parsed (measured: 2 MiB is ~10% faster than 8 MiB)."""
    max_line_bytes: int = 32 << 20
    """A longer line cannot be a valid example (the token limit is ~0.5 M characters; even
    as \\u escapes that is ~6 MB), so it is skipped unread to keep memory bounded."""
    min_bytes_per_worker: int = 32 << 20
    """Below this many bytes per extra worker, starting processes costs more than it saves."""


READING = Reading()


def scan(readinto: ReadInto, max_errors: int, limits: Limits, reading: Reading, limit: int | None = None) -> Tally:
    """The tally of a byte stream (of its first `limit` bytes if given)."""
    tally = Tally(max_errors)
    counted = 0

    def counting_readinto(target: memoryview) -> int:
        nonlocal counted
        count = readinto(target) or 0
        counted += count
        return count

    def refused(line: memoryview | _TooLong, lineno: int) -> None:
        _check_refused(tally, limits, line, lineno)

    max_characters = limits.characters_per_example
    for batch in _line_batches(counting_readinto, reading, limit):
        tally.lines, characters, longest = scan_fast(batch, tally.lines, max_characters, refused)
        tally.characters += characters
        tally.max_example_characters = max(tally.max_example_characters, longest)
    tally.bytes = counted
    return tally


def _check_refused(tally: Tally, limits: Limits, line: memoryview | _TooLong, lineno: int) -> None:
    """A line the fast path refused: too long to hold, blank, or for the precise checker."""
    if isinstance(line, _TooLong):
        tally.add_error(lineno, line_too_long(line.size, limits.tokens_per_example))
        return
    data = bytes(line)  # the view is valid only for this batch
    if is_blank(data):
        tally.add_blank(lineno)
        return
    verdict = check_line(data)
    if verdict.problem:
        tally.add_error(lineno, verdict.problem)
        return
    if verdict.characters > limits.characters_per_example:
        tally.add_error(lineno, too_many_tokens(verdict.characters, limits.tokens_per_example))
    tally.add_example(verdict.characters, verdict.multimodal)


class _TooLong:
    """Stands in for a line too long to hold in memory; the fast path refuses it."""

    def __init__(self, size: int) -> None:
        self.size = size


def _line_batches(readinto: ReadInto, reading: Reading, limit: int | None = None) -> Iterator[list[Any]]:
    """The lines of a byte stream in batches, as memoryviews without their newlines; reads at
    most `limit` bytes if given. A line over `reading.max_line_bytes` is skipped and comes as
    a _TooLong. The views point into one reused buffer: each batch is valid only until the
    next one is asked for (no copies, which is most of the speed)."""
    buffer = bytearray(reading.chunk_bytes)
    view = memoryview(buffer)
    filled = 0  # bytes at the start of the buffer not yet handed out: a partial line
    skipping = 0  # bytes of an over-long line thrown away so far
    remaining = limit
    while True:
        if filled == len(buffer):  # one line fills the buffer: grow it, up to the cap
            if len(buffer) < reading.max_line_bytes:
                buffer = bytearray(view[:filled]) + bytes(len(buffer))
                view = memoryview(buffer)
            else:
                skipping, filled = skipping + filled, 0
        want = len(buffer) - filled if remaining is None else min(len(buffer) - filled, remaining)
        count = readinto(view[filled : filled + want]) if want else 0
        if not count:
            break
        if remaining is not None:
            remaining -= count
        filled += count
        if skipping:
            newline = buffer.find(b"\n", 0, filled)
            if newline < 0:
                skipping, filled = skipping + filled, 0
                continue
            yield [_TooLong(skipping + newline)]
            skipping = 0
            filled = _keep_tail(buffer, view, newline + 1, filled)
        end = buffer.rfind(b"\n", 0, filled)
        if end < 0:
            continue
        lines: list[memoryview | _TooLong] = []
        append = lines.append
        find = buffer.find
        start = 0
        while start <= end:
            newline = find(b"\n", start, end + 1)
            append(view[start:newline])
            start = newline + 1
        yield lines
        del lines
        filled = _keep_tail(buffer, view, end + 1, filled)
    if skipping:
        yield [_TooLong(skipping + filled)]
    elif filled:
        yield [view[:filled]]


def _keep_tail(buffer: bytearray, view: memoryview, start: int, filled: int) -> int:
    """Move buffer[start:filled] to the front; returns its length. (Copied through bytes:
    bytearray slice assignment uses memcpy, which must not see overlapping memory.)"""
    tail = filled - start
    buffer[:tail] = bytes(view[start:filled])
    return tail


def readinto_of(read: Callable[[int], bytes]) -> ReadInto:
    """A readinto for sources that only have read(n)."""

    def readinto(target: memoryview) -> int:
        data = read(len(target))
        target[: len(data)] = data
        return len(data)

    return readinto


# --- A local file: its byte ranges, in one process or several ------------------------------


def scan_file_range(
    path: str, start: int, end: int | None, max_errors: int, limits: Limits, reading: Reading
) -> Tally:
    """Scan bytes [start, end) of a file (to its end if `end` is None); raises OSError."""
    with open(path, "rb", buffering=0) as file:
        if start:  # a pipe (/dev/stdin) cannot seek, and is read from its start
            file.seek(start)
        return scan(file.readinto, max_errors, limits, reading, None if end is None else end - start)


def split_ranges(path: str, workers: int, reading: Reading) -> list[tuple[int, int]]:
    """[start, end) byte ranges covering the file, each starting at a line's first byte;
    fewer than `workers` when the file is small. Raises OSError."""
    size = os.stat(path).st_size
    count = max(1, min(workers, size // reading.min_bytes_per_worker))
    starts = [0]
    with open(path, "rb") as file:
        for index in range(1, count):
            cut = _next_line_start(file, max(size * index // count, starts[-1]))
            if cut >= size:
                break
            if cut > starts[-1]:
                starts.append(cut)
    return list(zip(starts, starts[1:] + [size], strict=True))


def _next_line_start(file: IO[bytes], offset: int) -> int:
    """The offset just after the first newline at or after `offset - 1`."""
    file.seek(max(offset - 1, 0))
    position = file.tell()
    while True:
        block = file.read(1 << 16)
        if not block:
            return position
        newline = block.find(b"\n")
        if newline >= 0:
            return position + newline + 1
        position += len(block)


def scan_ranges_in_processes(
    path: str, ranges: list[tuple[int, int]], max_errors: int, limits: Limits, reading: Reading
) -> Tally:
    """Scan the first range here and each other one in a process of its own; merge in file
    order. Raises OSError."""
    # A forked child costs a few milliseconds. But forking a process that runs threads (a
    # Pulumi provider's gRPC server) can deadlock the child: there, a fork server's pool.
    if threading.active_count() > 1:
        return _scan_in_fork_server_pool(path, ranges, max_errors, limits, reading)
    children = [_fork(scan_file_range, path, start, end, max_errors, limits, reading) for start, end in ranges[1:]]
    try:
        tally = scan_file_range(path, *ranges[0], max_errors, limits, reading)
        for child in children:
            tally.merge(_result(*child))
    except BaseException:
        for pid, _ in children:
            os.kill(pid, signal.SIGKILL)  # its work is of no use now
        raise
    finally:
        for pid, pipe in children:
            os.close(pipe)
            os.waitpid(pid, 0)
    return tally


def _fork(work: Callable[..., Tally], *args: Any) -> tuple[int, int]:
    """Run `work(*args)` in a forked child; returns its pid and the pipe its result comes on."""
    import pickle

    readable, writable = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: it shares the parent's modules, and leaves without their cleanup
        try:
            os.close(readable)
            try:
                result: Tally | BaseException = work(*args)
            except BaseException as exc:  # handed to the parent, which raises it
                result = exc
            with open(writable, "wb") as pipe:
                pickle.dump(result, pipe)
        finally:
            os._exit(0)
    os.close(writable)
    return pid, readable


def _result(pid: int, pipe: int) -> Tally:
    """What a forked child sent: its tally, or the error it raised, raised here."""
    import pickle

    try:
        with open(pipe, "rb", closefd=False) as stream:
            result = pickle.load(stream)
    except (EOFError, pickle.UnpicklingError):
        raise OSError(f"the process scanning part of the file (pid {pid}) ended before it finished") from None
    if isinstance(result, BaseException):
        raise result
    return result  # type: ignore[no-any-return]


def _scan_in_fork_server_pool(
    path: str, ranges: list[tuple[int, int]], max_errors: int, limits: Limits, reading: Reading
) -> Tally:
    # Imported here: only a process with threads running needs them (they take ~20 ms).
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    with ProcessPoolExecutor(len(ranges) - 1, mp_context=get_context("forkserver")) as pool:
        futures = [
            pool.submit(scan_file_range, path, start, end, max_errors, limits, reading) for start, end in ranges[1:]
        ]
        tally = scan_file_range(path, *ranges[0], max_errors, limits, reading)
        for future in futures:
            tally.merge(future.result())
    return tally
