"""The progress line of a running job: its text, its calm rate, elapsed time from the job's own
start, and where the line goes (the engine's Log RPC inside the provider process, else stderr)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tuning_provider import engine_log
from tuning_provider.progress import ProgressReporter, progress_line
from tuning_provider.provider import resource_urn
from tuning_provider.spec import DataStats, TuningJobOutputs
from tuning_provider.vertex import JobRecord, MetricSeries

START = dt.datetime(2026, 11, 30, 5, 0, tzinfo=dt.UTC)


def job(state: str = "RUNNING", detail: str | None = "TUNING", epochs_done: int | None = 2,
        **outputs: Any) -> JobRecord:
    return JobRecord(
        TuningJobOutputs(name="projects/p/locations/l/tuningJobs/7", state=state,
                         tuning_data_stats=DataStats(steps=180), start_time="2026-11-30T05:00:00Z",
                         tuning_state_detail=detail, completed_epoch_count=epochs_done, **outputs),
        base_model="gemini-3.5-flash", display_name="reviews", description=None, labels={},
        training_dataset_uri=None, validation_dataset_uri=None, hyper_parameters={"epoch_count": 3},
    )


SERIES = MetricSeries({
    "/train_total_loss": [(119, 0.9), (120, 0.8421)],
    "/eval_total_loss": [(60, 1.2), (120, 0.9109)],
})


def at(minutes: float) -> float:
    return (START + dt.timedelta(minutes=minutes)).timestamp()


def test_the_line_says_state_epoch_step_losses_elapsed_and_time_left():
    assert progress_line("reviews", job(), SERIES, at(14)) == (
        "reviews: TUNING epoch 2/3, step 120/180, train loss 0.84, eval loss 0.91, 14m elapsed, ~7m left"
    )


def test_before_training_and_after_it_the_line_leaves_out_what_is_not_known():
    pending = job("PENDING", "WAITING_FOR_QUOTA", None)
    assert progress_line("reviews", pending, MetricSeries(), at(0.75)) == "reviews: WAITING_FOR_QUOTA 45s elapsed"
    done = job("SUCCEEDED", None, 3)
    finished = MetricSeries({"/train_total_loss": [(180, 0.2)]})
    assert progress_line("reviews", done, finished, at(125)) == (
        "reviews: SUCCEEDED epoch 3/3, step 180/180, train loss 0.20, 2h05m elapsed"
    )


def test_an_adopted_jobs_elapsed_time_counts_from_its_own_start():
    # A job adopted 40 minutes after it started: not "0s elapsed".
    assert "40m elapsed" in progress_line("reviews", job(), SERIES, at(40))


def test_a_line_per_state_change_or_per_minute_not_a_flood():
    now = [at(1)]
    lines: list[str] = []
    reads: list[str] = []

    def read(polled: JobRecord) -> MetricSeries:
        reads.append(polled.state)
        return SERIES

    reporter = ProgressReporter("reviews", read, lines.append, clock=lambda: now[0])
    processing = job("PENDING", "PROCESSING_DATASET", None)
    polls = [(1, processing), (1.2, processing), (1.5, job()), (1.6, job()), (2.4, job()), (2.6, job()),
             (2.7, job("SUCCEEDED", None))]
    for minute, polled in polls:
        now[0] = at(minute)
        reporter(polled)
    assert [line.split(":")[1].split()[0] for line in lines] == ["PROCESSING_DATASET", "TUNING", "TUNING", "SUCCEEDED"]
    assert len(reads) == len(lines)  # metrics are read only for a line


def test_a_failing_metrics_read_does_not_stop_the_line():
    lines: list[str] = []

    def broken(_job: JobRecord) -> MetricSeries:
        raise RuntimeError("TensorBoard unavailable")

    ProgressReporter("reviews", broken, lines.append, clock=lambda: at(3))(job())
    assert lines == ["reviews: TUNING epoch 2/3, 3m elapsed"]


def test_lines_go_to_stderr_outside_the_provider_process(capfd):
    engine_log.log("hello", urn=resource_urn("tuning/dev/reviews"))
    engine_log.log("careful", urn="", warning=True)
    assert capfd.readouterr().err == "hello\nwarning: careful\n"


def test_the_resource_urn_is_the_top_level_tuning_jobs():
    assert resource_urn("tuning/dev/reviews") == (
        "urn:pulumi:dev::tuning::pulumi-python:dynamic/vertex:TuningJob::reviews"
    )
    assert resource_urn("") == ""
