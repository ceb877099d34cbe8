"""Tuning jobs (GenAiTuningService): create, get, list, cancel.

How a job's life is decided (at create, then only read from the clock):
- create checks the request and answers 400 INVALID_ARGUMENT for what Vertex rejects up
  front (unknown base model, region, bad gs:// URI, labels, display name, epochs...);
- it then decides the outcome at once and stores it with the job's timeline: the job fails
  (error code 3) if the adapter size does not suit the base model, a dataset file or Vertex
  dataset is missing or unreadable, or a dataset is invalid (the message names the line, or
  the row of a multimodal dataset's table); otherwise it will succeed and the ids of its
  tuned model, endpoints and checkpoints are picked now;
- continuous tuning (`preTunedModel`) without a tuned model display name, or with the display
  name of the model it starts from, makes the next version of that model, as Vertex documents
  ("by default, the new model version is created under the same parent model; if you provide a
  new tuned model display name, a new model is created"); the version number is given when the
  job succeeds (`model_registry.add_tuned`), one more than the model's last;
- the state is then read from the job's `timeline.Timeline` and the clock, so a restarted
  emulator continues every job where it was (each job keeps the duration it was created with).

The checks and decisions of create live in `job_creation`; this module stores jobs and writes
them as Vertex does.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tuning_provider.emulator.formats import rfc3339
from tuning_provider.emulator.gcs import GcsStore
from tuning_provider.emulator.paging import ListRequest, paginate
from tuning_provider.emulator.vertex import responder
from tuning_provider.emulator.vertex.filters import Field, parse_filter
from tuning_provider.emulator.vertex.job_creation import (
    BATCH_SIZE,
    DEFAULT_EPOCH_COUNT,
    DatasetValidator,
    JobCreation,
    TunedModelLookup,
    TunedSource,
    VertexDatasetReader,
)
from tuning_provider.emulator.vertex.store import Store, split_name
from tuning_provider.emulator.vertex.timeline import CANCELLED, FAILED, SUCCEEDED, TERMINAL_STATES, Timeline
from tuning_provider.errors import InvalidRequest, NotFound

__all__ = [
    "BATCH_SIZE",
    "DEFAULT_EPOCH_COUNT",
    "FIRST_MODEL_VERSION",
    "DatasetValidator",
    "StoredJob",
    "TunedSource",
    "TuningJobs",
    "experiment_id",
    "failed_precondition",
]

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100
# google.rpc.Code values Vertex puts in a job's `error`.
_RPC_CANCELLED = 1
_RPC_INVALID_ARGUMENT = 3

# What a list filter takes: labels, and the job's state.
_FILTER_FIELDS = {"state": Field("state", values=re.compile(r"JOB_STATE_[A-Z_]+"))}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tuning_jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,  -- creation order, for listing and page tokens
    parent TEXT NOT NULL,                   -- projects/P/locations/L
    id TEXT NOT NULL,
    create_time REAL NOT NULL,
    duration REAL NOT NULL,                 -- the job's own, kept across restarts
    request TEXT NOT NULL,                  -- the inputs echoed back (JSON)
    failure TEXT,                           -- Vertex's error message if the job is to fail
    cancel_time REAL,
    stats TEXT,                             -- supervisedTuningDataStats (JSON)
    plan TEXT NOT NULL,                     -- ids of the model, endpoints and checkpoints (JSON)
    examples TEXT NOT NULL,                 -- [[prompt, answer], ...] the endpoints answer from
    materialized INTEGER NOT NULL DEFAULT 0,
    UNIQUE (parent, id)
);
"""


# How long a new job runs (create to SUCCEEDED), in seconds: one figure for every job, or a
# function asked once per job (a benchmark spreads jobs' ends over a poll interval).
JobDuration = float | Callable[[], float]


def _check_duration(seconds: float) -> None:
    if not seconds > 0:
        raise ValueError(f"job_duration must be more than 0 seconds, not {seconds}")


