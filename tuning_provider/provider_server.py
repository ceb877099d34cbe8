"""Hooks into Pulumi's dynamic-provider server, the process that runs this provider's verbs.

`python -m pulumi.dynamic` serves every dynamic resource's check, diff, create, update, read
and delete from one gRPC thread pool of 4 workers (`ThreadPoolExecutor(max_workers=4)` in
`pulumi/dynamic/__main__.py`). A TuningJob create holds its worker until the tuned model
serves, so without help a fifth job's create queues behind the first four for a whole job's
time (and a request queued for 30 minutes is cancelled by the engine).

`widen_long_calls(workers)` gives Create, Update and Delete (the verbs that wait on a job) a
pool of their own, through gRPC's per-method `experimental_thread_pool` attribute (undocumented;
`grpc._server._select_thread_pool_for_behavior` reads it on every call in the pinned grpcio
1.85). Check, diff and read stay on the server's own pool, so a preview's checks never wait
behind running jobs either. The other route, raising `_max_workers` of the server's own pool
(`grpc._server._ServerState.thread_pool`; ThreadPoolExecutor starts threads lazily up to it),
works too, but mutates a CPython-private attribute of a pool the server owns and keeps checks
queued behind creates; it is not used.

Both this and `cancellation` find the server's registered handler table through the garbage
collector, because the server keeps it in a local variable. The risk, named: both rest on
private layout (`_method_handlers` of the generic handler, gRPC's experimental per-method
pool). If a future Pulumi or gRPC lays them out differently, the table is not found and
nothing changes: creates beyond four queue again, and `widen_long_calls` returns 0 so the
provider can say so.
"""

from __future__ import annotations

import gc
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

__all__ = [
    "DEFAULT_WORKERS",
    "LONG_CALLS",
    "SERVER_WORKERS",
    "WORKERS_ENV",
    "handler_tables",
    "in_provider_server",
    "widen_long_calls",
]

# The dynamic-provider server's own pool size (pulumi/dynamic/__main__.py).
SERVER_WORKERS = 4
# Creates, updates and deletes that may run at once in one provider process. Threads start
# only when calls arrive, so a large bound costs nothing until jobs run.
DEFAULT_WORKERS = 64
# Set to a number to change that bound; 0 leaves the server as Pulumi made it (benchmarks).
WORKERS_ENV = "TUNING_PROVIDER_WORKERS"
LONG_CALLS = tuple(f"/pulumirpc.ResourceProvider/{verb}" for verb in ("Create", "Update", "Delete"))

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def in_provider_server() -> bool:
    """Whether this process is Pulumi's dynamic-provider server (not the program, a test, the CLI)."""
    return hasattr(sys.modules.get("__main__"), "DynamicResourceProviderServicer")


def handler_tables(method: str) -> list[dict[str, Any]]:
    """The gRPC servers' method-handler tables that hold a unary handler for `method`."""
    return [table for table in _generic_handler_tables() if _unary(table.get(method))]


def _generic_handler_tables() -> list[dict[str, Any]]:
    """The `_method_handlers` table of every live generic RPC handler in this process.

    Found as the objects that refer to a GenericRpcHandler class (an instance refers to its
    class): one pass of the collector in C, ~2 ms in the provider process, where testing every
    object with isinstance took ~12 ms, once per method looked up, at every provider start."""
    import grpc  # type: ignore[import-untyped]

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


def _unary(handler: Any) -> bool:
    return handler is not None and callable(getattr(handler, "unary_unary", None)) and hasattr(handler, "_replace")


def configured_workers() -> int:
    """The bound from WORKERS_ENV, else DEFAULT_WORKERS."""
    raw = os.environ.get(WORKERS_ENV, "").strip()
    try:
        return max(0, int(raw)) if raw else DEFAULT_WORKERS
    except ValueError:
        return DEFAULT_WORKERS


def widen_long_calls(workers: int | None = None) -> int:
    """Run this server's Create, Update and Delete calls on a pool of `workers` threads.
    Returns how many of them may now run at once: `workers`, or SERVER_WORKERS when this is
    not the provider server, the hook is turned off, or the server's layout is not the one
    known. Later calls return the first answer."""
    global _pool
    with _lock:
        if _pool is not None:
            return int(_pool._max_workers)
        workers = configured_workers() if workers is None else workers
        if workers <= SERVER_WORKERS or not in_provider_server():
            return SERVER_WORKERS
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tuning-long-call")
        hooked = False
        tables = _generic_handler_tables()  # one lookup for the three methods
        for method in LONG_CALLS:
            for table in tables:
                original: Any = table.get(method)
                if _unary(original):
                    table[method] = original._replace(unary_unary=_on_pool(original.unary_unary, pool))
                    hooked = True
        if not hooked:
            pool.shutdown(wait=False)
            return SERVER_WORKERS
        _pool = pool
        return workers


def _on_pool(answer: Any, pool: ThreadPoolExecutor) -> Any:
    def call(request: Any, context: Any) -> Any:
        return answer(request, context)

    # gRPC runs a method whose behaviour carries this attribute on that pool (grpc._server).
    call.experimental_thread_pool = pool  # type: ignore[attr-defined]
    return call
