"""What Vertex reports about a tuning job, as plain data: its state, its record, its metrics.

The transport (`tuning_provider.vertex`) returns these; metrics, progress, serving, the
provider and the command line read them. Nothing here talks to Vertex or imports google-genai.

`JobState` is the one list of job states. A state is terminal (the job has ended: it will not
change again) or live (everything else), so `TERMINAL_STATES` is written once and
`LIVE_STATES` derived from it. UNSPECIFIED, which a job carries when Vertex names no state, is
live: nothing says the job has ended, and treating it as ended would let delete forget a job
that may still be paid for.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from tuning_provider.spec import TuningJobOutputs

__all__ = ["FAILED_STATES", "LIVE_STATES", "TERMINAL_STATES", "JobRecord", "JobState", "MetricSeries"]


class JobState(enum.StrEnum):
    """A tuning job's state as Vertex names it, without the JOB_STATE_ prefix."""

    UNSPECIFIED = "UNSPECIFIED"
    QUEUED = "QUEUED"
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    UPDATING = "UPDATING"
    CANCELLING = "CANCELLING"
    SUCCEEDED = "SUCCEEDED"
    PARTIALLY_SUCCEEDED = "PARTIALLY_SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"

    @classmethod
    def of(cls, text: str | None) -> JobState:
        """The state named `text`, with or without the JOB_STATE_ prefix; UNSPECIFIED for
        nothing or a name this version does not know (a state added to Vertex later)."""
        name = (text or "").upper().removeprefix("JOB_STATE_")
        return cls.__members__.get(name, cls.UNSPECIFIED)

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_STATES

    @property
    def live(self) -> bool:
        return self not in TERMINAL_STATES


# The states a job ends in; Vertex never changes them again.
TERMINAL_STATES = frozenset({JobState.SUCCEEDED, JobState.PARTIALLY_SUCCEEDED, JobState.FAILED,
                             JobState.CANCELLED, JobState.EXPIRED})
LIVE_STATES = frozenset(JobState) - TERMINAL_STATES
# Ended without a tuned model to serve.
FAILED_STATES = TERMINAL_STATES - {JobState.SUCCEEDED}


@dataclass(frozen=True)
class JobRecord:
    """A tuning job as Vertex reports it: the resource outputs plus what it was created with."""

    outputs: TuningJobOutputs
    base_model: str | None
    display_name: str | None
    description: str | None
    labels: dict[str, str]
    training_dataset_uri: str | None
    validation_dataset_uri: str | None
    hyper_parameters: dict[str, Any]
    # The other settings it was created with (what `pulumi import` reads back as inputs).
    export_last_checkpoint_only: bool = False
    kms_key_name: str | None = None
    service_account: str | None = None
    evaluation_config: dict[str, Any] | None = None
    pre_tuned_model_checkpoint_id: str | None = None

    @property
    def name(self) -> str:
        return self.outputs.name

    @property
    def state(self) -> JobState:
        return JobState.of(self.outputs.state)

    @property
    def live(self) -> bool:
        return self.state.live

    @property
    def detail_state(self) -> str | None:
        """Vertex's detailed tuning state without its prefix (TUNING, POST_PROCESSING, ...)."""
        return self.outputs.tuning_state_detail

    @property
    def completed_epochs(self) -> int | None:
        return self.outputs.completed_epoch_count


@dataclass(frozen=True)
class MetricSeries:
    """A job's training metrics as written so far: {series name: [(step, value), ...]} in step
    order, keyed by Vertex's names (/train_total_loss, /eval_total_loss, ...)."""

    points: dict[str, list[tuple[int, float]]] = field(default_factory=dict)

    def last(self, series: str) -> tuple[int, float] | None:
        values = self.points.get(series)
        return values[-1] if values else None

    def at(self, series: str, step: int) -> float | None:
        return next((value for at, value in self.points.get(series, []) if at == step), None)
