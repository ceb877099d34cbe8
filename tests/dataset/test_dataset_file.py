"""Whole-file behaviour: blank lines, line ends, counts and limits, the error bound, notes a
caller adds (the base model's), sources (paths, file objects, unreadable ones), chunking and
worker processes."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.dataset.dataset_helpers import VALID, example, jsonl, report_for, write_jsonl
from tuning_provider.catalog import MAX_VALIDATION_EXAMPLES, MIN_RECOMMENDED_EXAMPLES
from tuning_provider.dataset import DatasetReport, Limits, LineError, Reading, validate_dataset
from tuning_provider.dataset.scan import split_ranges
from tuning_provider.errors import DatasetError

BAD = jsonl(example(("user", "a"), ("user", "b"), ("model", "c")))
REPO = Path(__file__).resolve().parents[2]
IMAGE = {"fileData": {"mimeType": "image/png", "fileUri": "gs://m/c.png"}}
MULTIMODAL = jsonl(example(("user", [IMAGE]), ("model", "A cat.")))


# --- blank lines and line ends --------------------------------------------------------------


def test_blank_lines_are_skipped_not_counted_and_warned_about(tmp_path: Path) -> None:
    report = report_for(tmp_path, VALID, b"", b"  \t", VALID, BAD, b"")

    assert report.lines == 6
    assert (report.examples, report.bad_lines) == (2, 1)
    assert [(error.line, "contents[1]" in error.message) for error in report.errors] == [(5, True)]
    [warning] = [w for w in report.warnings if "blank" in w]
    assert "3 blank lines were skipped (the first is line 2)" in warning


def test_a_final_newline_is_not_a_blank_line(tmp_path: Path) -> None:
    with_newline = validate_dataset(write_jsonl(tmp_path / "a.jsonl", VALID, VALID, end=b"\n"))
    without = validate_dataset(write_jsonl(tmp_path / "b.jsonl", VALID, VALID, end=b""))

    for report in (with_newline, without):
        assert (report.lines, report.examples, report.error_count) == (2, 2, 0)
        assert not any("blank" in warning for warning in report.warnings)


def test_crlf_line_ends_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "crlf.jsonl"
    path.write_bytes(b"\r\n".join([VALID, VALID, BAD, b""]) + b"\r\n")

    report = validate_dataset(path)

    assert (report.lines, report.examples, report.bad_lines) == (4, 2, 1)
    assert [error.line for error in report.errors] == [3]


def test_an_empty_file_has_no_examples(tmp_path: Path) -> None:
    report = report_for(tmp_path)

    assert (report.lines, report.examples, report.bad_lines) == (0, 0, 0)
    assert report.errors == [LineError(0, "the file has no examples: write one JSON object per line.")]


def test_invalid_utf8_is_reported_with_its_column(tmp_path: Path) -> None:
    report = report_for(tmp_path, VALID, b'{"contents": "caf\xe9"}')

    assert report.errors[0].line == 2
    assert "not valid UTF-8 (byte 0xe9 at column 18)" in report.errors[0].message


# --- example counts and limits --------------------------------------------------------------


def test_training_under_the_recommended_count_is_a_warning(tmp_path: Path) -> None:
    few = report_for(tmp_path, *[VALID] * (MIN_RECOMMENDED_EXAMPLES - 1))
    enough = report_for(tmp_path, *[VALID] * MIN_RECOMMENDED_EXAMPLES)

    assert few.ok and any(f"only {MIN_RECOMMENDED_EXAMPLES - 1} training examples" in w for w in few.warnings)
    assert enough.ok and enough.warnings == []


def test_validation_over_the_maximum_is_an_error(tmp_path: Path) -> None:
    over = report_for(tmp_path, *[VALID] * (MAX_VALIDATION_EXAMPLES + 1), kind="validation")
    at = report_for(tmp_path, *[VALID] * MAX_VALIDATION_EXAMPLES, kind="validation")

    assert over.errors[0].line == 0
    assert "the validation set has 5,001 examples, over the limit of 5,000" in over.errors[0].message
    assert at.ok and at.warnings == []  # no recommended minimum for validation sets


def test_training_over_the_maximum_is_an_error(tmp_path: Path) -> None:
    limits = Limits(training_examples=3)
    over = report_for(tmp_path, VALID, VALID, VALID, VALID, limits=limits)
    at = report_for(tmp_path, VALID, VALID, VALID, limits=limits)

    assert [error.line for error in over.errors] == [0]
    assert "the training set has 4 examples, over the limit of 3" in over.errors[0].message
    assert at.ok


def test_multimodal_training_examples_have_their_own_maximum(tmp_path: Path) -> None:
    limits = Limits(multimodal_training_examples=2)
    over = report_for(tmp_path, MULTIMODAL, VALID, MULTIMODAL, MULTIMODAL, limits=limits)
    at = report_for(tmp_path, MULTIMODAL, VALID, MULTIMODAL, VALID, limits=limits)

    assert over.multimodal_examples == 3
    assert "3 multimodal examples, over the limit of 2" in over.errors[0].message
    assert at.ok and at.multimodal_examples == 2


def test_file_size_limit(tmp_path: Path) -> None:
    limits = Limits(dataset_bytes=2 * (len(VALID) + 1))
    over = report_for(tmp_path, VALID, VALID, VALID, limits=limits)
    at = report_for(tmp_path, VALID, VALID, limits=limits)

    assert over.errors[0].line == 0 and "GiB limit of a tuning dataset" in over.errors[0].message
    assert at.ok and at.bytes == 2 * (len(VALID) + 1)


def test_a_line_too_long_to_hold_is_skipped_unread(tmp_path: Path) -> None:
    huge = jsonl(example(("user", "x" * 5000), ("model", "y")))

    report = report_for(tmp_path, VALID, huge, BAD, VALID, reading=Reading(chunk_bytes=64, max_line_bytes=256))

    assert [error.line for error in report.errors] == [2, 3]
    assert f"the line is {len(huge):,} bytes long" in report.errors[0].message
    assert (report.lines, report.examples, report.bad_lines) == (4, 2, 2)


# --- notes a caller adds (what the catalog says of the base model, in `validate`) -----------


def test_file_notes_follow_the_files_own_errors_and_precede_the_lines(tmp_path: Path) -> None:
    report = report_for(tmp_path, BAD, BAD, BAD, limits=Limits(dataset_bytes=len(BAD)), max_errors=3)

    noted = report.with_file_notes(["the base model is unknown."], ["a warning."], max_errors=3)

    assert [(error.line, error.message[:12]) for error in noted.errors] == [
        (0, "the file is "), (0, "the base mod"), (1, "contents[1] ")
    ]
    assert (noted.error_count, report.error_count) == (5, 4)
    assert noted.warnings == [*report.warnings, "a warning."] and not noted.ok


def test_file_notes_of_warnings_only_keep_a_dataset_valid(tmp_path: Path) -> None:
    report = report_for(tmp_path, *[VALID] * 100)
    noted = report.with_file_notes([], ["the base model is deprecated."], max_errors=50)
    assert noted.ok and noted.errors == [] and noted.warnings == ["the base model is deprecated."]


# --- the error list is bounded, the count is not ---------------------------------------------


def test_the_error_list_stops_at_the_bound_but_counting_goes_on(tmp_path: Path) -> None:
    lines = [BAD if index % 2 else VALID for index in range(200)]
    report = report_for(tmp_path, *lines, max_errors=3)

    assert [error.line for error in report.errors] == [2, 4, 6]
    assert report.error_count == 100
    assert report.summary().startswith(
        f"{tmp_path / 'data.jsonl'}: 100 errors in 200 lines; line 2: contents[1] has role 'user'"
    )


def test_max_errors_zero_lists_nothing(tmp_path: Path) -> None:
    report = report_for(tmp_path, BAD, BAD, max_errors=0)
    assert report.errors == [] and report.error_count == 2 and not report.ok


def test_whole_file_errors_come_first_within_the_bound(tmp_path: Path) -> None:
    report = report_for(tmp_path, BAD, BAD, BAD, limits=Limits(training_examples=2), max_errors=2)
    assert [error.line for error in report.errors] == [0, 1]
    assert report.error_count == 4


# --- the report ------------------------------------------------------------------------------


def test_report_summary_and_dict(tmp_path: Path) -> None:
    report = report_for(tmp_path, *[VALID] * 1204)

    assert report.summary() == (
        f"{tmp_path / 'data.jsonl'}: valid training dataset, 1,204 examples in 1,204 lines, about "
        "4,816 tokens (estimated at ~4 characters per token)."
    )
    data = report.to_dict()
    assert data["ok"] is True and data["chars_per_token"] == 4
    assert data["examples"] == 1204 and data["errors"] == [] and data["error_count"] == 0
    assert data["bytes"] == os.path.getsize(tmp_path / "data.jsonl")


# --- sources ---------------------------------------------------------------------------------


def test_file_objects_give_the_same_report_as_paths(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "data.jsonl", VALID, BAD, b"", MULTIMODAL)
    expected = validate_dataset(path).to_dict()

    with open(path, "rb") as file:
        assert validate_dataset(file).to_dict() == expected  # its name is the path
    from_memory = validate_dataset(io.BytesIO(path.read_bytes())).to_dict()
    assert from_memory.pop("uri") == "<stream>"
    assert from_memory == {key: value for key, value in expected.items() if key != "uri"}


def test_a_stream_with_only_read_works(tmp_path: Path) -> None:
    class OnlyRead:
        def __init__(self, data: bytes) -> None:
            self._data = io.BytesIO(data)

        def read(self, size: int = -1) -> bytes:
            return self._data.read(min(size, 5))  # short reads, like a network stream

    report = validate_dataset(OnlyRead(b"\n".join([VALID, BAD, VALID])))
    assert (report.lines, report.error_count, report.errors[0].line) == (3, 1, 2)


def test_a_text_mode_file_is_refused(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "data.jsonl", VALID)
    with open(path, encoding="utf-8") as file, pytest.raises(DatasetError, match=r"binary mode \('rb'\)"):
        validate_dataset(file)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("make_source", "message"),
    [
        (lambda tmp: tmp / "missing.jsonl", "there is no such file: check the path."),
        (lambda tmp: tmp, "this is a directory, not a JSONL file"),
        (lambda tmp: "s3://bucket/train.jsonl", "only local paths and gs://bucket/object URIs can be read"),
        (lambda tmp: "gs://bucket", "the URI names no object"),
        (lambda tmp: "gs://bucket/", "the URI names no object"),
    ],
    ids=["missing", "directory", "other scheme", "gs bucket only", "gs empty object"],
)
def test_unreadable_sources_raise_a_dataset_error(
    tmp_path: Path, make_source: Callable[[Path], str | Path], message: str
) -> None:
    source = make_source(tmp_path)
    with pytest.raises(DatasetError) as raised:
        validate_dataset(source)
    assert raised.value.uri == str(source)
    assert message in raised.value.message


def test_an_unreadable_file_raises_a_dataset_error(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "data.jsonl", VALID)
    path.chmod(0)
    if os.geteuid() != 0:
        with pytest.raises(DatasetError, match="permission denied"):
            validate_dataset(path)
        return
    # Root reads any file: check with the effective ids of an unprivileged user instead
    # (root keeps its saved id, so it can switch back).
    os.setegid(65534)
    os.seteuid(65534)
    try:
        with pytest.raises(DatasetError, match="permission denied"):
            validate_dataset(path)
    finally:
        os.seteuid(0)
        os.setegid(0)


# --- chunking and worker processes -----------------------------------------------------------


def _mixed_lines() -> list[bytes]:
    """Valid, invalid, blank, multimodal and unicode lines of varied lengths."""
    lines = []
    for index in range(300):
        kind = index % 7
        if kind == 0:
            lines.append(BAD)
        elif kind == 1:
            lines.append(b"")
        elif kind == 2:
            lines.append(MULTIMODAL)
        elif kind == 3:
            lines.append(jsonl(example(("user", "é" * index), ("model", "東京" * (index % 13 + 1)))))
        elif kind == 4 and index % 3 == 0:
            lines.append(b"{broken")
        else:
            lines.append(VALID)
    return lines


def _as_dict(report: DatasetReport) -> dict[str, object]:
    return report.to_dict()


def test_tiny_chunks_give_the_same_report(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "data.jsonl", *_mixed_lines(), end=b"")
    expected = _as_dict(validate_dataset(path, max_errors=1000))

    for chunk in (1, 7, 64, 1000):
        assert _as_dict(validate_dataset(path, max_errors=1000, reading=Reading(chunk_bytes=chunk))) == expected, chunk


# Splits even a small file among processes.
SPLIT_ANY = Reading(min_bytes_per_worker=1)


@pytest.mark.parametrize("workers", [2, 3])
def test_workers_give_the_same_report_as_one_process(tmp_path: Path, workers: int) -> None:
    path = write_jsonl(tmp_path / "data.jsonl", *_mixed_lines())

    for max_errors in (1000, 5):
        one = validate_dataset(path, max_errors=max_errors)
        many = validate_dataset(path, max_errors=max_errors, workers=workers, reading=SPLIT_ANY)
        assert _as_dict(many) == _as_dict(one)
    assert one.error_count > 5 and one.warnings


def test_ranges_start_at_line_starts(tmp_path: Path) -> None:
    lines = _mixed_lines()
    path = write_jsonl(tmp_path / "data.jsonl", *lines)
    data = path.read_bytes()

    ranges = split_ranges(str(path), 4, SPLIT_ANY)

    assert len(ranges) == 4
    assert ranges[0][0] == 0 and ranges[-1][1] == len(data)
    for (_, end), (start, _) in zip(ranges, ranges[1:], strict=False):
        assert end == start and data[start - 1 : start] == b"\n"


def test_a_small_file_is_scanned_in_one_process_whatever_the_workers(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "data.jsonl", VALID, BAD)
    assert split_ranges(str(path), 8, Reading()) == [(0, path.stat().st_size)]
    assert validate_dataset(path, workers=8).to_dict() == validate_dataset(path).to_dict()


def test_workers_are_forked_by_a_process_running_no_other_thread(tmp_path: Path) -> None:
    # pytest's own process may run threads: a fresh one runs none, and forks its workers.
    path = write_jsonl(tmp_path / "data.jsonl", *_mixed_lines())
    script = (
        "import json, sys, threading\n"
        "from tuning_provider.dataset import Reading, validate_dataset\n"
        "assert threading.active_count() == 1\n"
        "report = validate_dataset(sys.argv[1], workers=3, max_errors=5, reading=Reading(min_bytes_per_worker=1))\n"
        "print(json.dumps(report.to_dict()))\n"
    )
    run = subprocess.run([sys.executable, "-c", script, str(path)], cwd=REPO, capture_output=True, text=True,
                         check=True, timeout=60)
    assert json.loads(run.stdout) == validate_dataset(path, max_errors=5).to_dict()


def test_workers_of_a_process_running_threads_come_from_a_fork_server(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "data.jsonl", *_mixed_lines())
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        many = validate_dataset(path, max_errors=5, workers=2, reading=SPLIT_ANY)
    finally:
        stop.set()
        thread.join()
    assert many.to_dict() == validate_dataset(path, max_errors=5).to_dict()


def test_a_forked_workers_error_is_raised_in_the_parent() -> None:
    script = (
        "import os\n"
        "from tuning_provider.dataset.scan import _fork, _result\n"
        "def fails(): raise FileNotFoundError(2, 'gone', 'data.jsonl')\n"
        "def dies(): os._exit(3)\n"
        "for work in (fails, dies):\n"
        "    pid, pipe = _fork(work)\n"
        "    try:\n"
        "        _result(pid, pipe)\n"
        "    except OSError as exc:\n"
        "        print(type(exc).__name__, exc)\n"
        "    os.waitpid(pid, 0)\n"
    )
    run = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True,
                         timeout=60)
    gone, died = run.stdout.splitlines()
    assert gone == "FileNotFoundError [Errno 2] gone: 'data.jsonl'"
    assert died.startswith("OSError the process scanning part of the file (pid ") and "ended before it finished" in died
