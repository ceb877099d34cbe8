"""The TuningJob dynamic provider: check, diff, create, read, update, delete.

Thin on purpose: each verb maps Pulumi's request to the module that does the work and its
answer back to Pulumi's result: `checks` judges inputs (the spec, the data, the cost),
`changes` says what a change of inputs does, `serving` runs a job until its model serves and
withdraws it on delete, `vertex` reaches Vertex. The instance holds plain data only (the API
and Cloud Storage endpoints read in `configure`, from which `connection.connect` builds each
verb's Connection), so it pickles by reference into a few hundred bytes with no client and no
credential in Pulumi's state.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

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

from tuning_provider import cancellation, engine_log, pulumi_internals
from tuning_provider.connection import Connection, connect
from tuning_provider.engine_log import RESOURCE_TYPE, resource_urn
from tuning_provider.errors import JobNotServing
from tuning_provider.lazy import lazy_module

if TYPE_CHECKING:
    from tuning_provider import changes as _changes
    from tuning_provider import checks as _checks
    from tuning_provider import legacy_state, serving, vertex
    from tuning_provider import spec as _spec
    from tuning_provider.spec import TuningJobSpec
else:
    # The program that declares a TuningJob imports this module to pickle the provider by
    # reference; only the provider process runs the verbs. Importing what they need on first
    # use keeps the spec, pydantic and google-genai out of every program's start-up.
    _changes, _checks, legacy_state, serving, _spec, vertex = (
        lazy_module(f"tuning_provider.{name}")
        for name in ("changes", "checks", "legacy_state", "serving", "spec", "vertex")
    )

__all__ = ["API_ENDPOINT_KEY", "RESOURCE_TYPE", "STORAGE_ENDPOINT_KEY", "TuningJobProvider", "resource_urn"]

# Stack config key naming the Vertex API base URL (the local stack points it at the emulator).
API_ENDPOINT_KEY = "tuning:apiEndpoint"
# Stack config key naming the Cloud Storage base URL check reads gs:// data from (connection.py).
STORAGE_ENDPOINT_KEY = "tuning:storageEndpoint"
# Old job states that mean the job must run again: someone stopped it outside Pulumi.
_RERUN_STATES = frozenset({"CANCELLED", "EXPIRED"})


class TuningJobProvider(ResourceProvider):
    """Runs one Vertex AI supervised tuning job per resource."""

    # Nothing secret is ever on the instance; a readable `__provider` makes state reviewable.
    serialize_as_secret_always = False

    def __init__(self, *, today: date | None = None, read_metric_series: serving.MetricReader | None = None) -> None:
        """`today` is the day base models are judged deprecated or retired on, and
        `read_metric_series` reads a job's metrics; both None (the real day, the real read) but
        in tests, so that what Pulumi pickles stays plain data."""
        super().__init__()
        self.api_endpoint: str | None = None
        self.storage_endpoint: str | None = None
        self.today = today
        self.metric_reader = read_metric_series

    def configure(self, req: ConfigureRequest) -> None:
        endpoint, storage = req.config.get(API_ENDPOINT_KEY), req.config.get(STORAGE_ENDPOINT_KEY)
        self.api_endpoint = str(endpoint) if endpoint else None
        self.storage_endpoint = str(storage) if storage else None
        # Runs once per provider process, inside the engine's dynamic-provider server: Ctrl-C
        # reaches the waits, and the verbs that wait on a job run on a wide pool.
        hooks = pulumi_internals.hook_provider_server(on_cancel=cancellation.REQUESTED.set)
        if hooks.note:
            engine_log.log(hooks.note)

    def _connect(self, project: str, location: str) -> Connection:
        return connect(project, location, self.api_endpoint, storage_endpoint=self.storage_endpoint)

    def _connection(self, spec: TuningJobSpec) -> Connection:
        return self._connect(spec.project, spec.location)

    def _read_metrics(self) -> serving.MetricReader:
        return self.metric_reader or vertex.read_metric_series

    @staticmethod
    def _outs(spec: TuningJobSpec, job: vertex.JobRecord) -> dict[str, Any]:
        return {**spec.model_dump(), **job.outputs.model_dump()}

    # --- check ---------------------------------------------------------------------------

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        checked = _checks.check_inputs(olds, news, connect=self._connect, today=self.today)
        return CheckResult(checked.inputs, [CheckFailure(field, reason) for field, reason in checked.problems])

    # --- diff ----------------------------------------------------------------------------

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        change = _changes.input_changes(olds, news)
        changes, replaces = list(change.changed), list(change.replacing)
        if "existing_job_name" in changes and news.get("existing_job_name") == olds.get("name"):
            # Naming the job this resource already holds adopts nothing new; a replace would
            # delete the serving model that the "new" resource stands on.
            changes.remove("existing_job_name")
            replaces.remove("existing_job_name")
        old_state = olds.get("state")
        gone = [field for field in _spec.serving_outputs() if not olds.get(field)]
        if old_state == "SUCCEEDED" and gone:
            # Refresh found the tuned model or endpoint deleted outside Pulumi: run it again.
            changes += gone
            replaces += gone
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
        spec = _changes.spec_of(props)
        conn = self._connection(spec)
        job = serving.until_serving(conn, spec, serving.start(conn, spec), self._read_metrics())
        return CreateResult(job.name, self._outs(spec, job))

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        # Only steering settings change in place: no API write. A job recorded while still
        # running (legacy_state: written by a version before 2026-11-30) is waited for here.
        spec = _changes.spec_of(news)
        conn = self._connection(spec)
        job = vertex.get_tuning_job(conn, id_)
        if job.live or legacy_state.recorded_live(olds):
            job = serving.until_serving(conn, spec, job, self._read_metrics())
        else:
            job, _ = serving.measured(conn, spec, job, self._read_metrics())
            moved = job.outputs.tuned_model_endpoint != olds.get("tuned_model_endpoint")
            problem = vertex.serving_problem(conn, job) if moved and job.state == "SUCCEEDED" else None
            if problem is not None:  # serve_checkpoint changed: the new endpoint must answer first
                raise JobNotServing(job.name, job.state, f"{problem}; the stack keeps serving the endpoint it had")
        # The quality gate judges a model before it first serves; thresholds changed later do
        # not take a serving model away.
        return UpdateResult(self._outs(spec, job))

    # --- read ----------------------------------------------------------------------------

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        spec = _changes.spec_of(props)
        conn = self._connection(spec)
        job = vertex.find_tuning_job(conn, id_)
        if job is None:
            return ReadResult("", {})  # gone: Pulumi drops it from state
        job, _ = serving.measured(conn, spec, job, self._read_metrics())
        outs = self._outs(spec, job)
        problem = vertex.serving_problem(conn, job) if job.state == "SUCCEEDED" else None
        if problem is not None:
            # Shown by `pulumi refresh` as drift; diff then replaces the job on the next `up`.
            outs.update(dict.fromkeys(_spec.serving_outputs()),
                        error=f"{problem} outside Pulumi; the next `pulumi up` runs the job again")
        return ReadResult(id_, outs)

    # --- delete --------------------------------------------------------------------------

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        spec = _changes.spec_of(props)
        serving.withdraw(self._connection(spec), spec, id_)
