"""Hearing Pulumi's cancellation inside a dynamic provider, so that a long wait stops promptly.

On the first Ctrl-C, `pulumi up` stops starting new steps and sends every provider a `Cancel`
call; it then waits for the steps in flight. Pulumi's Python dynamic-provider server
(`python -m pulumi.dynamic`) answers that call and tells nobody (its `Cancel` returns an empty
message), so a create waiting hours for a tuning job would hold the CLI for those hours.
`listen()` wraps the server's `Cancel` handler so that it also sets `REQUESTED`, and the
provider's waits (`sleep`) end at once when it is set.

The wrap finds the server's registered handler table through the garbage collector
(`provider_server.handler_tables`), because the server keeps it in a local variable. If a
future Pulumi or gRPC lays it out differently, `listen()` finds nothing and returns False:
waits then run to their bound, as before, and nothing else changes.
"""

from __future__ import annotations

import threading
from typing import Any

from tuning_provider.provider_server import handler_tables, in_provider_server

__all__ = ["REQUESTED", "Cancelled", "listen", "sleep"]

REQUESTED = threading.Event()
_CANCEL_METHOD = "/pulumirpc.ResourceProvider/Cancel"
_installed = False
_lock = threading.Lock()


class Cancelled(Exception):
    """Pulumi asked the provider to stop (the user pressed Ctrl-C once)."""


def listen() -> bool:
    """Make the dynamic-provider server of this process set REQUESTED on Pulumi's Cancel.
    Returns whether it could; a no-op outside that server and on later calls."""
    global _installed
    with _lock:
        if _installed:
            return True
        if not in_provider_server():
            return False  # not the provider process (the program, a test, the CLI)
        for handlers in handler_tables(_CANCEL_METHOD):
            original = handlers[_CANCEL_METHOD]
            handlers[_CANCEL_METHOD] = original._replace(unary_unary=_signalling(original.unary_unary))
            _installed = True
        return _installed


def _signalling(answer: Any) -> Any:
    def cancel(request: Any, context: Any) -> Any:
        REQUESTED.set()
        return answer(request, context)

    return cancel


def sleep(seconds: float) -> None:
    """time.sleep that ends early, raising Cancelled, once Pulumi has asked to cancel."""
    if REQUESTED.wait(max(0.0, seconds)):
        raise Cancelled("pulumi is cancelling the update")
