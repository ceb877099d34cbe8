"""A tuning job's timeline: its state at any moment, read from when it was created, how
long it takes, whether it fails and when it was cancelled, never advanced by a worker.

- JOB_STATE_PENDING for the first PENDING_FRACTION of the job's duration (its detail state
  WAITING_FOR_QUOTA, then PROCESSING_DATASET), then JOB_STATE_RUNNING until create time +
  duration, then JOB_STATE_SUCCEEDED. A failing job shows its failure when it would have
  started running. A cancelled job is JOB_STATE_CANCELLED from the moment of the cancel.
- While RUNNING the job trains step by step over the first TUNING_FRACTION of its running
  time (detail state TUNING), then post-processes (POST_PROCESSING): `steps_done` is what the
  metrics and `completedEpochCount` are read from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "CANCELLED",
    "FAILED",
    "PENDING",
    "PENDING_FRACTION",
    "RUNNING",
    "SUCCEEDED",
    "TERMINAL_STATES",
    "TUNING_FRACTION",
    "Timeline",
]

# Job states as Vertex spells them in JSON.
PENDING = "JOB_STATE_PENDING"
RUNNING = "JOB_STATE_RUNNING"
SUCCEEDED = "JOB_STATE_SUCCEEDED"
FAILED = "JOB_STATE_FAILED"
CANCELLED = "JOB_STATE_CANCELLED"
TERMINAL_STATES = frozenset({SUCCEEDED, FAILED, CANCELLED, "JOB_STATE_EXPIRED"})

# The share of a job's duration spent PENDING before it runs (and before a failure shows).
PENDING_FRACTION = 0.1
# The share of the running time spent on training steps; the rest is post-processing.
TUNING_FRACTION = 0.9


@dataclass(frozen=True)
class Timeline:
    """When a job does what; its state at any time is derived from this and the clock."""

    create_time: float
    duration: float
    fails: bool = False
    cancel_time: float | None = None

    @property
    def start_time(self) -> float:
        return self.create_time + self.duration * PENDING_FRACTION

    @property
    def natural_end(self) -> float:
        """When the job ends if nobody cancels it: a failure shows as the job starts."""
        return self.start_time if self.fails else self.create_time + self.duration

    @property
    def tuning_end(self) -> float:
        """When the last training step is done (post-processing follows)."""
        return self.start_time + (self.create_time + self.duration - self.start_time) * TUNING_FRACTION

    def state_at(self, now: float) -> str:
        if self.cancel_time is not None and now >= self.cancel_time:
            return CANCELLED
        if now >= self.natural_end:
            return FAILED if self.fails else SUCCEEDED
        return RUNNING if now >= self.start_time else PENDING

    def end_time(self, now: float) -> float | None:
        state = self.state_at(now)
        if state == CANCELLED:
            return self.cancel_time
        return self.natural_end if state in TERMINAL_STATES else None

    def steps_done(self, now: float, total_steps: int) -> int:
        """Training steps finished by `now` (a cancel stops the count; a failure never starts it)."""
        if self.fails:
            return 0
        until = now if self.cancel_time is None else min(now, self.cancel_time)
        share = (until - self.start_time) / max(self.tuning_end - self.start_time, 1e-9)
        return max(0, min(total_steps, math.floor(total_steps * share + 1e-9)))

    def step_time(self, step: int, total_steps: int) -> float:
        """When training step `step` (1-based) finished."""
        return self.start_time + (self.tuning_end - self.start_time) * step / max(total_steps, 1)

    def detail_state(self, now: float, total_steps: int) -> str | None:
        """Vertex's `tuningJobState` while the job is live; None once it has ended."""
        state = self.state_at(now)
        if state == PENDING:
            halfway = self.create_time + (self.start_time - self.create_time) / 2
            return "TUNING_JOB_STATE_WAITING_FOR_QUOTA" if now < halfway else "TUNING_JOB_STATE_PROCESSING_DATASET"
        if state == RUNNING:
            tuning = self.steps_done(now, total_steps) < total_steps
            return "TUNING_JOB_STATE_TUNING" if tuning else "TUNING_JOB_STATE_POST_PROCESSING"
        return None
