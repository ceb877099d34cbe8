"""Every reach into Pulumi's or gRPC's private layout, fenced here and checked at start-up.

The dynamic face runs inside Pulumi's dynamic-provider server (`python -m pulumi.dynamic
ENGINE_ADDRESS`), which offers no public way to do three things this provider needs:

- hear the engine's Cancel: the server answers it and tells nobody, so a create waiting hours
  for a tuning job would hold the CLI for those hours. The server's Cancel handler is wrapped
  so that it also calls `on_cancel` (cancellation.REQUESTED.set).
- run more than 4 verbs at once: the server serves every verb from one pool of 4 workers
  (`ThreadPoolExecutor(max_workers=4)` in pulumi/dynamic/__main__.py), and a TuningJob create
  holds its worker until the tuned model serves. Create, Update and Delete get a pool of their
  own through gRPC's per-method `experimental_thread_pool` attribute (undocumented;
  `grpc._server._select_thread_pool_for_behavior` reads it on every call), so checks, diffs
  and reads never queue behind running jobs either.
- name a resource to the engine's Log RPC: the verbs get no URN, so it is built by string from
  the resource's project, stack, type and name (`pulumi.create_urn` is public but answers an
  Output, which needs the program's event loop: the provider has none).

Both hooks find the server's handler table through the garbage collector, because the server
keeps it in a local variable (`_method_handlers` of the generic handler gRPC builds for the
servicer). The engine's address is the server's first argument.

What is known: the layout of pulumi KNOWN_VERSIONS["pulumi"] and grpcio KNOWN_VERSIONS["grpcio"]
(the pinned ones). `hook_provider_server` checks the installed versions and the layout at
start-up; when a version differs or a piece is not found it answers one line saying what is off
and what still works (creates beyond 4 queue; Ctrl-C lets a wait run to its bound), and changes
nothing it could not find. The provider plugin face runs its own gRPC server and needs none of it.
"""

from __future__ import annotations

import gc
import os
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CANCEL",
    "DEFAULT_WORKERS",
    "KNOWN_VERSIONS",
    "LONG_CALLS",
    "SERVER_WORKERS",
    "WORKERS_ENV",
    "Hooks",
    "ServerHooks",
    "configured_workers",
    "engine_address",
    "handler_tables",
    "hook_provider_server",
    "in_provider_server",
    "installed_versions",
    "resource_urn",
]

# The versions whose private layout this module was checked against (requirements.txt pins them).
KNOWN_VERSIONS = {"pulumi": "3.259.0", "grpcio": "1.85.1"}
# The dynamic-provider server's own pool size (pulumi/dynamic/__main__.py).
SERVER_WORKERS = 4
# Creates, updates and deletes that may run at once in one provider process. Threads start
# only when calls arrive, so a large bound costs nothing until jobs run.
DEFAULT_WORKERS = 64
# Set to a number to change that bound; 0 leaves the server as Pulumi made it (benchmarks).
WORKERS_ENV = "TUNING_PROVIDER_WORKERS"
_SERVICE = "/pulumirpc.ResourceProvider"
LONG_CALLS = tuple(f"{_SERVICE}/{verb}" for verb in ("Create", "Update", "Delete"))
CANCEL = f"{_SERVICE}/Cancel"
# The module `python -m pulumi.dynamic` runs as __main__, and the servicer class it defines.
_SERVER_MODULE = "pulumi.dynamic.__main__"
_SERVICER = "DynamicResourceProviderServicer"


def in_provider_server(main: Any = None) -> bool:
    """Whether this process is Pulumi's dynamic-provider server (not the program, a test, the
    CLI): its __main__ (`main`, for tests) is the module `python -m pulumi.dynamic` runs."""
    main = sys.modules.get("__main__") if main is None else main
    spec = getattr(main, "__spec__", None)
    return getattr(spec, "name", None) == _SERVER_MODULE


def engine_address(main: Any = None, argv: Sequence[str] | None = None) -> str | None:
    """The engine's gRPC address, when this is its dynamic-provider server: the engine starts
    provider plugins with its own address as the first argument."""
    argv = sys.argv if argv is None else argv
    if not in_provider_server(main):
        return None
    return argv[1] if len(argv) > 1 and ":" in argv[1] else None


def resource_urn(stack: str, project: str, type_: str, name: str) -> str:
    """The URN of a top-level resource (no parent), as the engine spells it."""
    return f"urn:pulumi:{stack}::{project}::{type_}::{name}"


def installed_versions() -> dict[str, str]:
    """The installed pulumi and grpcio versions ("?" where not found). Read from the loaded
    modules: importlib.metadata would cost ~30 ms of every provider start."""
    import grpc  # type: ignore[import-untyped]

    try:
        from pulumi._version import _VERSION as pulumi_version
    except ImportError:
        pulumi_version = "?"
    return {"pulumi": str(pulumi_version), "grpcio": str(getattr(grpc, "__version__", "?"))}


def handler_tables() -> list[dict[str, Any]]:
    """The `_method_handlers` table of every live generic RPC handler in this process.

    Found as the objects that refer to a GenericRpcHandler class (an instance refers to its
    class): one pass of the collector in C, ~2 ms in the provider process, where testing every
    object with isinstance took ~12 ms at every provider start."""
    import grpc

    classes: list[type] = []
    pending: list[type] = [grpc.GenericRpcHandler]
    while pending:
        cls = pending.pop()
        classes.append(cls)
        pending.extend(cls.__subclasses__())
    tables: list[dict[str, Any]] = []
    for obj in gc.get_referrers(*classes):
        table: Any = getattr(obj, "_method_handlers", None) if isinstance(obj, grpc.GenericRpcHandler) else None
        if isinstance(table, dict) and all(table is not t for t in tables):
            tables.append(table)
    return tables


