"""A TuningJob's lifecycle, once for both provider faces: check, diff, create, read, update,
delete, and import (read with only a job's name).

Every decision a verb makes lives here or below (checks, changes, serving, vertex); the two
faces only translate. `provider.TuningJobProvider` (the dynamic provider Python programs use)
turns these answers into `pulumi.dynamic` results; `plugin.server` (the provider plugin that
YAML, TypeScript and Go programs use) turns them into the ResourceProvider gRPC protocol, with
camelCase property names. Both hand in and get back plain dicts keyed by the spec's field names
(snake_case): the inputs (`TuningJobSpec`), and the outputs, which hold the inputs plus
`TuningJobOutputs`. `Setup` is what a face knows beyond a resource's properties: which face it
is, where Vertex is, and the seams tests and the plugin use (the day, the metric reader, the
sleep of a wait).

Two resources may serve one job: the same resource declared through both faces in one stack
(the same project/stack/name, so the same fingerprint: the second adopts the first's job rather
than pay for another), a TuningJob moved from a Python program to a YAML one (Pulumi creates
the new resource, which adopts the job, then deletes the old one), or a job named by two
`existing_job_name`s or imported twice. So every resource that serves a job's model records
it in Vertex, as a version alias of that model version of its own (`pulumi-held-` and a digest
of its face and resource_key), and a delete removes the model only when no other resource's
alias is left on it: the model is deleted by the last resource that serves it, never under
another one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, NamedTuple

from tuning_provider import engine_log
from tuning_provider.errors import ApiError, JobNotServing, SpecError
from tuning_provider.lazy import lazy_module
from tuning_provider.names import TuningJobName

if TYPE_CHECKING:
    from tuning_provider import cancellation, changes, checks, legacy_state, serving, spec, vertex
    from tuning_provider.spec import TuningJobSpec
else:
    # A Python program imports the dynamic face (to pickle it by reference), and so this module:
    # what the verbs need is imported on first use, keeping pydantic and google-genai out of it.
    cancellation, changes, checks, legacy_state, serving, spec, vertex = (
        lazy_module(f"tuning_provider.{name}")
        for name in ("cancellation", "changes", "checks", "legacy_state", "serving", "spec", "vertex")
    )

__all__ = ["Created", "Diff", "Setup", "check", "create", "delete", "diff", "imported", "read", "update"]

# Old job states that mean the job must run again: someone stopped it outside Pulumi.
_RERUN_STATES = frozenset({"CANCELLED", "EXPIRED"})


@dataclass(frozen=True)
class Setup:
    """What a face knows besides a resource's properties.

    `face`: the face's resource type token (a resource's identity in either face is its face
    and its resource_key). `api_endpoint`: where Vertex is (None: the real one, with Application Default
    Credentials). `today`: the day base models are judged deprecated or retired on (None: the
    real day). `read_metrics`: reads a job's metrics (None: vertex.read_metric_series).
    `sleep`: how a wait for a job sleeps; it raises cancellation.Cancelled when the face has
    heard Pulumi's Cancel (None: cancellation.sleep, which the dynamic face's hook sets)."""

    face: str
    api_endpoint: str | None = None
    storage_endpoint: str | None = None
    today: date | None = None
    read_metrics: serving.MetricReader | None = None
    sleep: Callable[[float], None] | None = None

    def connect(self, project: str, location: str) -> vertex.Connection:
        return vertex.connect(project, location, self.api_endpoint, storage_endpoint=self.storage_endpoint)

    def connection(self, inputs: TuningJobSpec) -> vertex.Connection:
        return self.connect(inputs.project, inputs.location)

    def metric_reader(self) -> serving.MetricReader:
        return self.read_metrics or vertex.read_metric_series

    def waits_with(self) -> Callable[[float], None]:
        return self.sleep or cancellation.sleep

    def holder_alias(self, inputs: TuningJobSpec) -> str:
        """The version alias by which this resource records, in Vertex, that it serves a model."""
        digest = hashlib.sha256(f"{self.face}\n{inputs.resource_key}".encode()).hexdigest()[:20]
        return f"{vertex.HOLDER_ALIAS_PREFIX}{digest}"


class Diff(NamedTuple):
    """What a change of inputs does: the properties that differ (inputs, and the outputs
    `state` and the serving ones when refresh found the job stopped or its model gone), those
    of them that need a new job, and whether the old resource goes before its replacement."""

    changed: tuple[str, ...]
    replacing: tuple[str, ...]
    delete_before_replace: bool


class Created(NamedTuple):
    """A resource as a face records it: its id (the job's resource name) and its outputs."""

    id: str
    outputs: dict[str, Any]


def check(setup: Setup, olds: Mapping[str, Any], news: Mapping[str, Any]) -> checks.Checked:
    """The inputs judged (checks.check_inputs): the normalised inputs and (field, reason) problems."""
    return checks.check_inputs(olds, news, connect=setup.connect, today=setup.today)


def diff(olds: Mapping[str, Any], news: Mapping[str, Any]) -> Diff:
    """What changing the recorded outputs `olds` (they hold the old inputs) to the inputs
    `news` does, beyond the inputs' own markers (changes.input_changes)."""
    change = changes.input_changes(olds, news)
    changed, replacing = list(change.changed), list(change.replacing)
    if "existing_job_name" in changed and news.get("existing_job_name") == olds.get("name"):
        # Naming the job this resource already holds adopts nothing new; a replace would
        # delete the serving model that the "new" resource stands on.
        changed.remove("existing_job_name")
        replacing.remove("existing_job_name")
    old_state = olds.get("state")
    gone = [field for field in spec.serving_outputs() if not olds.get(field)]
    if old_state == "SUCCEEDED" and gone:
        # Refresh found the tuned model or endpoint deleted outside Pulumi: run it again.
        changed += gone
        replacing += gone
    elif old_state in _RERUN_STATES:
        # Stopped outside Pulumi (seen by refresh): the job must run again.
        changed.append("state")
        replacing.append("state")
    elif legacy_state.recorded_live(olds) and not replacing:
        # Recorded while still running (legacy_state): an update waits for it.
        changed.append("state")
    # A running job is cancelled before its replacement starts: it would be paid for in vain,
    # and tuning quota is often one concurrent job.
    return Diff(tuple(changed), tuple(replacing), bool(replacing) and legacy_state.recorded_live(olds))


def create(setup: Setup, inputs: Mapping[str, Any]) -> Created:
    """Submit the job (or adopt the one with these inputs' fingerprint) and return once its
    tuned model serves; every other ending raises and records nothing (serving.until_serving)."""
    job_spec = changes.spec_of(inputs)
    conn = setup.connection(job_spec)
    job = serving.until_serving(conn, job_spec, serving.start(conn, job_spec), setup.metric_reader(),
                                sleep=setup.waits_with())
    _hold(setup, conn, job_spec, job)
    return Created(job.name, _outputs(job_spec, job))


def update(setup: Setup, id_: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> dict[str, Any]:
    """The outputs after an in-place change: only steering settings change in place, with no
    API write. A job recorded while still running (legacy_state) is waited for here."""
    job_spec = changes.spec_of(news)
    conn = setup.connection(job_spec)
    job = vertex.get_tuning_job(conn, id_)
    if job.live or legacy_state.recorded_live(olds):
        job = serving.until_serving(conn, job_spec, job, setup.metric_reader(), sleep=setup.waits_with())
    else:
        job, _ = serving.measured(conn, job_spec, job, setup.metric_reader())
        moved = job.outputs.tuned_model_endpoint != olds.get("tuned_model_endpoint")
        problem = vertex.serving_problem(conn, job) if moved and job.state == "SUCCEEDED" else None
        if problem is not None:  # serve_checkpoint changed: the new endpoint must answer first
            raise JobNotServing(job.name, job.state, f"{problem}; the stack keeps serving the endpoint it had")
    # The quality gate judges a model before it first serves; thresholds changed later do
    # not take a serving model away.
    _hold(setup, conn, job_spec, job)
    return _outputs(job_spec, job)


def read(setup: Setup, id_: str, props: Mapping[str, Any]) -> Created | None:
    """What Vertex says of the job now (refresh), or None when it is gone."""
    job_spec = changes.spec_of(props)
    conn = setup.connection(job_spec)
    job = vertex.find_tuning_job(conn, id_)
    return None if job is None else _as_read(setup, conn, job_spec, job)


def imported(setup: Setup, id_: str, resource_key: str) -> tuple[dict[str, Any], Created]:
    """A job made elsewhere, read with only its name, as `pulumi import` reads it: the inputs
    it was created with (steering inputs at their defaults, the fingerprint label left out) and
    the resource as a face records it. Nothing is submitted. Raises SpecError naming the form
    of a job's name when `id_` is not one, NotFound when there is no such job."""
    name = TuningJobName.parse(id_)
    if name is None:
        raise SpecError.at("id", f"{id_!r} is not a tuning job's resource name: import a job by its full name, "
                           "projects/PROJECT/locations/REGION/tuningJobs/ID", id_)
    conn = setup.connect(name.project, name.location)
    job = vertex.get_tuning_job(conn, str(name))
    inputs = {
        **spec.inputs_of_vertex_settings(vertex.creation_settings(job)),
        "project": name.project,
        "location": name.location,
        "resource_key": resource_key,
    }
    job_spec = changes.spec_of(inputs)
    _hold(setup, conn, job_spec, job)
    # Where the job is stays written out, so a face's default project or location never moves it.
    written = {**job_spec.model_dump(exclude_defaults=True), "project": name.project, "location": name.location}
    return written, _as_read(setup, conn, job_spec, job)


def _as_read(setup: Setup, conn: vertex.Connection, job_spec: TuningJobSpec, job: vertex.JobRecord) -> Created:
    """A found job, measured. A succeeded job whose model or endpoint was deleted outside
    Pulumi reads with its serving outputs empty and a reason in `error`: drift, which diff
    turns into a replacement on the next `pulumi up`."""
    job, _ = serving.measured(conn, job_spec, job, setup.metric_reader())
    outs = _outputs(job_spec, job)
    problem = vertex.serving_problem(conn, job) if job.state == "SUCCEEDED" else None
    if problem is not None:
        outs.update(dict.fromkeys(spec.serving_outputs()),
                    error=f"{problem} outside Pulumi; the next `pulumi up` runs the job again")
    return Created(job.name, outs)


def delete(setup: Setup, id_: str, props: Mapping[str, Any]) -> None:
    """Cancel a running job and wait for it to stop; remove what a succeeded one serves, unless
    another resource serves it too (its version alias stays). A job already gone is done. A
    raise keeps the resource in state."""
    job_spec = changes.spec_of(props)
    conn = setup.connection(job_spec)
    retry = vertex.outage_tolerant(job_spec.api_outage_tolerance_seconds,
                                   lambda line: engine_log.progress(job_spec.resource_key, line))
    job = vertex.find_tuning_job(conn, id_, retry)
    if job is not None and job.state == "SUCCEEDED":
        others = vertex.release_tuned_model(conn, job, setup.holder_alias(job_spec), retry)
        if others:
            engine_log.progress(job_spec.resource_key, (
                f"kept tuned model {job.outputs.tuned_model_name} and its endpoints: {len(others)} other TuningJob "
                f"resource(s) serve it (its version aliases {', '.join(others)}); the last one deleted removes it"))
            return
    if job is not None:
        serving.withdraw(conn, job_spec, id_)


def _hold(setup: Setup, conn: vertex.Connection, job_spec: TuningJobSpec, job: vertex.JobRecord) -> None:
    """Record that this resource serves the job's model (a version alias of its own on it)."""
    if job.state != "SUCCEEDED":
        return
    try:
        vertex.hold_tuned_model(conn, job, setup.holder_alias(job_spec))
    except ApiError as exc:
        # The model serves: the up stands. Only a second resource serving the same job relies on
        # the record, and without it that resource's delete would take the model along.
        engine_log.progress(job_spec.resource_key, (
            f"could not record on tuned model {job.outputs.tuned_model_name} that this resource serves it "
            f"({exc.message}); another TuningJob serving the same job would delete it with itself"), warning=True)


def _outputs(job_spec: TuningJobSpec, job: vertex.JobRecord) -> dict[str, Any]:
    return {**job_spec.model_dump(), **job.outputs.model_dump()}
