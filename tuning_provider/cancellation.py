"""Hearing Pulumi's cancellation inside a dynamic provider, so that a long wait stops promptly.

On the first Ctrl-C, `pulumi up` stops starting new steps and sends every provider a `Cancel`
call; it then waits for the steps in flight. Pulumi's Python dynamic-provider server
(`python -m pulumi.dynamic`) answers that call and tells nobody, so a create waiting hours for
a tuning job would hold the CLI for those hours. The provider's `configure` has the server's
Cancel handler set `REQUESTED` (`pulumi_internals.hook_provider_server`, the one module that
reaches into the server), and the provider's waits (`sleep`) end at once when it is set. Where
that hook cannot be made, waits run to their bound, as before, and nothing else changes.
"""

from __future__ import annotations

import threading

__all__ = ["REQUESTED", "Cancelled", "sleep"]

REQUESTED = threading.Event()


class Cancelled(Exception):
    """Pulumi asked the provider to stop (the user pressed Ctrl-C once)."""


def sleep(seconds: float) -> None:
    """time.sleep that ends early, raising Cancelled, once Pulumi has asked to cancel."""
    if REQUESTED.wait(max(0.0, seconds)):
        raise Cancelled("pulumi is cancelling the update")