def configured_workers(environ: Mapping[str, str] = os.environ) -> int:
    """The bound on long calls from WORKERS_ENV, else DEFAULT_WORKERS."""
    raw = environ.get(WORKERS_ENV, "").strip()
    try:
        return max(0, int(raw)) if raw else DEFAULT_WORKERS
    except ValueError:
        return DEFAULT_WORKERS


@dataclass(frozen=True)
class Hooks:
    """What hooking into the server achieved: whether Cancel now reaches the provider, how many
    long calls may run at once, and `note`, one line saying what is off (None: nothing)."""

    cancel: bool
    workers: int
    note: str | None = None


class ServerHooks:
    """The hooks of one provider process into its server, installed once (this process's: `hook_provider_server`)."""

    def __init__(self, versions: Mapping[str, str] | None = None) -> None:
        """`versions`: the installed ones (None: read them), for tests of a mismatch."""
        self._versions = versions
        self._lock = threading.Lock()
        self._hooks: Hooks | None = None
        self._pool: ThreadPoolExecutor | None = None

    def install(
        self, tables: Sequence[dict[str, Any]], on_cancel: Callable[[], None], workers: int
    ) -> Hooks:
        """Wrap the Cancel handler of `tables` (the server's handler tables) to call
        `on_cancel`, and run their long calls on a pool of `workers` threads (none at or below
        SERVER_WORKERS). Later calls answer what the first one did."""
        with self._lock:
            if self._hooks is None:
                cancel = _wrap(tables, (CANCEL,), lambda answer: _signalling(answer, on_cancel))
                pool_honoured = _per_method_pool_honoured()
                widened = workers > SERVER_WORKERS and pool_honoured and self._widen(tables, workers)
                hooks = Hooks(cancel, workers if widened else SERVER_WORKERS)
                versions = installed_versions() if self._versions is None else dict(self._versions)
                found = any(_unary(table.get(method)) for table in tables for method in (CANCEL, *LONG_CALLS))
                note = _note(hooks, workers, found=found, pool_honoured=pool_honoured, versions=versions)
                self._hooks = Hooks(hooks.cancel, hooks.workers, note)
            return self._hooks

    def shutdown(self) -> None:
        """Stop the long calls' pool (tests; a provider process keeps it until it ends)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False)

    def _widen(self, tables: Sequence[dict[str, Any]], workers: int) -> bool:
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tuning-long-call")
        if not _wrap(tables, LONG_CALLS, lambda answer: _on_pool(answer, pool)):
            pool.shutdown(wait=False)
            return False
        self._pool = pool
        return True


_PROCESS = ServerHooks()


def hook_provider_server(on_cancel: Callable[[], None]) -> Hooks:
    """Hook this process's dynamic-provider server (once): Cancel calls `on_cancel`, long calls
    run on a wide pool. Outside that server nothing changes and nothing is said."""
    if not in_provider_server():
        return Hooks(cancel=False, workers=SERVER_WORKERS)
    main = sys.modules["__main__"]
    tables = handler_tables() if hasattr(main, _SERVICER) else []
    return _PROCESS.install(tables, on_cancel, configured_workers())


def _wrap(tables: Sequence[dict[str, Any]], methods: Sequence[str], wrap: Callable[[Any], Any]) -> bool:
    """Replace each unary handler of `methods` in `tables` by one whose behaviour is
    wrap(behaviour); whether any was found."""
    found = False
    for table in tables:
        for method in methods:
            handler: Any = table.get(method)
            if _unary(handler):
                table[method] = handler._replace(unary_unary=wrap(handler.unary_unary))
                found = True
    return found


def _unary(handler: Any) -> bool:
    return handler is not None and callable(getattr(handler, "unary_unary", None)) and hasattr(handler, "_replace")


def _signalling(answer: Any, on_cancel: Callable[[], None]) -> Any:
    def cancel(request: Any, context: Any) -> Any:
        on_cancel()
        return answer(request, context)

    return cancel


def _on_pool(answer: Any, pool: ThreadPoolExecutor) -> Any:
    def call(request: Any, context: Any) -> Any:
        return answer(request, context)

    # gRPC runs a method whose behaviour carries this attribute on that pool (grpc._server).
    call.experimental_thread_pool = pool  # type: ignore[attr-defined]
    return call


def _per_method_pool_honoured() -> bool:
    from grpc import _server

    return hasattr(_server, "_select_thread_pool_for_behavior")


def _note(hooks: Hooks, workers: int, *, found: bool, pool_honoured: bool, versions: Mapping[str, str]) -> str | None:
    """One line: what is off (versions, layout, a bound turned down) and what still works."""
    off = [f"{name} {versions.get(name, '?')} (checked: {known})"
           for name, known in KNOWN_VERSIONS.items() if versions.get(name) != known]
    if not found:
        off.append("the dynamic-provider server's handler table was not found")
    elif not pool_honoured:
        off.append("gRPC no longer runs a method on a pool of its own")
    if hooks.workers <= SERVER_WORKERS and found and pool_honoured:
        off.append(f"{WORKERS_ENV}={workers}")
    if not off:
        return None
    works = [
        "Ctrl-C stops a waiting create at once" if hooks.cancel
        else "Ctrl-C lets a waiting create run to its wait_timeout_seconds",
        f"up to {hooks.workers} TuningJob creates run at once" if hooks.workers > SERVER_WORKERS
        else f"TuningJob creates beyond {SERVER_WORKERS} queue until one ends",
    ]
    return (f"note: {'; '.join(off)}: {' and '.join(works)}; checks, previews and ups work as before "
            "(tuning_provider/pulumi_internals.py)")
