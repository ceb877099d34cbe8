"""The TuningJob dynamic provider: check, diff, create, read, update, delete.

Thin on purpose: what a field means lives in `spec`, how Vertex is reached in `vertex`.
The instance holds plain data only (the API endpoint read in `configure`), so it pickles by
reference into a few hundred bytes with no client and no credential in Pulumi's state.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)
from pulumi.output import Unknown
from pulumi.runtime.rpc import UNKNOWN

from tuning_provider import cancellation, catalog, cost, engine_log, legacy_state, metrics, provider_server, vertex
from tuning_provider.errors import (
    ApiError,
    ApiOutage,
    DatasetError,
    InvalidRequest,
    JobFailed,
    JobNotServing,
    NotFound,
    QualityGateFailed,
    SpecError,
    WaitTimeout,
)
from tuning_provider.names import DatasetName, ModelName, is_tuned_model, is_vertex_dataset
from tuning_provider.progress import ProgressReporter
from tuning_provider.spec import (
    EVAL_FIELDS,
    TuningJobSpec,
    base_model_problems,
    replaces_on_change,
    spec_problems,
)

__all__ = ["API_ENDPOINT_KEY", "RESOURCE_TYPE", "TuningJobProvider", "resource_urn"]

# The type the TuningJob resource registers (module "vertex", name "TuningJob").
RESOURCE_TYPE = "pulumi-python:dynamic/vertex:TuningJob"

# Stack config key naming the Vertex API base URL (the local stack points it at the emulator).
API_ENDPOINT_KEY = "tuning:apiEndpoint"
# A create may follow IAM bindings made seconds earlier: allow them this long to propagate.
IAM_PROPAGATION_SECONDS = 150.0
# Bound on waiting for a cancelled job to stop during delete.
CANCEL_WAIT_SECONDS = 1800.0
# Old job states that mean the job must run again: someone stopped it outside Pulumi.
_RERUN_STATES = frozenset({"CANCELLED", "EXPIRED"})
# Reads a job's training metrics: vertex.read_metric_series, or what a test hands in.
MetricReader = Callable[[vertex.Connection, vertex.JobRecord, vertex.RetryPolicy], vertex.MetricSeries]


class TuningJobProvider(ResourceProvider):
    """Runs one Vertex AI supervised tuning job per resource."""

    # Nothing secret is ever on the instance; a readable `__provider` makes state reviewable.
    serialize_as_secret_always = False

    def __init__(self, *, today: date | None = None, read_metric_series: MetricReader | None = None) -> None:
        """`today` is the day base models are judged deprecated or retired on, and
        `read_metric_series` reads a job's metrics; both None (the real day, the real read) but
        in tests, so that what Pulumi pickles stays plain data."""
        super().__init__()
        self.api_endpoint: str | None = None
        self.today = today
        self.metric_reader = read_metric_series

    def configure(self, req: ConfigureRequest) -> None:
        endpoint = req.config.get(API_ENDPOINT_KEY)
        self.api_endpoint = str(endpoint) if endpoint else None
        # Runs once per provider process, inside the engine's dynamic-provider server.
        cancellation.listen()
        workers = provider_server.widen_long_calls()
        if provider_server.in_provider_server() and workers <= provider_server.SERVER_WORKERS:
            engine_log.log(f"note: Pulumi's dynamic-provider server runs {provider_server.SERVER_WORKERS} requests at "
                      "a time and each TuningJob create holds one until its model serves, so jobs beyond "
                      f"{provider_server.SERVER_WORKERS} queue until one ends (see tuning_provider/provider_server.py)")

    # --- helpers -------------------------------------------------------------------------

    def _connection(self, spec: TuningJobSpec) -> vertex.Connection:
        return vertex.Connection(spec.project, spec.location, self.api_endpoint)

    @staticmethod
    def _spec(props: Mapping[str, Any]) -> TuningJobSpec:
        return TuningJobSpec.model_validate({k: v for k, v in props.items() if k in TuningJobSpec.model_fields})

    @staticmethod
    def _outs(spec: TuningJobSpec, job: vertex.JobRecord) -> dict[str, Any]:
        return {**spec.model_dump(), **job.outputs.model_dump()}

    def _read_metric_series(
        self, conn: vertex.Connection, job: vertex.JobRecord, retry: vertex.RetryPolicy = vertex.DEFAULT_RETRY
    ) -> vertex.MetricSeries:
        return (self.metric_reader or vertex.read_metric_series)(conn, job, retry)

    def _measured(
        self, conn: vertex.Connection, spec: TuningJobSpec, job: vertex.JobRecord,
        retry: vertex.RetryPolicy = vertex.DEFAULT_RETRY,
    ) -> tuple[vertex.JobRecord, vertex.MetricSeries]:
        """The job with what its metrics say in its outputs (the final figures, each
        checkpoint's eval loss, the checkpoint that serves, its endpoint as the tuned model's
        endpoint, the cost estimate), and the series they came from."""
        series = _metric_series(self._read_metric_series, conn, spec, job, retry)
        checkpoints = metrics.with_eval_loss(job.outputs.checkpoints, series)
        served = metrics.serving_checkpoint(checkpoints, spec.serve_checkpoint)
        estimate = _estimate(spec)
        outputs = job.outputs.model_copy(update={
            "metrics": metrics.final_metrics(series, job),
            "checkpoints": checkpoints,
            "serving_checkpoint": served.checkpoint_id if served else None,
            "estimated_training_tokens": estimate.training_tokens if estimate else None,
            "estimated_cost_usd": estimate.usd if estimate else None,
        })
        if served is not None and job.outputs.tuned_model_endpoint:
            outputs = outputs.model_copy(update={"tuned_model_endpoint": served.endpoint})
        return dataclasses.replace(job, outputs=outputs), series

    # --- check ---------------------------------------------------------------------------

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        inputs = {k: v for k, v in news.items() if not k.startswith("__")}
        unknown = frozenset(k for k, v in inputs.items() if _contains_unknown(v))
        failures = [CheckFailure(e.field, e.message) for e in spec_problems(inputs, unknown, today=self.today)]
        if not failures and unknown and not unknown & _COST_FIELDS and (
            not olds or any(map(replaces_on_change, unknown & set(TuningJobSpec.model_fields)))
        ):
            # Data still to be uploaded in this preview (a new object): the cost is known anyway.
            known = TuningJobSpec.model_construct(**{k: v for k, v in inputs.items() if k not in unknown})
            failures += self._cost_failures(known)
        if failures or unknown:
            return CheckResult(inputs, failures)
        spec = TuningJobSpec.model_validate(inputs)
        warning = catalog.deprecation_warning(spec.base_model, self.today)
        if warning:
            _progress(spec, f"base_model: {warning}", warning=True)
        runs_a_job = _runs_a_job(olds, spec)
        # The data matters to a job about to run only: a trained job's dataset may be gone.
        if spec.validate_dataset and runs_a_job:
            failures, spec = self._dataset_failures(spec)
            failures += self._vertex_dataset_failures(spec)
        elif spec.training_dataset_tokens is None and olds.get("training_dataset_tokens") is not None:
            # The count the data check filled in when this job ran: the job and its data are the
            # same, so keep it rather than show it vanishing as a change on every later up.
            spec = spec.model_copy(update={"training_dataset_tokens": olds["training_dataset_tokens"]})
        if spec.existing_job_name:
            failures += self._adoption_failures(spec)
        if spec.evaluation_config and (problem := vertex.evaluation_config_problem(spec.evaluation_config)):
            failures.append(CheckFailure("evaluation_config", problem))
        if is_tuned_model(spec.base_model) and (spec.adapter_size or spec.kms_key_name):
            failures += self._continuous_tuning_failures(spec)
        if not failures and runs_a_job:
            failures += self._cost_failures(spec)
        # Normalised inputs: later diffs then compare like with like.
        return CheckResult(spec.model_dump(), failures)

    def _cost_failures(self, spec: TuningJobSpec) -> list[CheckFailure]:
        """The cost line of a job about to be created, and the ceilings it breaks."""
        estimate = _estimate(spec)
        if estimate is None:
            uri = getattr(spec, "training_dataset_uri", None)  # absent: still to be uploaded in this preview
            why = ("the data is not uploaded yet" if not isinstance(uri, str)
                   else "check does not read a Vertex dataset's rows" if is_vertex_dataset(uri)
                   else "validate_dataset is off")
            line = f"no training-token estimate: the training data's token count is not known ({why}): give " \
                   "training_dataset_tokens"
        else:
            line = estimate.line()
        _show_once(spec, line)
        return [CheckFailure(field, reason) for field, reason in _ceiling_problems(spec, estimate)]

    def _dataset_failures(self, spec: TuningJobSpec) -> tuple[list[CheckFailure], TuningJobSpec]:
        """What is wrong with the gs:// data, and the spec with the training data's token
        count filled in (for the cost estimate) when it was not given. Each object version is
        read once per machine (tuning_provider/dataset_cache.py); a line says when it is not."""
        from tuning_provider.dataset import DatasetKind
        from tuning_provider.dataset_cache import check_gcs_dataset

        failures = []
        kinds: tuple[tuple[str, DatasetKind], ...] = (
            ("training_dataset_uri", "training"), ("validation_dataset_uri", "validation"),
        )
        for field, kind in kinds:
            uri = getattr(spec, field)
            if uri is None:
                continue
            if is_vertex_dataset(uri):
                continue  # its rows are in BigQuery: see _vertex_dataset_failures
            try:
                checked = check_gcs_dataset(uri, kind, spec.base_model, self.api_endpoint, today=self.today)
            except DatasetError as exc:
                failures.append(CheckFailure(field, exc.message))
                continue
            if checked.reused:
                _show_once(spec, checked.reuse_line(field))
            report = checked.report
            if not report.ok:
                failures.append(CheckFailure(field, report.summary()))
            elif kind == "training" and spec.training_dataset_tokens is None:
                spec = spec.model_copy(update={"training_dataset_tokens": report.estimated_tokens})
        return failures, spec

    def _vertex_dataset_failures(self, spec: TuningJobSpec) -> list[CheckFailure]:
        """A Vertex dataset named as training or validation data must exist and be multimodal
        (looked up in its own project; the spec has checked its region). Its rows live in
        BigQuery, which check does not read: a line says so and how to assess them."""
        failures = []
        for field, usage in (("training_dataset_uri", "SFT_TRAINING"), ("validation_dataset_uri", "SFT_VALIDATION")):
            name = getattr(spec, field)
            dataset = DatasetName.parse(name) if name is not None else None
            if dataset is None:
                continue
            problem = vertex.vertex_dataset_problem(
                vertex.Connection(dataset.project, dataset.location, self.api_endpoint), str(dataset))
            if problem is not None:
                failures.append(CheckFailure(field, (
                    f"{field} names the Vertex dataset {name}, but {problem}: name a multimodal dataset "
                    f"in {dataset.location} (create one over your BigQuery table, e.g. with the Vertex AI SDK's "
                    "MultimodalDataset.from_bigquery), or give a gs:// JSONL file"
                )))
                continue
            _show_once(spec, (
                f"note: {field} is the multimodal dataset {name}; check found it, but not its rows, which "
                "live in BigQuery and which Vertex validates only when the job starts (a bad row fails the "
                "job). Assess them first with the Vertex AI SDK: MultimodalDataset(dataset_name=...)."
                f"assess_tuning_validity(model_name=..., dataset_usage=\"{usage}\")"
            ))
        return failures

    def _adoption_failures(self, spec: TuningJobSpec) -> list[CheckFailure]:
        """existing_job_name must name a job that is running or serving: adopting a finished
        job whose model is gone would put a dead endpoint in the stack outputs."""
        assert spec.existing_job_name is not None
        job = vertex.find_tuning_job(self._connection(spec), spec.existing_job_name)
        if job is None:
            return [CheckFailure("existing_job_name", f"there is no tuning job {spec.existing_job_name}; "
                                 "check the name, project and location")]
        problem = None if job.live else vertex.serving_problem(self._connection(spec), job)
        if problem is None:
            return []
        return [CheckFailure("existing_job_name", f"tuning job {job.name} cannot be adopted: {problem}. "
                             "Remove existing_job_name to run a new job, or name a job that is running or serving")]

    def _continuous_tuning_failures(self, spec: TuningJobSpec) -> list[CheckFailure]:
        """The catalog's rules for the base model under a tuned base_model. Only the model
        itself names that base model, so this looks it up, and only when a setting it limits
        (adapter_size, kms_key_name) is given: otherwise check stays offline."""
        model = ModelName.parse(spec.base_model)
        assert model is not None  # check calls this for a tuned base_model only
        model_conn = vertex.Connection(model.project, model.location, self.api_endpoint)
        try:
            base = vertex.tuned_model_base(model_conn, spec.base_model)
        except NotFound:
            return [CheckFailure("base_model", f"there is no tuned model {spec.base_model}; "
                                 "check its name, or tune from a model that exists")]
        if base is None or catalog.find_model(base) is None:
            return []  # Vertex does not say what it was tuned from: Vertex itself will judge
        problems = base_model_problems(spec.model_dump(), base)
        return [CheckFailure(f, f"the tuned model was tuned from {base}: {m}") for f, m in problems]

    # --- diff ----------------------------------------------------------------------------

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        old_spec = self._spec(olds)
        new_values = {k: v for k, v in news.items() if not k.startswith("__")}
        new_spec = None if any(map(_contains_unknown, new_values.values())) else self._spec(new_values)
        changes: list[str] = []
        for field in TuningJobSpec.model_fields:
            if new_spec is not None:
                changed = getattr(old_spec, field) != getattr(new_spec, field)
            else:  # partly unknown in a preview: an unknown value may differ
                value = new_values.get(field)
                changed = _contains_unknown(value) or field in new_values and _differs(old_spec, field, value)
            if changed:
                changes.append(field)
        if "existing_job_name" in changes and new_spec is not None and new_spec.existing_job_name == olds.get("name"):
            # Naming the job this resource already holds adopts nothing new; a replace would
            # delete the serving model that the "new" resource stands on.
            changes.remove("existing_job_name")
        replaces = [f for f in changes if replaces_on_change(f)]
        old_state = olds.get("state")
        if old_state == "SUCCEEDED" and not (olds.get("tuned_model_name") and olds.get("tuned_model_endpoint")):
            # Refresh found the tuned model or endpoint deleted outside Pulumi: run it again.
            changes.append("tuned_model_endpoint")
            replaces.append("tuned_model_endpoint")
        elif old_state in _RERUN_STATES:
            # Stopped outside Pulumi (seen by refresh): the job must run again.
            changes.append("state")
            replaces.append("state")
        elif legacy_state.recorded_live(olds) and not replaces:
            # Recorded while still running (legacy_state): an update waits for it.
            changes.append("state")
        return DiffResult(
            changes=bool(changes),
            replaces=replaces,
            # A running job is cancelled before its replacement starts: it would be paid for
            # in vain, and tuning quota is often one concurrent job.
            delete_before_replace=bool(replaces) and legacy_state.recorded_live(olds),
        )

    # --- create / update -----------------------------------------------------------------

    def create(self, props: dict[str, Any]) -> CreateResult:
        spec = self._spec(props)
        conn = self._connection(spec)
        if spec.existing_job_name:
            try:
                job = vertex.get_tuning_job(conn, spec.existing_job_name)
            except NotFound as exc:
                raise SpecError("existing_job_name", f"there is no tuning job {spec.existing_job_name}; "
                                "check the name, project and location") from exc
            _progress(spec, f"adopted existing tuning job {job.name} ({job.state})")
        else:
            retry = vertex.RetryPolicy(
                attempts=40, max_elapsed=IAM_PROPAGATION_SECONDS, permission_grace=IAM_PROPAGATION_SECONDS
            )
            job, adopted = vertex.submit_or_adopt(conn, spec, retry, on_progress=lambda line: _progress(spec, line))
            verb = "adopted" if adopted else "submitted"
            _progress(spec, f"{verb} tuning job {job.name} ({job.state})")
        job = self._serving(conn, spec, job)
        return CreateResult(job.name, self._outs(spec, job))

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        # Only steering settings change in place: no API write. A job recorded while still
        # running (legacy_state: written by a version before 2026-11-30) is waited for here.
        spec = self._spec(news)
        conn = self._connection(spec)
        job = vertex.get_tuning_job(conn, id_)
        if job.live or legacy_state.recorded_live(olds):
            job = self._serving(conn, spec, job)
        else:
            job, _ = self._measured(conn, spec, job)
            moved = job.outputs.tuned_model_endpoint != olds.get("tuned_model_endpoint")
            problem = vertex.serving_problem(conn, job) if moved and job.state == "SUCCEEDED" else None
            if problem is not None:  # serve_checkpoint changed: the new endpoint must answer first
                raise JobNotServing(job.name, job.state, f"{problem}; the stack keeps serving the endpoint it had")
        # The quality gate judges a model before it first serves; thresholds changed later do
        # not take a serving model away.
        return UpdateResult(self._outs(spec, job))

    def _serving(self, conn: vertex.Connection, spec: TuningJobSpec, job: vertex.JobRecord) -> vertex.JobRecord:
        """The job once its tuned model serves; otherwise raise, so that this update fails.

        That is the serving invariant: Pulumi deletes the resource a replacement stands in for
        only after the replacement's create returned, so a create must not return before its
        model answers. Every way of not getting there raises, and the job (if it still runs)
        is adopted by the next `pulumi up` through its fingerprint label: never paid twice."""
        keep = "nothing was recorded, and the model the stack served before (if any) keeps serving"
        if job.live and not spec.wait_for_completion:
            raise JobNotServing(
                job.name, job.state,
                f"wait_for_completion is false, so this update stops here: {keep}. "
                "Run `pulumi up` again once the job has ended: it adopts this job, no second one is paid for",
            )
        # Every call from here on rides out an API that stops answering for a while, and
        # stops at once on Ctrl-C: the job is Vertex's, and a blip must not lose the wait.
        retry = vertex.outage_tolerant(spec.api_outage_tolerance_seconds, lambda line: _progress(spec, line),
                                       sleep=cancellation.sleep)
        try:
            if job.live:
                reporter = ProgressReporter(
                    _label(spec), lambda polled: self._read_metric_series(conn, polled, retry),
                    lambda line: _progress(spec, line),
                )
                job = vertex.wait_for_tuning_job(
                    conn, job.name, timeout=spec.wait_timeout_seconds, poll_interval=spec.poll_interval_seconds,
                    on_poll=reporter, retry=retry, sleep=cancellation.sleep,
                )
            if job.state != "SUCCEEDED":
                reason = (job.outputs.error or "Vertex gave no reason").rstrip(". ")
                raise JobFailed(job.name, job.state, f"{reason}. {keep[0].upper()}{keep[1:]}")
            job, series = self._measured(conn, spec, job, retry)
            problem = vertex.serving_problem(conn, job, retry)
        except cancellation.Cancelled as exc:
            raise JobNotServing(
                job.name, job.state,
                f"pulumi is cancelling (Ctrl-C), so this update stops waiting: {keep}. The job is NOT "
                "cancelled: it keeps running in Vertex, and the next `pulumi up` adopts it and waits "
                "again, no second job is paid for. To stop paying for it, run "
                f"`python -m tuning_provider jobs cancel {job.name}`",
            ) from exc
        except WaitTimeout as exc:
            raise JobNotServing(
                job.name, exc.last_state,
                f"wait_timeout_seconds ({spec.wait_timeout_seconds:g}s) was reached, so this update "
                f"stops here: {keep}. The job keeps running in Vertex; the next `pulumi up` adopts it "
                "and waits again, no second job is paid for",
            ) from exc
        except ApiOutage as exc:
            raise JobNotServing(
                job.name, job.state,
                f"Vertex AI did not answer for {exc.waited_seconds:.0f}s, past api_outage_tolerance_seconds "
                f"({spec.api_outage_tolerance_seconds:g}s), so this update stops here: {keep}. The job keeps "
                "running in Vertex; the next `pulumi up` adopts it and waits again, no second job is paid for",
            ) from exc
        if problem is not None:
            raise JobNotServing(job.name, job.state, f"{problem}. {keep[0].upper()}{keep[1:]}")
        self._gate(spec, job, series)
        return job

    @staticmethod
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
            "Nothing was recorded, and the model the stack served before (if any) keeps serving. "
            f"The new job's tuned model {job.outputs.tuned_model_name} is kept, not deleted, so that no "
            "second job is paid for the same settings: the next `pulumi up` adopts this job and fails the "
            "gate again until the settings (a new job) or the thresholds change. To delete it, run "
            f"`python -m tuning_provider jobs delete-model {job.name}`",
        )

    # --- read ----------------------------------------------------------------------------

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        spec = self._spec(props)
        job = vertex.find_tuning_job(self._connection(spec), id_)
        if job is None:
            return ReadResult("", {})  # gone: Pulumi drops it from state
        job, _ = self._measured(self._connection(spec), spec, job)
        outs = self._outs(spec, job)
        problem = vertex.serving_problem(self._connection(spec), job) if job.state == "SUCCEEDED" else None
        if problem is not None:
            # Shown by `pulumi refresh` as drift; diff then replaces the job on the next `up`.
            outs.update(tuned_model_name=None, tuned_model_endpoint=None,
                        error=f"{problem} outside Pulumi; the next `pulumi up` runs the job again")
        return ReadResult(id_, outs)

    # --- delete --------------------------------------------------------------------------

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        spec = self._spec(props)
        conn = self._connection(spec)
        job = vertex.find_tuning_job(conn, id_)
        if job is None:
            return
        if job.live:
            _progress(spec, f"cancelling tuning job {job.name} ({job.state})")
            # The job was found: a blip from here on is ridden out, as in create's wait.
            retry = vertex.outage_tolerant(spec.api_outage_tolerance_seconds, lambda line: _progress(spec, line))
            if job.state != "CANCELLING":
                try:
                    vertex.cancel_tuning_job(conn, job.name, retry)
                except InvalidRequest:
                    pass  # it ended between our read and the cancel: the wait below sees how
            # A raise here keeps the resource in state, so the job is never forgotten running.
            job = vertex.wait_for_tuning_job(
                conn, job.name, timeout=CANCEL_WAIT_SECONDS, poll_interval=spec.poll_interval_seconds,
                on_progress=lambda line: _progress(spec, line), retry=retry,
            )
        if job.state == "SUCCEEDED":
            # A model version that cannot go alone raises ModelVersionKept: the resource stays in
            # state, and nothing of the versions other jobs made is touched.
            for problem in vertex.delete_tuned_model(conn, job):
                _progress(spec, f"{problem}; remove it by hand or keep it", warning=True)


def _contains_unknown(value: Any) -> bool:
    # The engine hands check and diff an unknown as a pulumi `Unknown` object; the wire (and
    # the provider tests) as the UNKNOWN sentinel string.
    if isinstance(value, Unknown):
        return True
    if isinstance(value, str):
        return value == UNKNOWN
    if isinstance(value, Mapping):
        return any(_contains_unknown(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_contains_unknown(v) for v in value)
    return False


def _differs(old_spec: TuningJobSpec, field: str, value: Any) -> bool:
    """Whether a known new value differs from the old one once both are normalised."""
    try:
        new = TuningJobSpec.model_validate({**old_spec.model_dump(), field: value})
    except (ValueError, SpecError):
        return True
    return bool(getattr(new, field) != getattr(old_spec, field))


def resource_urn(resource_key: str) -> str:
    """The URN of the top-level TuningJob whose resource_key is "project/stack/name" (empty
    when the key is not of that form, as in tests)."""
    parts = resource_key.split("/", 2)
    if len(parts) != 3 or not all(parts):
        return ""
    project, stack, name = parts
    return f"urn:pulumi:{stack}::{project}::{RESOURCE_TYPE}::{name}"


def _label(spec: TuningJobSpec) -> str:
    """The resource's name, as progress lines start with it."""
    return spec.resource_key.rsplit("/", 1)[-1] or spec.tuned_model_display_name or "tuning job"


