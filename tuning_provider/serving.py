"""Serving: a create or update returns only once the job's tuned model serves.

That is the serving invariant: Pulumi deletes the resource a replacement stands in for only
after the replacement's create returned, so a create must not return before its model answers.
`start` submits the job (or adopts the one a retried create or `existing_job_name` names),
`until_serving` waits for it (progress lines, Ctrl-C, the wait bound, a Vertex outage ridden
out for a while), reads its metrics, picks the serving checkpoint, probes its endpoint and
applies the quality gate. Every way of not getting there raises, and a job still running is
adopted by the next `pulumi up` through its fingerprint label: never paid for twice.
`withdraw` is delete's half: cancel a running job, remove what a finished one serves.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from tuning_provider import cancellation, cost, engine_log, metrics, vertex
from tuning_provider.errors import (
    ApiError,
    ApiOutage,
    JobFailed,
    JobNotServing,
    NotFound,
    QualityGateFailed,
    SpecError,
    WaitTimeout,
)
from tuning_provider.progress import ProgressReporter
from tuning_provider.spec import EVAL_FIELDS, TuningJobSpec

__all__ = [
    "IAM_PROPAGATION_SECONDS",
    "MetricReader",
    "measured",
    "start",
    "until_serving",
    "withdraw",
]

# A create may follow IAM bindings made seconds earlier: allow them this long to propagate.
IAM_PROPAGATION_SECONDS = 150.0
# Reads a job's training metrics: vertex.read_metric_series, or what a test hands in.
MetricReader = Callable[[vertex.Connection, vertex.JobRecord, vertex.RetryPolicy], vertex.MetricSeries]
# What becomes of the stack when a create or update stops short of a serving model.
_KEPT = "nothing was recorded, and the model the stack served before (if any) keeps serving"


def start(conn: vertex.Connection, spec: TuningJobSpec) -> vertex.JobRecord:
    """The job of these inputs: the one existing_job_name names, a live or serving one with
    this spec's fingerprint (a retried create), or else a newly submitted one."""
    if spec.existing_job_name:
        try:
            job = vertex.get_tuning_job(conn, spec.existing_job_name)
        except NotFound as exc:
            raise SpecError.at("existing_job_name", f"there is no tuning job {spec.existing_job_name}; "
                               "check the name, project and location", spec.existing_job_name) from exc
        _progress(spec, f"adopted existing tuning job {job.name} ({job.state})")
        return job
    retry = vertex.RetryPolicy(
        attempts=40, max_elapsed=IAM_PROPAGATION_SECONDS, permission_grace=IAM_PROPAGATION_SECONDS
    )
    job, adopted = vertex.submit_or_adopt(conn, spec, retry, on_progress=lambda line: _progress(spec, line))
    _progress(spec, f"{'adopted' if adopted else 'submitted'} tuning job {job.name} ({job.state})")
    return job


def until_serving(
    conn: vertex.Connection, spec: TuningJobSpec, job: vertex.JobRecord, read_metrics: MetricReader,
    sleep: Callable[[float], None] = cancellation.sleep,
) -> vertex.JobRecord:
    """The job, measured, once its tuned model serves and passes the quality gate; otherwise
    raise (JobNotServing, JobFailed, QualityGateFailed), so that the update fails. The wait
    sleeps with `sleep`, which raises cancellation.Cancelled once Pulumi asks to cancel."""
    if job.live and not spec.wait_for_completion:
        raise JobNotServing(
            job.name, job.state,
            f"wait_for_completion is false, so this update stops here: {_KEPT}. "
            "Run `pulumi up` again once the job has ended: it adopts this job, no second one is paid for",
        )
    # Every call from here on rides out an API that stops answering for a while, and
    # stops at once on Ctrl-C: the job is Vertex's, and a blip must not lose the wait.
    retry = vertex.outage_tolerant(spec.api_outage_tolerance_seconds, lambda line: _progress(spec, line),
                                   sleep=sleep)
    reporter = ProgressReporter(
        _label(spec), lambda polled: read_metrics(conn, polled, retry), lambda line: _progress(spec, line),
    )
    try:
        if job.live:
            job = vertex.wait_for_tuning_job(
                conn, job.name, timeout=spec.wait_timeout_seconds, poll_interval=spec.poll_interval_seconds,
                on_poll=reporter, retry=retry, sleep=sleep,
            )
        if job.state != "SUCCEEDED":
            reason = (job.outputs.error or "Vertex gave no reason").rstrip(". ")
            raise JobFailed(job.name, job.state, f"{reason}. {_KEPT[0].upper()}{_KEPT[1:]}")
        job, series = measured(conn, spec, job, read_metrics, retry)
        problem = vertex.serving_problem(conn, job, retry)
    except cancellation.Cancelled as exc:
        raise JobNotServing(
            job.name, _last_known_state(reporter.last_seen or job),
            f"pulumi is cancelling (Ctrl-C), so this update stops waiting: {_KEPT}. The job is NOT "
            "cancelled: it keeps running in Vertex, and the next `pulumi up` adopts it and waits "
            "again, no second job is paid for. To stop paying for it, run "
            f"`python -m tuning_provider jobs cancel {job.name}`",
        ) from exc
    except WaitTimeout as exc:
        raise JobNotServing(
            job.name, exc.last_state,
            f"wait_timeout_seconds ({spec.wait_timeout_seconds:g}s) was reached, so this update "
            f"stops here: {_KEPT}. The job keeps running in Vertex; the next `pulumi up` adopts it "
            "and waits again, no second job is paid for",
        ) from exc
    except ApiOutage as exc:
        raise JobNotServing(
            job.name, _last_known_state(reporter.last_seen or job),
            f"Vertex AI did not answer for {exc.waited_seconds:.0f}s, past api_outage_tolerance_seconds "
            f"({spec.api_outage_tolerance_seconds:g}s), so this update stops here: {_KEPT}. The job keeps "
            "running in Vertex; the next `pulumi up` adopts it and waits again, no second job is paid for",
        ) from exc
    if problem is not None:
        raise JobNotServing(job.name, job.state, f"{problem}. {_KEPT[0].upper()}{_KEPT[1:]}")
    _gate(spec, job, series)
    return job


