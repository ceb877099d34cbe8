"""The emulator's backend: what Vertex AI and Cloud Storage would hold, with methods named
after the API operations they serve. Methods take plain values (request JSON already in
camelCase), return the resource JSON as Google sends it, and raise the project's typed
errors (`tuning_provider.errors`), which app.py turns into Google's error body.

Two stores:
- `VertexState`: tuning jobs, tuned models and endpoints in SQLite (thread-safe; one
  connection behind a lock, since the HTTP server is threaded).
- `GcsStore` (gcs.py): buckets as folders; the Vertex side reads datasets through it.

How a job's life is decided (at create, then only read from the clock):
- create checks the request and answers 400 INVALID_ARGUMENT for what Vertex rejects up
  front (unknown base model, region, bad gs:// URI, labels, display name, epochs...);
- it then decides the outcome at once and stores it with the job's timeline: the job fails
  (error code 3) if the adapter size does not suit the base model, a dataset file is missing
  or a dataset is invalid (the message names the line); otherwise it will succeed and the
  ids of its tuned model, endpoints and checkpoints are picked now;
- the state is derived from the stored timeline and the clock, never advanced by a worker:
  JOB_STATE_PENDING for the first PENDING_FRACTION of the job's duration, then
  JOB_STATE_RUNNING until create time + duration, then JOB_STATE_SUCCEEDED. A failing job
  shows its failure when it would have started running (the end of PENDING). A cancelled
  job is JOB_STATE_CANCELLED from the moment of the cancel. Each job keeps the duration it
  was created with, so a restarted emulator continues every timeline where it was;
- the tuned model and its endpoints come into existence when the job's timeline reaches
  SUCCEEDED: they are written lazily, by the first call that looks, from the ids stored at
  create, so they are the same whoever looks first and persist from then on.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import json
import math
import random
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tuning_provider import catalog
from tuning_provider.dataset import DatasetKind, DatasetReport
from tuning_provider.dataset import validate_dataset as validate_dataset_file
from tuning_provider.emulator import responder
from tuning_provider.emulator.formats import GCS_URI, decode_page_token, encode_page_token, rfc3339
from tuning_provider.emulator.gcs import GcsStore, MediaFile
from tuning_provider.errors import InvalidRequest, NotFound, TuningError

__all__ = [
    "BATCH_SIZE",
    "DEFAULT_EPOCH_COUNT",
    "PENDING_FRACTION",
    "TERMINAL_STATES",
    "Clock",
    "DatasetValidator",
    "GcsStore",
    "MediaFile",
    "Timeline",
    "VertexState",
    "failed_precondition",
    "rfc3339",
]

Clock = Callable[[], float]

# Job states as Vertex spells them in JSON.
PENDING = "JOB_STATE_PENDING"
RUNNING = "JOB_STATE_RUNNING"
SUCCEEDED = "JOB_STATE_SUCCEEDED"
FAILED = "JOB_STATE_FAILED"
CANCELLED = "JOB_STATE_CANCELLED"
TERMINAL_STATES = frozenset({SUCCEEDED, FAILED, CANCELLED, "JOB_STATE_EXPIRED"})

# The share of a job's duration spent PENDING before it runs (and before a failure shows).
PENDING_FRACTION = 0.1
# Epochs when the request leaves epochCount unset (Vertex picks by dataset size; the
# emulator always picks this). The echoed hyperParameters stay as sent.
DEFAULT_EPOCH_COUNT = 3
# Examples per tuning step: tuningStepCount = ceil(examples / BATCH_SIZE) * epochs.
BATCH_SIZE = 8
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100
MAX_LABELS = 64
MAX_DISPLAY_NAME_CHARS = 128
# google.rpc.Code values Vertex puts in a job's `error`.
_RPC_CANCELLED = 1
_RPC_INVALID_ARGUMENT = 3

# The REST contract of a create request: the TuningJob fields a client may set. Output-only
# fields are ignored when sent, as Vertex does; any other name is rejected.
_CREATE_FIELDS = frozenset(
    {"baseModel", "supervisedTuningSpec", "tunedModelDisplayName", "description", "labels",
     "encryptionSpec", "serviceAccount", "outputUri"}
)
# TuningJob fields of the kinds of tuning the emulator does not imitate.
_UNSUPPORTED_FIELDS = frozenset(
    {"preTunedModel", "customBaseModel", "preferenceOptimizationSpec", "distillationSpec",
     "reinforcementTuningSpec", "fullFineTuningSpec", "veoTuningSpec", "veoLoraTuningSpec",
     "partnerModelTuningSpec"}
)
_OUTPUT_ONLY_FIELDS = frozenset(
    {"name", "state", "createTime", "startTime", "endTime", "updateTime", "error", "tunedModel",
     "tuningDataStats", "experiment"}
)
_SPEC_FIELDS = frozenset(
    {"trainingDatasetUri", "validationDatasetUri", "hyperParameters", "exportLastCheckpointOnly",
     "tuningMode", "evaluationConfig"}
)
_HYPER_PARAMETER_FIELDS = frozenset(
    {"epochCount", "learningRateMultiplier", "adapterSize", "batchSize", "learningRate"}
)

_LABEL_KEY = re.compile(r"[a-z][a-z0-9_-]{0,62}")
_LABEL_VALUE = re.compile(r"[a-z0-9_-]{0,63}")
_KMS_KEY = re.compile(r"projects/[^/]+/locations/(?P<location>[^/]+)/keyRings/[^/]+/cryptoKeys/[^/]+")
_FILTER_AND = re.compile(r"\s+AND\s+")
_FILTER_LABEL = re.compile(
    r'labels\.(?P<key>[a-z][a-z0-9_-]*)\s*(?P<op>!=|=)\s*(?:"(?P<quoted>[^"]*)"|(?P<bare>[^\s"]*))'
)
_FILTER_HAS_LABEL = re.compile(r"labels\.(?P<key>[a-z][a-z0-9_-]*)\s*:\s*\*")
_FILTER_STATE = re.compile(r'state\s*(?P<op>!=|=)\s*"?(?P<state>JOB_STATE_[A-Z_]+)"?')


def failed_precondition(message: str) -> InvalidRequest:
    """400 FAILED_PRECONDITION: the request is fine but the resource is in the wrong state."""
    return InvalidRequest(message, code="FAILED_PRECONDITION")


# The project's one dataset validator, `tuning_provider.dataset.validate_dataset`, unless a
# test injects another with its signature.
DatasetValidator = Callable[..., DatasetReport]


# --- Vertex AI: tuning jobs, tuned models, endpoints -----------------------------------------


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


@dataclass(frozen=True)
class _JobRequest:
    """A create request after the up-front checks."""

    echo: dict[str, Any]  # the inputs as the job shows them back
    base_model: str  # bare id
    training_uri: str
    validation_uri: str | None
    epochs: int
    adapter_size: str | None
    export_last_checkpoint_only: bool


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
CREATE TABLE IF NOT EXISTS models (
    parent TEXT NOT NULL, id TEXT NOT NULL, display_name TEXT NOT NULL, job_id TEXT NOT NULL,
    create_time REAL NOT NULL, PRIMARY KEY (parent, id)
);
CREATE TABLE IF NOT EXISTS endpoints (
    parent TEXT NOT NULL, id TEXT NOT NULL, display_name TEXT NOT NULL, job_id TEXT NOT NULL,
    create_time REAL NOT NULL, PRIMARY KEY (parent, id)
);
CREATE TABLE IF NOT EXISTS deployed_models (
    parent TEXT NOT NULL, id TEXT NOT NULL, endpoint_id TEXT NOT NULL, model_id TEXT NOT NULL,
    checkpoint_id TEXT NOT NULL, display_name TEXT NOT NULL, create_time REAL NOT NULL,
    PRIMARY KEY (parent, id)
);
"""