def failed_precondition(message: str) -> InvalidRequest:
    """400 FAILED_PRECONDITION: the request is fine but the resource is in the wrong state."""
    return InvalidRequest(message, code="FAILED_PRECONDITION")


def experiment_id(job_id: str) -> str:
    """The id of a job's experiment context (and of its TensorBoard experiment)."""
    return f"tuning-experiment-{job_id}"


@dataclass(frozen=True)
class StoredJob:
    """A stored job, parsed: what the other resource modules read about it."""

    parent: str
    id: str
    seq: int  # creation order
    timeline: Timeline
    request: dict[str, Any]
    stats: dict[str, Any] | None
    plan: dict[str, Any]
    examples: list[responder.Example]

    @property
    def name(self) -> str:
        return f"{self.parent}/tuningJobs/{self.id}"

    @property
    def total_steps(self) -> int:
        return int(self.stats["tuningStepCount"]) if self.stats else 0

    @property
    def epochs(self) -> int:
        # Jobs stored before plans held "epochs" still have the epochCount they were sent.
        sent = self.request.get("supervisedTuningSpec", {}).get("hyperParameters", {}).get("epochCount")
        return int(self.plan.get("epochs") or sent or DEFAULT_EPOCH_COUNT)

    @property
    def steps_per_epoch(self) -> int:
        return max(1, self.total_steps // max(self.epochs, 1))

    def started(self, now: float) -> bool:
        """Whether the job got as far as starting by `now` (a cancel while PENDING stops it)."""
        t = self.timeline
        cancelled_early = t.cancel_time is not None and t.cancel_time < t.start_time
        return now >= t.start_time and not cancelled_early

    def has_experiment(self, now: float) -> bool:
        """Whether the job has trained (or is training) by `now`: only then has it an
        experiment with metrics. A failure shows as the job starts, before any step."""
        return self.started(now) and not self.timeline.fails


class TuningJobs:
    """The tuning_jobs table and the operations of GenAiTuningService."""

    def __init__(
        self,
        store: Store,
        gcs: GcsStore,
        *,
        job_duration: JobDuration,
        validate_dataset: DatasetValidator | None = None,
        tuned_model: TunedModelLookup | None = None,
        vertex_dataset: VertexDatasetReader | None = None,
        list_lag: float = 0.0,
    ) -> None:
        if not callable(job_duration):
            _check_duration(job_duration)
        store.declare(_SCHEMA)
        self._store = store
        self._job_duration = job_duration
        self._list_lag = list_lag
        self._creation = JobCreation(
            store, gcs, validate_dataset=validate_dataset, tuned_model=tuned_model, vertex_dataset=vertex_dataset
        )

    # --- the API operations ----------------------------------------------------------------

    def create_tuning_job(self, parent: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST {parent}/tuningJobs: check, decide the outcome, store, answer the new job."""
        request = self._creation.check(parent, body)
        failure, stats, examples, validation = self._creation.decide_outcome(request)
        now = self._store.clock()
        job_id = self._store.new_id()
        plan = {} if failure else self._creation.plan_outputs(request, stats, validation)
        duration = self._job_duration() if callable(self._job_duration) else self._job_duration
        _check_duration(duration)
        with self._store.lock:
            self._store.execute(
                "INSERT INTO tuning_jobs (parent, id, create_time, duration, request, failure, stats,"
                " plan, examples) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (parent, job_id, now, duration, json.dumps(request.echo), failure,
                 json.dumps(stats) if stats else None, json.dumps(plan),
                 json.dumps([[e.prompt, e.answer] for e in examples])),
            )
            row = self._row(parent, job_id)
        return self._json(row, now)

    def get_tuning_job(self, name: str) -> dict[str, Any]:
        parent, job_id = split_name(name, "tuningJobs")
        return self._json(self._row(parent, job_id), self._store.clock())

    def list_tuning_jobs(self, request: ListRequest) -> dict[str, Any]:
        """GET {parent}/tuningJobs: newest first; the filter on labels and state, joined by AND;
        a filtered list leaves out the jobs created less than the list lag ago."""
        matches = parse_filter(request.filter, _FILTER_FIELDS, labels=True,
                               understands='labels.KEY="VALUE", labels.KEY:* and state="JOB_STATE_..."')
        now = self._store.clock()
        # Vertex's filtered lists are read from an index that can lag behind a create: with a
        # list lag, a new job shows in one only that long after it was created.
        rows = self._store.all("SELECT * FROM tuning_jobs WHERE parent = ?", (request.parent,))
        if request.filter and self._list_lag:
            rows = [row for row in rows if row["create_time"] <= now - self._list_lag]
        page = paginate((((-row["seq"],), self._json(row, now)) for row in rows), request.page,
                        default_size=DEFAULT_PAGE_SIZE, max_size=MAX_PAGE_SIZE, keep=matches)
        return page.answer("tuningJobs")

    def cancel_tuning_job(self, name: str) -> dict[str, Any]:
        """POST {name}:cancel: a live job ends CANCELLED now; a finished one cannot be."""
        parent, job_id = split_name(name, "tuningJobs")
        with self._store.lock:
            row = self._row(parent, job_id)
            now = self._store.clock()
            state = _timeline(row).state_at(now)
            if state in TERMINAL_STATES:
                raise failed_precondition(
                    f"Cannot cancel tuning job {name}: it is in state {state}, and only a job "
                    "that is JOB_STATE_QUEUED, JOB_STATE_PENDING or JOB_STATE_RUNNING can be cancelled."
                )
            self._store.execute("UPDATE tuning_jobs SET cancel_time = ? WHERE seq = ?", (now, row["seq"]))
        return {}

    # --- what other resources read ----------------------------------------------------------

    def now(self) -> float:
        """The clock job states are read from."""
        return self._store.clock()

    def stored_job(self, parent: str, job_id: str) -> StoredJob:
        """The stored job `parent/tuningJobs/job_id`; NotFound if there is none."""
        return _stored_job(self._row(parent, job_id))

    def stored_job_of_experiment(self, parent: str, experiment: str) -> StoredJob | None:
        """The job whose experiment context id is `experiment`, if it has started."""
        prefix = experiment_id("")
        if not experiment.startswith(prefix):
            return None
        row = self._store.one(
            "SELECT * FROM tuning_jobs WHERE parent = ? AND id = ?", (parent, experiment[len(prefix):])
        )
        record = _stored_job(row) if row is not None else None
        return record if record is not None and record.has_experiment(self._store.clock()) else None

    def started_jobs(self, parent: str) -> list[StoredJob]:
        """Every job of `parent` that has an experiment, oldest first."""
        now = self._store.clock()
        rows = self._store.all("SELECT * FROM tuning_jobs WHERE parent = ? ORDER BY seq", (parent,))
        return [record for record in map(_stored_job, rows) if record.has_experiment(now)]

    def due_outputs(self) -> list[StoredJob]:
        """Jobs that have reached SUCCEEDED and whose model and endpoints are not written yet."""
        now = self._store.clock()
        rows = self._store.all(
            "SELECT * FROM tuning_jobs WHERE materialized = 0 AND failure IS NULL AND cancel_time IS NULL"
            " AND create_time + duration <= ?", (now,),
        )
        return [_stored_job(r) for r in rows]

    def mark_outputs_written(self, record: StoredJob, version: str) -> None:
        """Record that the job's outputs exist, its model as version `version`."""
        plan = json.dumps({**record.plan, "version": version})
        self._store.execute(
            "UPDATE tuning_jobs SET materialized = 1, plan = ? WHERE parent = ? AND id = ?",
            (plan, record.parent, record.id),
        )

    # --- rows and their JSON ---------------------------------------------------------------

    def _row(self, parent: str, job_id: str) -> sqlite3.Row:
        row = self._store.one("SELECT * FROM tuning_jobs WHERE parent = ? AND id = ?", (parent, job_id))
        if row is None:
            raise NotFound(f"TuningJob {parent}/tuningJobs/{job_id} does not exist.")
        return row

    def _json(self, row: sqlite3.Row, now: float) -> dict[str, Any]:
        record = _stored_job(row)
        parent, timeline = record.parent, record.timeline
        state = timeline.state_at(now)
        job: dict[str, Any] = {"name": record.name, **record.request}
        job["state"] = state
        job["createTime"] = rfc3339(timeline.create_time)
        changed = timeline.create_time
        if record.started(now):
            job["startTime"] = rfc3339(timeline.start_time)
            changed = timeline.start_time
        if record.has_experiment(now):
            job["experiment"] = f"{parent}/metadataStores/default/contexts/{experiment_id(record.id)}"
            if record.stats:
                # Jobs stored by older emulators hold a zero count, which proto3 JSON leaves out.
                counts = {name: count for name, count in record.stats.items() if count != "0"}
                job["tuningDataStats"] = {"supervisedTuningDataStats": counts}
            steps = timeline.steps_done(now, record.total_steps)
            job["tuningJobMetadata"] = {"completedEpochCount": str(steps // record.steps_per_epoch)}
        if detail := timeline.detail_state(now, record.total_steps):
            job["tuningJobState"] = detail
        end = timeline.end_time(now)
        if end is not None:
            job["endTime"] = rfc3339(end)
            changed = end
        job["updateTime"] = rfc3339(changed)
        if state == FAILED:
            job["error"] = {"code": _RPC_INVALID_ARGUMENT, "message": row["failure"]}
        elif state == CANCELLED:
            job["error"] = {"code": _RPC_CANCELLED, "message": "CANCELED"}
        elif state == SUCCEEDED:
            job["tunedModel"] = _tuned_model_json(parent, record.plan)
            if record.plan.get("evaluationOutput"):
                job["evaluateDatasetRuns"] = [_evaluation_run_json(parent, record)]
        return job


# --- helpers ----------------------------------------------------------------------------

# Tuning from a base model makes version 1 of a new model (as do jobs stored before versions).
FIRST_MODEL_VERSION = "1"


def _timeline(row: sqlite3.Row) -> Timeline:
    return Timeline(
        create_time=row["create_time"],
        duration=row["duration"],
        fails=row["failure"] is not None,
        cancel_time=row["cancel_time"],
    )


def _stored_job(row: sqlite3.Row) -> StoredJob:
    return StoredJob(
        parent=row["parent"],
        id=row["id"],
        seq=row["seq"],
        timeline=_timeline(row),
        request=json.loads(row["request"]),
        stats=json.loads(row["stats"]) if row["stats"] else None,
        plan=json.loads(row["plan"]),
        examples=[responder.Example(p, a) for p, a in json.loads(row["examples"])],
    )


def _tuned_model_json(parent: str, plan: dict[str, Any]) -> dict[str, Any]:
    checkpoints = [
        {"checkpointId": c["checkpointId"], "epoch": c["epoch"], "step": c["step"],
         "endpoint": f"{parent}/endpoints/{c['endpointId']}"}
        for c in plan["checkpoints"]
    ]
    return {
        "model": f"{parent}/models/{plan['model']}@{plan.get('version', FIRST_MODEL_VERSION)}",
        "endpoint": checkpoints[-1]["endpoint"],
        "checkpoints": checkpoints,
    }


def _evaluation_run_json(parent: str, record: StoredJob) -> dict[str, Any]:
    """The evaluation Vertex runs on the final checkpoint once the job has tuned. The layout
    of its output directory under the prefix is the emulator's own (Vertex's is unconfirmed)."""
    checkpoint = record.plan["checkpoints"][-1]["checkpointId"]
    prefix = record.plan["evaluationOutput"].rstrip("/")
    return {
        "operationName": f"{parent}/operations/evaluation-{record.id}",
        "checkpointId": checkpoint,
        "evaluateDatasetResponse": {
            "outputInfo": {"gcsOutputDirectory": f"{prefix}/tuning-job-{record.id}/checkpoint-{checkpoint}"}
        },
    }


