"""Fault injection: a fraction of Vertex requests answered 429 RESOURCE_EXHAUSTED or 503
UNAVAILABLE before they touch any state, for testing a client's retries (`--fault-rate`)."""

from __future__ import annotations

import random
import threading

from tuning_provider.errors import ApiError, Transient

__all__ = ["FaultInjector"]


class FaultInjector:
    """Answers a fraction of Vertex requests 429 or 503 before they touch any state.

    With a seed the sequence of faults is the same on every run (for requests made one
    after another; concurrent requests take their turns in arrival order).
    """

    def __init__(self, rate: float = 0.0, seed: int | None = None) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"fault rate must be between 0 and 1, not {rate}")
        self.rate = rate
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def next_fault(self) -> ApiError | None:
        if self.rate == 0.0:
            return None
        with self._lock:
            roll, kind = self._random.random(), self._random.random()
        if roll >= self.rate:
            return None
        if kind < 0.5:
            return Transient(
                "Quota exceeded for tuning requests per minute; retry later. "
                "(Fault injected by the emulator's --fault-rate.)",
                status=429, code="RESOURCE_EXHAUSTED",
            )
        return Transient(
            "The service is currently unavailable. (Fault injected by the emulator's --fault-rate.)",
            status=503, code="UNAVAILABLE",
        )