def _progress(spec: TuningJobSpec, message: str, *, warning: bool = False) -> None:
    # Under the TuningJob in the CLI's output when the engine takes it (pulumi.log is not
    # available inside the provider process); on stderr otherwise.
    engine_log.log(message, urn=resource_urn(spec.resource_key), warning=warning)


def _show_once(spec: TuningJobSpec, line: str, *, warning: bool = False) -> None:
    """A check's line, shown once per resource and `pulumi` command: the engine checks a
    replacement twice (the update, then the new resource's create), and `pulumi up` checks
    everything in its preview and again in its update (engine_log.log_once)."""
    engine_log.log_once(spec.resource_key, line, urn=resource_urn(spec.resource_key), warning=warning)


def _runs_a_job(olds: Mapping[str, Any], spec: TuningJobSpec) -> bool:
    """Whether these inputs create a job or replace the one of `olds` (the old inputs)."""
    if not olds:
        return True
    try:
        old = TuningJobSpec.model_validate({k: v for k, v in olds.items() if k in TuningJobSpec.model_fields})
    except (ValueError, SpecError):
        return True
    return any(getattr(old, f) != getattr(spec, f) for f in TuningJobSpec.model_fields if replaces_on_change(f))


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


def _estimate(spec: TuningJobSpec) -> cost.TrainingCostEstimate | None:
    if spec.training_dataset_tokens is None:
        return None
    # int(): a spec made without validation (a preview's partly known inputs) holds Pulumi's floats.
    epochs = int(spec.epoch_count) if spec.epoch_count is not None else None
    price = spec.price_per_million_training_tokens_usd
    return cost.estimate_training_cost(int(spec.training_dataset_tokens), epochs, spec.base_model,
                                       price=float(price) if price is not None else None)


