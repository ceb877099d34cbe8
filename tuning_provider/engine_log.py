"""Lines from the provider to the person running `pulumi`, attributed to their resource.

Inside the dynamic-provider process (`python -m pulumi.dynamic ENGINE_ADDRESS`, started by
the engine) the engine's own `Log` RPC takes a message with a resource URN: the CLI then shows
it under that resource, live and in the update's diagnostics, as native providers' lines are.
Tried with CLI 3.259.0 and a Python dynamic provider on 2026-11-30: it works, for info and
warning lines. Anywhere else (tests, the CLI, the program), or when the call fails, the line
goes to stderr, which the engine shows under the stack. The engine's address and the URN
(the verbs get none: it is built from the TuningJob's resource_key) come from
`pulumi_internals`, the one module that knows the dynamic-provider server's private layout.

`log_once` shows a line once per `pulumi` command. The engine gives a provider no way to tell
a preview from an update: CheckRequest and DiffRequest carry no preview flag, and the dynamic
provider server never says it supports previews, so Create and Update (which have one) are
never called during a preview. And `pulumi up` runs its preview and its update each with a
provider process of its own (two `python -m pulumi.dynamic` processes, each configured anew:
seen with CLI 3.259.0 on 2026-12-04). What both phases share is the `pulumi` CLI process
that starts them (through the sh shim `pulumi-resource-pulumi-python`). So the lines shown are
recorded per CLI process, in a file of the machine cache named by its process id and start
time; a later `pulumi preview` is another process, and shows them again. Where that process
cannot be found (not Linux, or not under the engine) lines are shown once per process.

The provider plugin (tuning_provider/plugin) is started by the engine too, and is handed its
address: it calls `use_engine(address)` once, and runs each request `attributed_to` the URN the
request names, so its lines go under the resource they are about, whatever its type.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import os
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tuning_provider.pulumi_internals import engine_address
from tuning_provider.pulumi_internals import resource_urn as _urn

__all__ = [
    "RESOURCE_TYPE",
    "attributed_to",
    "log",
    "log_once",
    "progress",
    "reset_shown",
    "resource_urn",
    "use_engine",
]

# The type the TuningJob resource registers (module "vertex", name "TuningJob").
RESOURCE_TYPE = "pulumi-python:dynamic/vertex:TuningJob"

_lock = threading.Lock()
_once_lock = threading.Lock()
# Lines this process has shown, and the record of the pulumi command it runs under (if any).
_shown: set[str] = set()
_record: Path | None = None
_record_looked_up = False
_engine: Any = None
_looked_up = False
_TIMEOUT_SECONDS = 5.0
# The engine's address when a provider plugin said it (use_engine), and the URN of the resource
# the running request is about (attributed_to).
_given_address: str | None = None
_request_urn: contextvars.ContextVar[str | None] = contextvars.ContextVar("tuning_provider_urn", default=None)
# How the running request's face words a line (the plugin names fields in camelCase).
_wording: contextvars.ContextVar[Callable[[str], str] | None] = contextvars.ContextVar(
    "tuning_provider_wording", default=None)


def use_engine(address: str) -> None:
    """Send lines to the engine at `address`: a provider plugin is handed it when started."""
    global _given_address, _engine, _looked_up
    with _lock:
        _given_address, _engine, _looked_up = address, None, False


@contextlib.contextmanager
def attributed_to(urn: str, wording: Callable[[str], str] | None = None) -> Iterator[None]:
    """Lines `progress` shows inside this block go under the resource `urn`, worded by `wording`."""
    tokens = _request_urn.set(urn or None), _wording.set(wording)
    try:
        yield
    finally:
        _request_urn.reset(tokens[0])
        _wording.reset(tokens[1])


def log(message: str, *, urn: str = "", warning: bool = False) -> None:
    """Show `message` to the person running pulumi, under the resource `urn` if the engine
    can be reached; on stderr otherwise."""
    engine = _engine_stub() if urn else None
    if engine is not None:
        from pulumi.runtime.proto import engine_pb2

        severity = engine_pb2.WARNING if warning else engine_pb2.INFO
        try:
            engine.Log(engine_pb2.LogRequest(severity=severity, message=message, urn=urn),
                       timeout=_TIMEOUT_SECONDS)
            return
        except Exception:  # noqa: BLE001 - any failure of the RPC: the line must still be seen
            pass
    print(f"warning: {message}" if warning else message, file=sys.stderr, flush=True)


def log_once(key: str, message: str, *, urn: str = "", warning: bool = False) -> None:
    """`log`, unless this `pulumi` command has shown `message` for `key` already (in this
    provider process, or in the one its preview phase ran). The row then shows "checked" in
    its place: the CLI's non-interactive display repeats a row's last line on every status
    line of that row (four in a replace's preview); the Diagnostics keep it, once."""
    digest = hashlib.sha256(f"{key}\n{warning}\n{message}".encode()).hexdigest()
    with _once_lock:
        if digest in _shown:
            return
        _shown.add(digest)
        record = _command_record()
        if record is not None and not _first_in_record(record, digest):
            return
    log(message, urn=urn, warning=warning)
    _set_status(urn, "checked")


def _set_status(urn: str, status: str) -> None:
    """A status for the resource's row (the Log RPC's `ephemeral`: shown on the row only, never
    in the Diagnostics), in place of the line before it, which the row then stops repeating."""
    engine = _engine_stub() if urn else None
    if engine is None:
        return
    from pulumi.runtime.proto import engine_pb2

    try:
        engine.Log(engine_pb2.LogRequest(severity=engine_pb2.INFO, message=status, urn=urn, ephemeral=True),
                   timeout=_TIMEOUT_SECONDS)
    except Exception:  # noqa: BLE001 - the line was shown; a row that repeats it is only noise
        pass


def progress(resource_key: str, message: str, *, warning: bool = False, once: bool = False) -> None:
    """A line about the TuningJob whose resource_key is "project/stack/name", shown under it
    (`log`); `once`: only the first time this `pulumi` command shows it (`log_once`)."""
    urn = _request_urn.get() or resource_urn(resource_key)
    wording = _wording.get()
    message = wording(message) if wording else message
    if once:
        log_once(resource_key, message, urn=urn, warning=warning)
    else:
        log(message, urn=urn, warning=warning)


def resource_urn(resource_key: str) -> str:
    """The URN of the top-level TuningJob whose resource_key is "project/stack/name" (empty
    when the key is not of that form, as in tests)."""
    parts = resource_key.split("/", 2)
    if len(parts) != 3 or not all(parts):
        return ""
    project, stack, name = parts
    return _urn(stack, project, RESOURCE_TYPE, name)


def reset_shown() -> None:
    """Forget the lines shown, as a new provider process starts (for tests)."""
    global _record, _record_looked_up
    with _once_lock:
        _shown.clear()
        _record, _record_looked_up = None, False


def _command_record() -> Path | None:
    """The file listing the lines the running `pulumi` command has shown, if this is its
    provider process; older commands' files are removed."""
    global _record, _record_looked_up
    if not _record_looked_up:
        _record_looked_up = True
        cli = _pulumi_cli_process() if _engine_address() is not None else None
        if cli is not None:
            from tuning_provider import machine_cache

            try:
                folder = machine_cache.directory("shown-lines")
                for old in folder.glob("*.txt"):
                    if not _process_alive(old.stem):
                        old.unlink(missing_ok=True)
                _record = folder / f"{cli}.txt"
            except OSError:
                _record = None
    return _record


def _first_in_record(record: Path, digest: str) -> bool:
    """Whether `digest` is new to the command's record (and add it)."""
    try:
        with record.open("a+", encoding="ascii") as file:
            file.seek(0)
            if digest in file.read().split():
                return False
            file.write(digest + "\n")
    except OSError:
        pass  # no record: show the line
    return True


def _stat(pid: int) -> tuple[str, int, str] | None:
    """(command name, parent pid, start time) of a process, from Linux's /proc."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name, rest = text[text.index("(") + 1:text.rindex(")")], text[text.rindex(")") + 2:].split()
    return name, int(rest[1]), rest[19]


def _pulumi_cli_process() -> str | None:
    """"PID-STARTTIME" of the `pulumi` CLI process this process runs under, or None."""
    pid = os.getppid()
    while pid > 1:
        found = _stat(pid)
        if found is None:
            return None
        name, parent, started = found
        if name == "pulumi":
            return f"{pid}-{started}"
        pid = parent
    return None


def _process_alive(identity: str) -> bool:
    pid, _, started = identity.partition("-")
    found = _stat(int(pid)) if pid.isdigit() else None
    return found is not None and found[2] == started


def _engine_stub() -> Any:
    """The engine's gRPC stub, when this process is the engine's dynamic-provider server."""
    global _engine, _looked_up
    with _lock:
        if not _looked_up:
            _looked_up = True
            address = _engine_address()
            if address is not None:
                import grpc  # type: ignore[import-untyped]
                from pulumi.runtime.proto import engine_pb2_grpc

                _engine = engine_pb2_grpc.EngineStub(grpc.insecure_channel(address))
        return _engine



def _engine_address() -> str | None:
    """The engine's address: the one a provider plugin gave (use_engine), else the dynamic-provider
    server's (pulumi_internals)."""
    return _given_address if _given_address is not None else engine_address()
