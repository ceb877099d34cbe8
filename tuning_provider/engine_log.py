"""Lines from the provider to the person running `pulumi`, attributed to their resource.

Inside the dynamic-provider process (`python -m pulumi.dynamic ENGINE_ADDRESS`, started by
the engine) the engine's own `Log` RPC takes a message with a resource URN: the CLI then shows
it under that resource, live and in the update's diagnostics, as native providers' lines are.
Tried with CLI 3.259.0 and a Python dynamic provider on 2026-11-30: it works, for info and
warning lines. Anywhere else (tests, the CLI, the program), or when the call fails, the line
goes to stderr, which the engine shows under the stack.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

__all__ = ["log"]

_lock = threading.Lock()
_engine: Any = None
_looked_up = False
_TIMEOUT_SECONDS = 5.0


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
    # The engine starts provider plugins with its own address as the first argument.
    if not hasattr(sys.modules.get("__main__"), "DynamicResourceProviderServicer"):
        return None
    return sys.argv[1] if len(sys.argv) > 1 and ":" in sys.argv[1] else None