def measured(
    conn: vertex.Connection, spec: TuningJobSpec, job: vertex.JobRecord, read_metrics: MetricReader,
    retry: vertex.RetryPolicy = vertex.DEFAULT_RETRY,
) -> tuple[vertex.JobRecord, vertex.MetricSeries]:
    """The job with what its metrics say in its outputs (the final figures, each
    checkpoint's eval loss, the checkpoint that serves, its endpoint as the tuned model's
    endpoint, the cost estimate), and the series they came from."""
    series = _metric_series(read_metrics, conn, spec, job, retry)
    estimate = cost.job_estimate(spec)
    outputs = metrics.measured_outputs(job, series, spec.serve_checkpoint).model_copy(update={
        "estimated_training_tokens": estimate.training_tokens if estimate else None,
        "estimated_cost_usd": estimate.usd if estimate else None,
    })
    return dataclasses.replace(job, outputs=outputs), series


def withdraw(conn: vertex.Connection, spec: TuningJobSpec, name: str) -> None:
    """Delete's work on the job `name`: cancel it if live and wait up to delete_timeout_seconds
    for it to stop; for a succeeded one, remove its tuned model and the endpoints serving it.
    Every call rides out an outage of up to api_outage_tolerance_seconds, and each is safe to
    repeat. A raise keeps the resource in state, so a job is never forgotten running."""
    retry = vertex.outage_tolerant(spec.api_outage_tolerance_seconds, lambda line: _progress(spec, line))
    job = vertex.find_tuning_job(conn, name, retry)
    if job is None:
        return  # gone: nothing left to pay for
    if job.live:
        _progress(spec, f"cancelling tuning job {job.name} ({job.state})")
        try:
            job = vertex.cancel_and_wait(conn, job, timeout=spec.delete_timeout_seconds,
                                         poll_interval=spec.poll_interval_seconds, retry=retry,
                                         on_progress=lambda line: _progress(spec, line))
        except WaitTimeout as exc:
            raise WaitTimeout(exc.job_name, exc.last_state, exc.waited_seconds,
                              f"delete_timeout_seconds ({spec.delete_timeout_seconds:g}s) was reached; the "
                              "resource stays in the stack: run the delete again once the job has stopped, "
                              "or raise delete_timeout_seconds") from exc
    if job.state == "SUCCEEDED":
        # A model version that cannot go alone raises ModelVersionKept: the resource stays in
        # state, and nothing of the versions other jobs made is touched.
        removal = vertex.delete_tuned_model(conn, job, retry)
        for removed in removal.removed:
            _progress(spec, removed.line())
        for problem in removal.problems:
            _progress(spec, f"{problem}; remove it by hand or keep it", warning=True)


def _gate(spec: TuningJobSpec, job: vertex.JobRecord, series: vertex.MetricSeries) -> None:
    """Raise if the serving checkpoint's eval figures miss the thresholds. The job's model
    is kept: deleting it would make the next `pulumi up` pay for a second job with the
    same settings; that up adopts this job instead and judges it again."""
    served = next((c for c in job.outputs.checkpoints if c.checkpoint_id == job.outputs.serving_checkpoint), None)
    verdict = metrics.judge(spec, series, served)
    if verdict.passed:
        return
    raise QualityGateFailed(
        job.name, verdict.misses,
        f"{_KEPT[0].upper()}{_KEPT[1:]}. "
        f"The new job's tuned model {job.outputs.tuned_model_name} is kept, not deleted, so that no "
        "second job is paid for the same settings: the next `pulumi up` adopts this job and fails the "
        "gate again until the settings (a new job) or the thresholds change. To delete it, run "
        f"`python -m tuning_provider jobs delete-model {job.name}`",
    )


def _metric_series(
    read: MetricReader, conn: vertex.Connection, spec: TuningJobSpec, job: vertex.JobRecord,
    retry: vertex.RetryPolicy,
) -> vertex.MetricSeries:
    """The job's metrics, as `read` reads them. A failed read is fatal only where the metrics
    decide something (the gate, the best checkpoint); otherwise the outputs go without them,
    with a warning: a job that serves must not fail its create over a TensorBoard read."""
    try:
        return read(conn, job, retry)
    except ApiOutage:
        raise  # Vertex is away, not the metrics: the serving check could not pass either
    except ApiError as exc:
        if spec.serve_checkpoint != "default" or any(getattr(spec, f) is not None for f in EVAL_FIELDS):
            raise
        _progress(spec, f"the training metrics could not be read, so the outputs go without them: {exc}",
                  warning=True)
        return vertex.MetricSeries()


def _last_known_state(job: vertex.JobRecord) -> str:
    """The state a stopped wait names: the detailed one (TUNING) while the job is live."""
    return job.detail_state if job.live and job.detail_state else job.state


def _label(spec: TuningJobSpec) -> str:
    """The resource's name, as progress lines start with it."""
    return spec.resource_key.rsplit("/", 1)[-1] or spec.tuned_model_display_name or "tuning job"


def _progress(spec: TuningJobSpec, message: str, *, warning: bool = False) -> None:
    # Under the TuningJob in the CLI's output when the engine takes it (pulumi.log is not
    # available inside the provider process); on stderr otherwise.
    engine_log.progress(spec.resource_key, message, warning=warning)