# The version every tuned model has: tuning from a base model makes version 1.
_MODEL_VERSION = "1"


class VertexState:
    """Tuning jobs, tuned models and endpoints, in SQLite at `db_path`."""

    def __init__(
        self,
        db_path: Path,
        gcs: GcsStore,
        *,
        job_duration: float,
        clock: Clock = time.time,
        validate_dataset: DatasetValidator | None = None,
    ) -> None:
        if job_duration <= 0:
            raise ValueError(f"job_duration must be more than 0 seconds, not {job_duration}")
        Path(db_path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(db_path), check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.executescript(_SCHEMA)
        self._lock = threading.RLock()
        self._gcs = gcs
        self._job_duration = job_duration
        self._clock = clock
        self._validate = validate_dataset or validate_dataset_file
        self._ids = random.Random()  # ids only need to be unique, not predictable

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- tuning jobs ---------------------------------------------------------------------

    def create_tuning_job(self, parent: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST {parent}/tuningJobs: check, decide the outcome, store, answer the new job."""
        request = self._check_create(parent, body)
        failure, stats, examples = self._decide_outcome(request)
        now = self._clock()
        job_id = self._new_id()
        plan = {} if failure else self._plan_outputs(request, stats)
        with self._lock:
            self._db.execute(
                "INSERT INTO tuning_jobs (parent, id, create_time, duration, request, failure, stats,"
                " plan, examples) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (parent, job_id, now, self._job_duration, json.dumps(request.echo), failure,
                 json.dumps(stats) if stats else None, json.dumps(plan),
                 json.dumps([[e.prompt, e.answer] for e in examples])),
            )
            row = self._job_row(parent, job_id)
        return self._job_json(row, now)

    def get_tuning_job(self, name: str) -> dict[str, Any]:
        parent, job_id = _split_name(name, "tuningJobs")
        with self._lock:
            return self._job_json(self._job_row(parent, job_id), self._clock())

    def list_tuning_jobs(
        self, parent: str, *, filter_text: str = "", page_size: int | None = None, page_token: str = ""
    ) -> dict[str, Any]:
        """GET {parent}/tuningJobs: newest first; `filter_text` on labels and state, joined by AND."""
        matches = _parse_filter(filter_text)
        size = DEFAULT_PAGE_SIZE if not page_size else min(page_size, MAX_PAGE_SIZE)
        if size < 0:
            raise InvalidRequest(f"page_size must not be negative; got {page_size}.")
        before = _seq_from_token(page_token) if page_token else None
        now = self._clock()
        jobs: list[dict[str, Any]] = []
        next_token = None
        last_seq = 0
        with self._lock:
            query = "SELECT * FROM tuning_jobs WHERE parent = ?" + (" AND seq < ?" if before else "")
            params: tuple[Any, ...] = (parent, before) if before else (parent,)
            for row in self._db.execute(query + " ORDER BY seq DESC", params).fetchall():
                job = self._job_json(row, now)
                if not all(match(job) for match in matches):
                    continue
                if len(jobs) == size:
                    next_token = encode_page_token(str(last_seq))
                    break
                jobs.append(job)
                last_seq = row["seq"]
        answer: dict[str, Any] = {"tuningJobs": jobs} if jobs else {}
        if next_token:
            answer["nextPageToken"] = next_token
        return answer

    def cancel_tuning_job(self, name: str) -> dict[str, Any]:
        """POST {name}:cancel: a live job ends CANCELLED now; a finished one cannot be."""
        parent, job_id = _split_name(name, "tuningJobs")
        with self._lock:
            row = self._job_row(parent, job_id)
            now = self._clock()
            state = _timeline(row).state_at(now)
            if state in TERMINAL_STATES:
                raise failed_precondition(
                    f"Cannot cancel tuning job {name}: it is in state {state}, and only a job "
                    "that is JOB_STATE_QUEUED, JOB_STATE_PENDING or JOB_STATE_RUNNING can be cancelled."
                )
            self._db.execute("UPDATE tuning_jobs SET cancel_time = ? WHERE seq = ?", (now, row["seq"]))
        return {}

    # --- tuned models ----------------------------------------------------------------------

    def get_model(self, name: str) -> dict[str, Any]:
        parent, model_id = _split_name(name, "models")
        with self._lock:
            self._materialize_succeeded_jobs()
            return self._model_json(self._model_row(parent, model_id, name))

    def delete_model(self, name: str) -> dict[str, Any]:
        """DELETE models/ID: refused while any endpoint serves the model (checkpoints too)."""
        parent, model_id = _split_name(name, "models")
        with self._lock:
            self._materialize_succeeded_jobs()
            row = self._model_row(parent, model_id, name)
            serving = [
                f"{parent}/endpoints/{r['endpoint_id']}"
                for r in self._db.execute(
                    "SELECT endpoint_id FROM deployed_models WHERE parent = ? AND model_id = ?"
                    " ORDER BY endpoint_id", (parent, row["id"])
                )
            ]
            if serving:
                raise failed_precondition(
                    f"Model {parent}/models/{row['id']} is deployed or being deployed at the "
                    f"following Endpoint(s): {', '.join(serving)}. Undeploy it from every "
                    "endpoint before deleting it."
                )
            self._db.execute("DELETE FROM models WHERE parent = ? AND id = ?", (parent, row["id"]))
        return self._done_operation(parent, "DeleteOperationMetadata", "google.protobuf.Empty")

    # --- endpoints -------------------------------------------------------------------------

    def get_endpoint(self, name: str) -> dict[str, Any]:
        parent, endpoint_id = _split_name(name, "endpoints")
        with self._lock:
            self._materialize_succeeded_jobs()
            return self._endpoint_json(self._endpoint_row(parent, endpoint_id))

    def undeploy_model(self, name: str, deployed_model_id: str) -> dict[str, Any]:
        """POST endpoints/ID:undeployModel {deployedModelId}."""
        parent, endpoint_id = _split_name(name, "endpoints")
        if not deployed_model_id:
            raise InvalidRequest("deployed_model_id is required.")
        with self._lock:
            self._materialize_succeeded_jobs()
            self._endpoint_row(parent, endpoint_id)
            deleted = self._db.execute(
                "DELETE FROM deployed_models WHERE parent = ? AND endpoint_id = ? AND id = ?",
                (parent, endpoint_id, deployed_model_id),
            ).rowcount
            if not deleted:
                raise NotFound(f"DeployedModel {deployed_model_id} does not exist in Endpoint {name}.")
        return self._done_operation(
            parent, "UndeployModelOperationMetadata", "google.cloud.aiplatform.v1.UndeployModelResponse"
        )

    def delete_endpoint(self, name: str) -> dict[str, Any]:
        """DELETE endpoints/ID: refused while a model is still deployed to it."""
        parent, endpoint_id = _split_name(name, "endpoints")
        with self._lock:
            self._materialize_succeeded_jobs()
            self._endpoint_row(parent, endpoint_id)
            deployed = self._deployments(parent, endpoint_id)
            if deployed:
                ids = ", ".join(d["id"] for d in deployed)
                raise failed_precondition(
                    f"Endpoint {name} has deployed models ({ids}); undeploy every model from it "
                    "before deleting it."
                )
            self._db.execute("DELETE FROM endpoints WHERE parent = ? AND id = ?", (parent, endpoint_id))
        return self._done_operation(parent, "DeleteOperationMetadata", "google.protobuf.Empty")

    def generate_content(self, name: str, request: responder.GenerationRequest) -> dict[str, Any]:
        """POST endpoints/ID:generateContent, answered by the responder (no neural network)."""
        parent, endpoint_id = _split_name(name, "endpoints")
        with self._lock:
            self._materialize_succeeded_jobs()
            self._endpoint_row(parent, endpoint_id)
            deployed = self._deployments(parent, endpoint_id)
            if not deployed:
                raise failed_precondition(
                    f"Endpoint {name} has no deployed model to serve the request."
                )
            row = self._db.execute(
                "SELECT t.examples FROM tuning_jobs t JOIN models m ON m.job_id = t.id AND m.parent = t.parent"
                " WHERE m.parent = ? AND m.id = ?", (parent, deployed[0]["model_id"]),
            ).fetchone()
            now = self._clock()
        examples = [responder.Example(p, a) for p, a in json.loads(row["examples"])] if row else []
        return responder.respond(examples, request, create_time=rfc3339(now))

    # --- create: checks and outcome --------------------------------------------------------

    def _check_create(self, parent: str, body: Mapping[str, Any]) -> _JobRequest:
        """The up-front checks Vertex answers with 400 INVALID_ARGUMENT."""
        location = parent.rsplit("/", 1)[-1]
        unsupported = sorted(_UNSUPPORTED_FIELDS & set(body))
        if unsupported:
            raise InvalidRequest(
                f"The emulator imitates supervised tuning of a base model only; {unsupported[0]} "
                "is not supported here (use baseModel and supervisedTuningSpec)."
            )
        _reject_unknown_fields(body, _CREATE_FIELDS | _OUTPUT_ONLY_FIELDS, "tuning_job")
        if location not in catalog.TUNING_REGIONS:
            raise InvalidRequest(
                f"Location {location} is not supported for Gemini supervised tuning: use a "
                "regional location such as us-central1 or europe-west4."
            )
        base_model = body.get("baseModel")
        if not isinstance(base_model, str) or not base_model:
            raise InvalidRequest("base_model is required: the Gemini model to tune, such as gemini-2.5-flash.")
        model = catalog.find_model(base_model)
        if model is None:
            raise InvalidRequest(
                f"Base model {base_model} is not supported for supervised tuning. Supported models: "
                f"{', '.join(sorted(catalog.MODELS))}."
            )
        if location not in model.regions:
            raise InvalidRequest(
                f"Base model {model.id} cannot be tuned in {location}; it can be tuned in "
                f"{', '.join(sorted(model.regions))}."
            )

        spec = body.get("supervisedTuningSpec")
        if not isinstance(spec, dict) or not spec.get("trainingDatasetUri"):
            raise InvalidRequest(
                "supervised_tuning_spec.training_dataset_uri is required: the gs:// URI of the "
                "training dataset."
            )
        _reject_unknown_fields(spec, _SPEC_FIELDS, "tuning_job.supervised_tuning_spec")
        training_uri = _gcs_uri(spec["trainingDatasetUri"], "training_dataset_uri")
        validation_uri = (
            _gcs_uri(spec["validationDatasetUri"], "validation_dataset_uri")
            if spec.get("validationDatasetUri") else None
        )
        hyper = spec.get("hyperParameters") or {}
        if not isinstance(hyper, dict):
            raise InvalidRequest("supervised_tuning_spec.hyper_parameters must be an object.")
        _reject_unknown_fields(hyper, _HYPER_PARAMETER_FIELDS, "tuning_job.supervised_tuning_spec.hyper_parameters")
        epochs = _int64(hyper.get("epochCount"), "epoch_count")
        if epochs is not None and epochs < 1:
            raise InvalidRequest(f"epoch_count must be at least 1; got {epochs}.")
        multiplier = hyper.get("learningRateMultiplier")
        if multiplier is not None and (
            isinstance(multiplier, bool) or not isinstance(multiplier, (int, float)) or multiplier <= 0
        ):
            raise InvalidRequest(f"learning_rate_multiplier must be a number above 0; got {multiplier!r}.")
        adapter_size = hyper.get("adapterSize")
        if adapter_size is not None and adapter_size not in catalog.ADAPTER_SIZES.values():
            raise InvalidRequest(
                f"Invalid value at 'tuning_job.supervised_tuning_spec.hyper_parameters.adapter_size' "
                f"(type.googleapis.com/google.cloud.aiplatform.v1.SupervisedHyperParameters.AdapterSize), "
                f"{json.dumps(adapter_size)}: use one of {', '.join(catalog.ADAPTER_SIZES.values())}."
            )

        display_name = body.get("tunedModelDisplayName")
        too_long = isinstance(display_name, str) and len(display_name) > MAX_DISPLAY_NAME_CHARS
        if display_name is not None and (not isinstance(display_name, str) or too_long):
            length = len(display_name) if isinstance(display_name, str) else "not a string"
            raise InvalidRequest(
                f"tuned_model_display_name must be a string of at most {MAX_DISPLAY_NAME_CHARS} "
                f"characters; got {length}."
            )
        _check_labels(body.get("labels"))
        _check_encryption(body.get("encryptionSpec"), location, model)

        echo = {k: copy.deepcopy(v) for k, v in body.items() if k in _CREATE_FIELDS}
        if epochs is not None:  # int64: Google's JSON writes it as a string
            echo["supervisedTuningSpec"]["hyperParameters"]["epochCount"] = str(epochs)
        return _JobRequest(
            echo=echo,
            base_model=model.id,
            training_uri=training_uri,
            validation_uri=validation_uri,
            epochs=epochs or DEFAULT_EPOCH_COUNT,
            adapter_size=adapter_size,
            export_last_checkpoint_only=bool(spec.get("exportLastCheckpointOnly")),
        )

    def _decide_outcome(
        self, request: _JobRequest
    ) -> tuple[str | None, dict[str, Any] | None, list[responder.Example]]:
        """Vertex's error message if the job is to fail, else its data stats and examples."""
        model = catalog.MODELS[request.base_model]
        if request.adapter_size and catalog.adapter_size_number(request.adapter_size) not in model.adapter_sizes:
            supported = ", ".join(catalog.ADAPTER_SIZES[n] for n in model.adapter_sizes)
            return (
                "The adapter size is not supported for this base model. "
                f"{request.adapter_size} cannot be used with {model.id}; supported: {supported}.",
                None, [],
            )
        datasets: list[tuple[DatasetKind, str]] = [("training", request.training_uri)]
        if request.validation_uri:
            datasets.append(("validation", request.validation_uri))
        reports: dict[str, DatasetReport] = {}
        for kind, uri in datasets:
            path = self._gcs.local_path(uri)
            if not path.is_file():
                return (f"Failed to read the {kind} dataset: {uri} does not exist.", None, [])
        for kind, uri in datasets:
            path = self._gcs.local_path(uri)
            try:
                report = self._validate(str(path), kind=kind, base_model=model.id)
            except TuningError as exc:
                return (f"Failed to read the {kind} dataset {uri}: {exc}", None, [])
            if not report.ok:
                return (_dataset_failure(kind, uri, report), None, [])
            reports[kind] = report
        training = reports["training"]
        steps_per_epoch = max(1, math.ceil(training.examples / BATCH_SIZE))
        stats = {
            "tuningDatasetExampleCount": str(training.examples),
            "totalTuningCharacterCount": str(training.characters),
            "totalBillableCharacterCount": str(training.characters),
            "totalBillableTokenCount": str(training.estimated_tokens),
            "tuningStepCount": str(steps_per_epoch * request.epochs),
            "totalTruncatedExampleCount": "0",
        }
        examples = responder.examples_from_jsonl(self._gcs.local_path(request.training_uri))
        return None, stats, examples

    def _plan_outputs(self, request: _JobRequest, stats: dict[str, Any] | None) -> dict[str, Any]:
        """The ids of what the job will produce, picked now so they never change."""
        steps_per_epoch = int(stats["tuningStepCount"]) // request.epochs if stats else 1
        epochs = range(1, request.epochs + 1)
        kept = [request.epochs] if request.export_last_checkpoint_only else list(epochs)
        display = request.echo.get("tunedModelDisplayName") or f"{request.base_model}-tuned"
        return {
            "model": self._new_id(),
            "displayName": display,
            "checkpoints": [
                {
                    "checkpointId": str(epoch),
                    "epoch": str(epoch),
                    "step": str(steps_per_epoch * epoch),
                    "endpointId": self._new_id(),
                    "deployedModelId": self._new_id(),
                }
                for epoch in kept
            ],
        }

    # --- rows and their JSON ---------------------------------------------------------------

    def _job_row(self, parent: str, job_id: str) -> sqlite3.Row:
        row: sqlite3.Row | None = self._db.execute(
            "SELECT * FROM tuning_jobs WHERE parent = ? AND id = ?", (parent, job_id)
        ).fetchone()
        if row is None:
            raise NotFound(f"TuningJob {parent}/tuningJobs/{job_id} does not exist.")
        return row

    def _job_json(self, row: sqlite3.Row, now: float) -> dict[str, Any]:
        parent, job_id = row["parent"], row["id"]
        timeline = _timeline(row)
        state = timeline.state_at(now)
        job: dict[str, Any] = {"name": f"{parent}/tuningJobs/{job_id}", **json.loads(row["request"])}
        job["state"] = state
        job["createTime"] = rfc3339(timeline.create_time)
        changed = timeline.create_time
        cancelled_early = timeline.cancel_time is not None and timeline.cancel_time < timeline.start_time
        started = state != PENDING and not (state == CANCELLED and cancelled_early)
        if started:
            job["startTime"] = rfc3339(timeline.start_time)
            job["experiment"] = f"{parent}/metadataStores/default/contexts/tuning-experiment-{job_id}"
            changed = timeline.start_time
            if row["stats"]:
                job["tuningDataStats"] = {"supervisedTuningDataStats": json.loads(row["stats"])}
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
            job["tunedModel"] = _tuned_model_json(parent, json.loads(row["plan"]))
        return job

    def _model_row(self, parent: str, model_id: str, name: str) -> sqlite3.Row:
        bare_id, _, version = model_id.partition("@")
        row: sqlite3.Row | None = self._db.execute(
            "SELECT * FROM models WHERE parent = ? AND id = ?", (parent, bare_id)
        ).fetchone()
        if row is None or version not in ("", _MODEL_VERSION, "default"):
            raise NotFound(f"Model {name} does not exist.")
        return row

    def _model_json(self, row: sqlite3.Row) -> dict[str, Any]:
        parent, created = row["parent"], rfc3339(row["create_time"])
        deployed = self._db.execute(
            "SELECT * FROM deployed_models WHERE parent = ? AND model_id = ? ORDER BY checkpoint_id",
            (parent, row["id"]),
        ).fetchall()
        model: dict[str, Any] = {
            "name": f"{parent}/models/{row['id']}",
            "displayName": row["display_name"],
            "versionId": _MODEL_VERSION,
            "versionAliases": ["default"],
            "createTime": created,
            "updateTime": created,
            "versionCreateTime": created,
            "versionUpdateTime": created,
        }
        job = self._db.execute(
            "SELECT plan FROM tuning_jobs WHERE parent = ? AND id = ?", (parent, row["job_id"])
        ).fetchone()
        checkpoints = json.loads(job["plan"])["checkpoints"] if job else []
        if checkpoints:
            model["checkpoints"] = [
                {"checkpointId": c["checkpointId"], "epoch": c["epoch"], "step": c["step"]} for c in checkpoints
            ]
            model["defaultCheckpointId"] = checkpoints[-1]["checkpointId"]
        if deployed:
            model["deployedModels"] = [
                {"endpoint": f"{parent}/endpoints/{d['endpoint_id']}", "deployedModelId": d["id"],
                 "checkpointId": d["checkpoint_id"]}
                for d in deployed
            ]
        return model

    def _endpoint_row(self, parent: str, endpoint_id: str) -> sqlite3.Row:
        row: sqlite3.Row | None = self._db.execute(
            "SELECT * FROM endpoints WHERE parent = ? AND id = ?", (parent, endpoint_id)
        ).fetchone()
        if row is None:
            raise NotFound(f"Endpoint {parent}/endpoints/{endpoint_id} does not exist.")
        return row

    def _deployments(self, parent: str, endpoint_id: str) -> list[sqlite3.Row]:
        return self._db.execute(
            "SELECT * FROM deployed_models WHERE parent = ? AND endpoint_id = ? ORDER BY id",
            (parent, endpoint_id),
        ).fetchall()

    def _endpoint_json(self, row: sqlite3.Row) -> dict[str, Any]:
        parent, created = row["parent"], rfc3339(row["create_time"])
        deployed = self._deployments(parent, row["id"])
        endpoint: dict[str, Any] = {
            "name": f"{parent}/endpoints/{row['id']}",
            "displayName": row["display_name"],
            "createTime": created,
            "updateTime": created,
        }
        if deployed:
            endpoint["deployedModels"] = [
                {"id": d["id"], "model": f"{parent}/models/{d['model_id']}", "modelVersionId": _MODEL_VERSION,
                 "displayName": d["display_name"], "checkpointId": d["checkpoint_id"],
                 "createTime": rfc3339(d["create_time"])}
                for d in deployed
            ]
            endpoint["trafficSplit"] = {deployed[0]["id"]: 100}
        return endpoint

    def _materialize_succeeded_jobs(self) -> None:
        """Write the model and endpoints of every job whose timeline has reached SUCCEEDED.

        Called (under the lock) by every model and endpoint operation, so those resources
        appear exactly when their job succeeds, with the ids picked at create.
        """
        due = self._db.execute(
            "SELECT * FROM tuning_jobs WHERE materialized = 0 AND failure IS NULL AND cancel_time IS NULL"
            " AND create_time + duration <= ?", (self._clock(),),
        ).fetchall()
        for row in due:
            with self._transaction():
                self._write_outputs(row)

    def _write_outputs(self, row: sqlite3.Row) -> None:
        """A succeeded job's model and its endpoints (one per kept checkpoint, each serving
        the model), dated when the job ended."""
        parent, plan = row["parent"], json.loads(row["plan"])
        ended = row["create_time"] + row["duration"]
        self._db.execute(
            "INSERT INTO models VALUES (?, ?, ?, ?, ?)",
            (parent, plan["model"], plan["displayName"], row["id"], ended),
        )
        for checkpoint in plan["checkpoints"]:
            label = f"{plan['displayName']} checkpoint {checkpoint['checkpointId']}"
            self._db.execute(
                "INSERT INTO endpoints VALUES (?, ?, ?, ?, ?)",
                (parent, checkpoint["endpointId"], label, row["id"], ended),
            )
            self._db.execute(
                "INSERT INTO deployed_models VALUES (?, ?, ?, ?, ?, ?, ?)",
                (parent, checkpoint["deployedModelId"], checkpoint["endpointId"], plan["model"],
                 checkpoint["checkpointId"], label, ended),
            )
        self._db.execute("UPDATE tuning_jobs SET materialized = 1 WHERE seq = ?", (row["seq"],))

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """All or nothing: a job's model and endpoints appear together or not at all."""
        self._db.execute("BEGIN")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _done_operation(self, parent: str, metadata_type: str, response_type: str) -> dict[str, Any]:
        """A finished long-running operation, as Vertex answers deletes and undeploys."""
        now = rfc3339(self._clock())
        return {
            "name": f"{parent}/operations/{self._new_id()}",
            "metadata": {
                "@type": f"type.googleapis.com/google.cloud.aiplatform.v1.{metadata_type}",
                "genericMetadata": {"createTime": now, "updateTime": now},
            },
            "done": True,
            "response": {"@type": f"type.googleapis.com/{response_type}"},
        }

    def _new_id(self) -> str:
        """A 19-digit id, the shape of Vertex's numeric resource ids."""
        with self._lock:
            return str(self._ids.randrange(10**18, 10**19))


# --- helpers ----------------------------------------------------------------------------


def _timeline(row: sqlite3.Row) -> Timeline:
    return Timeline(
        create_time=row["create_time"],
        duration=row["duration"],
        fails=row["failure"] is not None,
        cancel_time=row["cancel_time"],
    )


def _tuned_model_json(parent: str, plan: dict[str, Any]) -> dict[str, Any]:
    checkpoints = [
        {"checkpointId": c["checkpointId"], "epoch": c["epoch"], "step": c["step"],
         "endpoint": f"{parent}/endpoints/{c['endpointId']}"}
        for c in plan["checkpoints"]
    ]
    return {
        "model": f"{parent}/models/{plan['model']}@{_MODEL_VERSION}",
        "endpoint": checkpoints[-1]["endpoint"],
        "checkpoints": checkpoints,
    }


def _split_name(name: str, collection: str) -> tuple[str, str]:
    """("projects/P/locations/L", ID) of "projects/P/locations/L/{collection}/ID"."""
    parent, _, rest = name.partition(f"/{collection}/")
    if not parent.startswith("projects/") or not rest or "/" in rest:
        raise NotFound(f"{name} is not a {collection} resource name.")
    return parent, rest


def _reject_unknown_fields(obj: Mapping[str, Any], known: Iterable[str], where: str) -> None:
    unknown = sorted(set(obj) - set(known))
    if unknown:
        raise InvalidRequest(
            f'Invalid JSON payload received. Unknown name "{unknown[0]}" at \'{where}\': Cannot find field.'
        )


def _gcs_uri(value: Any, field: str) -> str:
    if not isinstance(value, str) or not GCS_URI.fullmatch(value):
        raise InvalidRequest(
            f"supervised_tuning_spec.{field} must be a Cloud Storage URI of the form "
            f"gs://BUCKET/OBJECT (a bucket name has 3 to 63 lowercase letters, digits, dashes, "
            f"underscores or dots); got {value!r}."
        )
    return value


def _int64(value: Any, field: str) -> int | None:
    """An int64 field, sent as a JSON number or (as Google writes them) a string."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not re.fullmatch(r"-?\d+", str(value)):
        raise InvalidRequest(f"Invalid value for {field}: {value!r} is not an integer.")
    return int(value)


def _check_labels(labels: Any) -> None:
    if labels is None:
        return
    if not isinstance(labels, dict):
        raise InvalidRequest("labels must be an object of string keys and values.")
    if len(labels) > MAX_LABELS:
        raise InvalidRequest(f"A resource can have at most {MAX_LABELS} labels; got {len(labels)}.")
    for key, value in labels.items():
        if not _LABEL_KEY.fullmatch(key):
            raise InvalidRequest(
                f"Invalid label key {key!r}: a key must start with a lowercase letter and hold at "
                "most 63 lowercase letters, digits, underscores and dashes."
            )
        if not isinstance(value, str) or not _LABEL_VALUE.fullmatch(value):
            raise InvalidRequest(
                f"Invalid value {value!r} for label {key!r}: a value holds at most 63 lowercase "
                "letters, digits, underscores and dashes."
            )


def _check_encryption(spec: Any, location: str, model: catalog.BaseModelInfo) -> None:
    if spec is None:
        return
    key = spec.get("kmsKeyName") if isinstance(spec, dict) else None
    match = _KMS_KEY.fullmatch(key) if isinstance(key, str) else None
    if not match:
        raise InvalidRequest(
            "encryption_spec.kms_key_name must be a Cloud KMS key name of the form "
            f"projects/P/locations/L/keyRings/R/cryptoKeys/K; got {key!r}."
        )
    if not model.cmek:
        raise InvalidRequest(f"Customer-managed encryption keys are not supported for tuning {model.id}.")
    if match["location"] != location:
        raise InvalidRequest(
            f"The encryption key {key} is in {match['location']}, but the tuning job is in "
            f"{location}: the key must be in the job's region."
        )


def _dataset_failure(kind: str, uri: str, report: DatasetReport) -> str:
    """Vertex-like failure text naming the first bad line."""
    first = report.errors[0] if report.errors else None
    where = f"line {first.line}: " if first is not None and first.line else ""
    detail = first.message if first is not None else "it is not a valid tuning dataset"
    more = report.error_count - 1
    tail = f" ({more} more error{'s' if more != 1 else ''} in the file)" if more > 0 else ""
    return f"The {kind} dataset {uri} is invalid: {where}{detail}{tail}"


def _label_is(key: str, value: str, equal: bool, job: dict[str, Any]) -> bool:
    return bool(job.get("labels", {}).get(key) == value) == equal


def _has_label(key: str, job: dict[str, Any]) -> bool:
    return key in job.get("labels", {})


def _state_is(state: str, equal: bool, job: dict[str, Any]) -> bool:
    return bool(job["state"] == state) == equal


def _parse_filter(text: str) -> list[Callable[[dict[str, Any]], bool]]:
    """Predicates on a job's JSON for an AIP-160 filter: labels.K="V", labels.K:*, state=S."""
    matches: list[Callable[[dict[str, Any]], bool]] = []
    for clause in _FILTER_AND.split(text.strip()) if text.strip() else []:
        clause = clause.strip()
        if m := _FILTER_LABEL.fullmatch(clause):
            value = m["quoted"] if m["quoted"] is not None else m["bare"]
            matches.append(functools.partial(_label_is, m["key"], value, m["op"] == "="))
        elif m := _FILTER_HAS_LABEL.fullmatch(clause):
            matches.append(functools.partial(_has_label, m["key"]))
        elif m := _FILTER_STATE.fullmatch(clause):
            matches.append(functools.partial(_state_is, m["state"], m["op"] == "="))
        else:
            raise InvalidRequest(
                f"Unsupported filter {clause!r}: the emulator understands labels.KEY=\"VALUE\", "
                "labels.KEY:* and state=\"JOB_STATE_...\", joined by AND."
            )
    return matches


def _seq_from_token(token: str) -> int:
    value = decode_page_token(token)
    if not value.isdigit():
        raise InvalidRequest(f"Invalid page token {token!r}.")
    return int(value)