def _ceiling_problems(spec: TuningJobSpec, estimate: cost.TrainingCostEstimate | None) -> list[tuple[str, str]]:
    """(field, sentence) per cost ceiling the estimate breaks, or cannot be checked against.
    A dollar ceiling with no price (neither given as price_per_million_training_tokens_usd nor
    on record in the catalog) is not enforced: a warning says so and how to give one."""
    problems: list[tuple[str, str]] = []
    tokens = estimate.training_tokens if estimate else None
    unknown = ("the training-token count is unknown: set epoch_count" if estimate and tokens is None
               else "the training data's token count is unknown: give training_dataset_tokens (or leave "
               "validate_dataset on, for gs:// data)")
    if spec.max_training_tokens is not None:
        if tokens is None:
            problems.append(("max_training_tokens", f"cannot be checked: {unknown}"))
        elif tokens > spec.max_training_tokens:
            problems.append(("max_training_tokens", f"the job would train on ~{tokens:,} tokens, over "
                             f"max_training_tokens {int(spec.max_training_tokens):,}; {_lower_it}"))
    if spec.max_training_cost_usd is not None:
        if estimate is not None and estimate.usd_per_million is None:
            _show_once(spec, f"max_training_cost_usd (${spec.max_training_cost_usd:,.2f}) cannot be checked: no "
                      f"tuning price is on record for {spec.base_model} (see {estimate.pricing_page}); set "
                      f"{cost.PRICE_INPUT} to your price to enforce it (max_training_tokens holds meanwhile)",
                      warning=True)
        elif estimate is None or estimate.usd is None:
            problems.append(("max_training_cost_usd", f"cannot be checked: {unknown}"))
        elif estimate.usd > spec.max_training_cost_usd:
            problems.append(("max_training_cost_usd", f"the job would cost ~${estimate.usd:,.2f}, over "
                             f"max_training_cost_usd ${spec.max_training_cost_usd:,.2f} ({estimate.line()}); "
                             f"{_lower_it}"))
    return problems


# What the cost estimate and its ceilings are made of.
_COST_FIELDS = frozenset({"training_dataset_tokens", "epoch_count", "base_model", "max_training_tokens",
                          "max_training_cost_usd", "price_per_million_training_tokens_usd", "resource_key"})
_lower_it = "lower epoch_count or the training data, or raise the ceiling"
