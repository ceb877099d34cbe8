"""The emulator's backend: what Vertex AI would hold, one module per resource, put together.

    tuning_jobs   TuningJob (GenAiTuningService): create, get, list, cancel
    datasets      Dataset (DatasetService) for multimodal datasets: create, get, list, delete;
                  their rows read from the `bigquery` stand-in for jobs that tune on them
    timeline      a job's state at any moment, from its stored timeline and the clock
    model_registry  Model and its versions, Vertex's Model Registry (ModelService): get,
                  list, listVersions, delete, deleteVersion, mergeVersionAliases
    endpoints     Endpoint (EndpointService, generateContent): get, delete, undeployModel
    experiments   MetadataStore, Context (MetadataService): the jobs' experiments and runs
    tensorboards  Tensorboard, its experiments, runs, time series (TensorboardService)
    metrics       the values of the series (imitated, deterministic)
    store         the SQLite database, lock, clock and ids they share

Methods take request JSON already read by the HTTP layer's `wire` (canonical proto3 JSON) and
list arguments (`paging.ListRequest`), return the resource JSON as Vertex writes it (v1
spelling), and raise the project's typed errors (`tuning_provider.errors`), which the HTTP
layer's app turns into Google's error body. Nothing here knows HTTP.

Reads never write. Time passing is the only thing that moves a job, and the state is brought
up to the clock in one place, `advance`, which the app calls before it serves each Vertex
request: it writes the model and endpoints of every job that has SUCCEEDED since (from the ids
stored at create, so they are the same whenever that happens), and they persist from then on.

The emulator parses resource names with its own patterns, not the project's client-side ones,
on purpose: it plays the server, and judges names as Vertex would.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tuning_provider.emulator.bigquery import BigQueryStore
from tuning_provider.emulator.gcs import GcsStore
from tuning_provider.emulator.vertex import responder
from tuning_provider.emulator.vertex.datasets import Datasets
from tuning_provider.emulator.vertex.endpoints import Endpoints
from tuning_provider.emulator.vertex.experiments import Experiments
from tuning_provider.emulator.vertex.model_registry import ModelRegistry
from tuning_provider.emulator.vertex.store import Clock, Store
from tuning_provider.emulator.vertex.tensorboards import Tensorboards
from tuning_provider.emulator.vertex.tuning_jobs import DatasetValidator, JobDuration, TunedSource, TuningJobs
from tuning_provider.errors import NotFound

__all__ = ["Clock", "DatasetValidator", "JobDuration", "VertexState"]


class VertexState:
    """Every Vertex resource the emulator serves, in SQLite at `db_path`."""

    def __init__(
        self,
        db_path: Path,
        gcs: GcsStore,
        *,
        job_duration: JobDuration,
        clock: Clock = time.time,
        validate_dataset: DatasetValidator | None = None,
        bigquery: BigQueryStore | None = None,
        list_lag: float = 0.0,
    ) -> None:
        self._store = Store(db_path, clock)
        self.datasets = Datasets(self._store, bigquery or BigQueryStore(Path(db_path).parent / "bigquery"))
        self.tuning_jobs = TuningJobs(
            self._store, gcs, job_duration=job_duration, validate_dataset=validate_dataset,
            tuned_model=self._tuned_source, vertex_dataset=self.datasets.tuning_requests, list_lag=list_lag,
        )
        self.endpoints = Endpoints(self._store, examples_of=self._examples_of)
        self.model_registry = ModelRegistry(
            self._store,
            deployments=self.endpoints.deployments_of,
            checkpoints=self._checkpoints_of,
            base_model_of=self._base_model_of,
        )
        self.tensorboards = Tensorboards(self.tuning_jobs)
        self.experiments = Experiments(self.tuning_jobs, self.tensorboards)

    def advance(self) -> None:
        """Bring the stored state up to the clock: write the model and endpoints of every job
        whose timeline has reached SUCCEEDED, each job's all together or not at all, dated when
        the job ended (a new model version's number is given then)."""
        with self._store.lock:
            for record in self.tuning_jobs.due_outputs():
                ended = record.timeline.create_time + record.timeline.duration
                with self._store.transaction():
                    version = self.model_registry.add_tuned(record, ended)
                    self.endpoints.add_tuned(record, ended, version)
                    self.tuning_jobs.mark_outputs_written(record, version)

    def close(self) -> None:
        self._store.close()

    def _examples_of(self, parent: str, model_id: str, version: str) -> Sequence[responder.Example]:
        job_id = self.model_registry.job_of(parent, model_id, version)
        return self.tuning_jobs.stored_job(parent, job_id).examples if job_id else []

    def _tuned_source(self, name: str) -> TunedSource | None:
        """A tuned model version as continuous tuning reads it, or None if there is none."""
        found = self.model_registry.find_version(name)
        if found is None:
            return None
        record = self.tuning_jobs.stored_job(found.parent, found.job_id)
        base_model = self._base_model_of(found.parent, found.job_id)
        if base_model is None:
            return None
        ids = tuple(c["checkpointId"] for c in record.plan.get("checkpoints", []))
        key = (record.request.get("encryptionSpec") or {}).get("kmsKeyName")
        return TunedSource(base_model, ids, record.examples, model_id=found.id, display_name=found.display_name,
                           created=found.create_time, kms_key_name=key)

    def _base_model_of(self, parent: str, job_id: str) -> str | None:
        try:
            record = self.tuning_jobs.stored_job(parent, job_id)
        except NotFound:
            return None
        # Plans written before continuous tuning have no baseModel: the request has it.
        found = record.plan.get("baseModel") or record.request.get("baseModel")
        return str(found) if found else None

    def _checkpoints_of(self, parent: str, job_id: str) -> list[dict[str, Any]]:
        try:
            checkpoints: list[dict[str, Any]] = self.tuning_jobs.stored_job(parent, job_id).plan.get("checkpoints", [])
        except NotFound:
            return []
        return checkpoints
