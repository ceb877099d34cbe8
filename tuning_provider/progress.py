"""The progress line of a running tuning job, for people, at a calm rate:

    reviews: TUNING epoch 2/3, step 120/180, train loss 0.84, eval loss 0.91, 14m elapsed, ~6m left

`progress_line` builds it from the job as Vertex reports it (detailed state, step count, the
epochs completed) and its metric series; elapsed time counts from the job's own start (its
create time before it starts), so an adopted job shows how long it has really run.
`ProgressReporter` sees every poll and writes a line only when the state or detailed state
changes, or a minute after the last line.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from tuning_provider.metrics import EVAL_LOSS, TRAIN_LOSS
from tuning_provider.records import JobRecord, MetricSeries
from tuning_provider.times import format_duration, parse_rfc3339

__all__ = ["QUIET_SECONDS", "ProgressReporter", "progress_line"]

# Without a state change, at most one line this often.
QUIET_SECONDS = 60.0


def progress_line(label: str, job: JobRecord, series: MetricSeries, now: float) -> str:
    """One line on where the job is, e.g. "reviews: TUNING epoch 2/3, step 120/180, train loss
    0.84, eval loss 0.91, 14m elapsed, ~6m left"; parts not known yet are left out."""
    status = job.detail_state if job.live and job.detail_state else job.state
    parts: list[str] = []
    total_steps = job.outputs.tuning_data_stats.steps if job.outputs.tuning_data_stats else None
    epochs = job.hyper_parameters.get("epoch_count")
    last_train = series.last(TRAIN_LOSS)
    step = last_train[0] if last_train else None
    if job.completed_epochs is not None and epochs:
        parts.append(f"epoch {job.completed_epochs}/{epochs}")
    if step is not None:
        parts.append(f"step {step}/{total_steps}" if total_steps else f"step {step}")
    if last_train is not None:
        parts.append(f"train loss {last_train[1]:.2f}")
    last_eval = series.last(EVAL_LOSS)
    if last_eval is not None:
        parts.append(f"eval loss {last_eval[1]:.2f}")
    started = parse_rfc3339(job.outputs.start_time or job.outputs.create_time)
    if started is not None:
        elapsed = max(0.0, now - started.timestamp())
        parts.append(f"{format_duration(elapsed, coarse=True)} elapsed")
        if job.live and step and total_steps and step < total_steps:
            parts.append(f"~{format_duration(elapsed * (total_steps - step) / step, coarse=True)} left")
    return f"{label}: {status}" + (f" {', '.join(parts)}" if parts else "")


class ProgressReporter:
    """Called on every poll of a job; writes `progress_line` on a state change, or when
    QUIET_SECONDS have passed since the last line. Metrics are read only for a line."""

    def __init__(
        self,
        label: str,
        read_series: Callable[[JobRecord], MetricSeries],
        write: Callable[[str], None],
        *,
        clock: Callable[[], float] = time.time,
        quiet_seconds: float = QUIET_SECONDS,
    ) -> None:
        self._label = label
        self._read_series = read_series
        self._write = write
        self._clock = clock
        self._quiet = quiet_seconds
        self._last: tuple[str, str | None] | None = None
        self._last_time = 0.0
        self.last_seen: JobRecord | None = None
        """The job as the last poll saw it: what a wait that stops names."""

    def __call__(self, job: JobRecord) -> None:
        self.last_seen = job
        now = self._clock()
        state = (job.state, job.detail_state)
        if state == self._last and now - self._last_time < self._quiet:
            return
        self._last, self._last_time = state, now
        self._write(progress_line(self._label, job, self._series(job), now))

    def _series(self, job: JobRecord) -> MetricSeries:
        try:
            return self._read_series(job)
        except Exception:  # noqa: BLE001 - a progress line is not worth failing a create for
            return MetricSeries()
