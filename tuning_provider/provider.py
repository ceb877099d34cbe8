"""The TuningJob dynamic provider: check, diff, create, read, update, delete.

Thin on purpose: what a field means lives in `spec`, how Vertex is reached in `vertex`.
The instance holds plain data only (the API endpoint read in `configure`), so it pickles by
reference into a few hundred bytes with no client and no credential in Pulumi's state.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
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

from tuning_provider import cancellation, catalog, vertex
from tuning_provider.errors import (
    DatasetError,
    InvalidRequest,
    JobFailed,
    JobNotServing,
    NotFound,
    SpecError,
    WaitTimeout,
)
from tuning_provider.spec import (
    TuningJobSpec,
    base_model_problems,
    is_tuned_model,
    is_vertex_dataset,
    replaces_on_change,
    spec_problems,
)

__all__ = ["API_ENDPOINT_KEY", "TuningJobProvider"]

# Stack config key naming the Vertex API base URL (the local stack points it at the emulator).
API_ENDPOINT_KEY = "tuning:apiEndpoint"
# A create may follow IAM bindings made seconds earlier: allow them this long to propagate.
IAM_PROPAGATION_SECONDS = 150.0
# Bound on waiting for a cancelled job to stop during delete.
CANCEL_WAIT_SECONDS = 1800.0
# Old job states that mean the job must run again: someone stopped it outside Pulumi.
_RERUN_STATES = frozenset({"CANCELLED", "EXPIRED"})


class TuningJobProvider(ResourceProvider):
    """Runs one Vertex AI supervised tuning job per resource."""

    # Nothing secret is ever on the instance; a readable `__provider` makes state reviewable.
    serialize_as_secret_always = False

    def __init__(self) -> None:
        super().__init__()
        self.api_endpoint: str | None = None

    def configure(self, req: ConfigureRequest) -> None:
        endpoint = req.config.get(API_ENDPOINT_KEY)
        self.api_endpoint = str(endpoint) if endpoint else None
        # Runs once per provider process, inside the engine's dynamic-provider server.
        cancellation.listen()

    # --- helpers -------------------------------------------------------------------------

    def _connection(self, spec: TuningJobSpec) -> vertex.Connection:
        return vertex.Connection(spec.project, spec.location, self.api_endpoint)

    @staticmethod
    def _spec(props: Mapping[str, Any]) -> TuningJobSpec:
        return TuningJobSpec.model_validate({k: v for k, v in props.items() if k in TuningJobSpec.model_fields})

    @staticmethod
    def _outs(spec: TuningJobSpec, job: vertex.JobRecord) -> dict[str, Any]:
        return {**spec.model_dump(), **job.outputs.model_dump()}

    # --- check ---------------------------------------------------------------------------

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        inputs = {k: v for k, v in news.items() if not k.startswith("__")}
        unknown = frozenset(k for k, v in inputs.items() if _contains_unknown(v))
        failures = [CheckFailure(e.field, e.message) for e in spec_problems(inputs, unknown)]
        if failures or unknown:
            return CheckResult(inputs, failures)
        spec = TuningJobSpec.model_validate(inputs)
        warning = catalog.deprecation_warning(spec.base_model)
        if warning:
            _progress(f"warning: base_model: {warning}")
        if spec.validate_dataset:
            failures = self._dataset_failures(spec)
        if spec.existing_job_name:
            failures += self._adoption_failures(spec)
        if spec.evaluation_config and (problem := vertex.evaluation_config_problem(spec.evaluation_config)):
            failures.append(CheckFailure("evaluation_config", problem))
        if is_tuned_model(spec.base_model) and (spec.adapter_size or spec.kms_key_name):
            failures += self._continuous_tuning_failures(spec)
        # Normalised inputs: later diffs then compare like with like.
        return CheckResult(spec.model_dump(), failures)

    def _dataset_failures(self, spec: TuningJobSpec) -> list[CheckFailure]:
        from tuning_provider.dataset import DatasetKind, validate_dataset

        failures = []
        kinds: tuple[tuple[str, DatasetKind], ...] = (
            ("training_dataset_uri", "training"), ("validation_dataset_uri", "validation"),
        )
        for field, kind in kinds:
            uri = getattr(spec, field)
            if uri is None:
                continue
            if is_vertex_dataset(uri):
                _progress(f"note: {field} names a Vertex dataset, whose rows only Vertex reads: check "
                          "verifies its name and region, not its examples (Vertex counts them in tuning_data_stats)")
                continue
            try:
                report = validate_dataset(uri, kind=kind, base_model=spec.base_model,
                                          storage_endpoint=self.api_endpoint)
            except DatasetError as exc:
                failures.append(CheckFailure(field, exc.message))
                continue
            if not report.ok:
                failures.append(CheckFailure(field, report.summary()))
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
        _, project, _, location, *_ = spec.base_model.split("/")  # projects/P/locations/L/models/ID
        model_conn = vertex.Connection(project, location, self.api_endpoint)
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
        elif old_state in vertex.LIVE_STATES and not replaces:
            # Recorded while still running: an update waits for it and fills in the outputs.
            changes.append("state")
        return DiffResult(
            changes=bool(changes),
            replaces=replaces,
            # A running job is cancelled before its replacement starts: it would be paid for
            # in vain, and tuning quota is often one concurrent job.
            delete_before_replace=bool(replaces) and old_state in vertex.LIVE_STATES,
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
            _progress(f"adopted existing tuning job {job.name} ({job.state})")
        else:
            retry = vertex.RetryPolicy(
                attempts=40, max_elapsed=IAM_PROPAGATION_SECONDS, permission_grace=IAM_PROPAGATION_SECONDS
            )
            job, adopted = vertex.submit_or_adopt(conn, spec, retry)
            verb = "adopted" if adopted else "submitted"
            _progress(f"{verb} tuning job {job.name} ({job.state})")
        job = self._serving(conn, spec, job)
        return CreateResult(job.name, self._outs(spec, job))

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        # Only steering settings change in place: no API write. A job recorded while still
        # running (state written by an older version of this provider) is waited for here.
        spec = self._spec(news)
        conn = self._connection(spec)
        job = vertex.get_tuning_job(conn, id_)
        if job.live or olds.get("state") in vertex.LIVE_STATES:
            job = self._serving(conn, spec, job)
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
        if job.live:
            try:
                job = vertex.wait_for_tuning_job(
                    conn, job.name, timeout=spec.wait_timeout_seconds, poll_interval=spec.poll_interval_seconds,
                    sleep=cancellation.sleep,
                )
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
        if job.state != "SUCCEEDED":
            reason = (job.outputs.error or "Vertex gave no reason").rstrip(". ")
            raise JobFailed(job.name, job.state, f"{reason}. {keep[0].upper()}{keep[1:]}")
        problem = vertex.serving_problem(conn, job)
        if problem is not None:
            raise JobNotServing(job.name, job.state, f"{problem}. {keep[0].upper()}{keep[1:]}")
        return job

    # --- read ----------------------------------------------------------------------------

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        spec = self._spec(props)
        job = vertex.find_tuning_job(self._connection(spec), id_)
        if job is None:
            return ReadResult("", {})  # gone: Pulumi drops it from state
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
            _progress(f"cancelling tuning job {job.name} ({job.state})")
            if job.state != "CANCELLING":
                try:
                    vertex.cancel_tuning_job(conn, job.name)
                except InvalidRequest:
                    pass  # it ended between our read and the cancel: the wait below sees how
            # A raise here keeps the resource in state, so the job is never forgotten running.
            job = vertex.wait_for_tuning_job(
                conn, job.name, timeout=CANCEL_WAIT_SECONDS, poll_interval=spec.poll_interval_seconds,
                on_progress=_progress,
            )
        if job.state == "SUCCEEDED":
            for problem in vertex.delete_tuned_model(conn, job):
                _progress(f"warning: {problem}; remove it by hand or keep it")


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


def _progress(message: str) -> None:
    # Plain stderr: inside the provider process pulumi.log is not available.
    print(message, file=sys.stderr, flush=True)
