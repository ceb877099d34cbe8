"""Vertex ML Metadata (MetadataService) as a tuning job creates it: the default metadata
store and, for every job that has started training, two contexts:

- the experiment `metadataStores/default/contexts/tuning-experiment-{job}` (the job's
  `experiment`): schemaTitle system.Experiment, metadata `backing_tensorboard_resource`;
- its run `.../contexts/tuning-experiment-{job}-tuning-run`: schemaTitle
  system.ExperimentRun, parentContexts [the experiment], metadata `_state` and the job's
  last metric values in `_metrics`, as the Vertex AI SDK's ExperimentRun keeps them.

Like aiplatform's experiments, the TensorBoard experiment has the experiment context's id
and the TensorBoard run the run's display name (see `tensorboards`). Nothing is stored: the
contexts are read from the job and the clock.
"""

from __future__ import annotations

import re
from typing import Any

from tuning_provider.emulator.formats import rfc3339
from tuning_provider.emulator.paging import Key, ListRequest, paginate
from tuning_provider.emulator.vertex import metrics
from tuning_provider.emulator.vertex.filters import Field, parse_filter
from tuning_provider.emulator.vertex.tensorboards import RUN_ID, Tensorboards
from tuning_provider.emulator.vertex.timeline import CANCELLED, SUCCEEDED
from tuning_provider.emulator.vertex.tuning_jobs import StoredJob, TuningJobs, experiment_id
from tuning_provider.errors import NotFound

__all__ = ["METADATA_STORE", "Experiments"]

METADATA_STORE = "default"
EXPERIMENT_SCHEMA = "system.Experiment"
RUN_SCHEMA = "system.ExperimentRun"
_SCHEMA_VERSION = "0.0.1"
DEFAULT_PAGE_SIZE = 100
# What a list filter takes, as aiplatform's experiment helpers send it.
_FILTER_FIELDS = {
    "schema_title": Field("schemaTitle", ops=frozenset({"="})),
    "display_name": Field("displayName", ops=frozenset({"="})),
    "parent_contexts": Field("parentContexts", ops=frozenset({":"})),
}
# aiplatform's ExperimentRun states (the names of Execution.State).
_RUN_STATES = {SUCCEEDED: "COMPLETE", CANCELLED: "CANCELLED"}


class Experiments:
    """The contexts of tuning jobs' experiments, read from `jobs`."""

    def __init__(self, jobs: TuningJobs, tensorboards: Tensorboards) -> None:
        self._jobs = jobs
        self._tensorboards = tensorboards

    def get_metadata_store(self, name: str) -> dict[str, Any]:
        parent, _, store = name.partition("/metadataStores/")
        if store != METADATA_STORE:
            raise NotFound(f"MetadataStore {name} does not exist.")
        return {"name": name, "description": "The default metadata store of the location."}

    def get_context(self, name: str) -> dict[str, Any]:
        parent, context_id = _split_context(name)
        record = self._jobs.stored_job_of_experiment(parent, context_id.removesuffix(f"-{RUN_ID}"))
        if record is None:
            raise NotFound(f"Context {name} does not exist.")
        now = self._jobs.now()
        if context_id.endswith(f"-{RUN_ID}"):
            return self._run_json(record, now)
        return self._experiment_json(record)

    def list_contexts(self, request: ListRequest) -> dict[str, Any]:
        """GET .../metadataStores/default/contexts: every experiment and run, oldest first;
        filters on schema_title, display_name (=) and parent_contexts (:), joined by AND."""
        parent, _, store = request.parent.partition("/metadataStores/")
        if store != METADATA_STORE:
            raise NotFound(f"MetadataStore {request.parent} does not exist.")
        wanted = parse_filter(request.filter, _FILTER_FIELDS, labels=False,
                              understands='schema_title="...", display_name="..." and parent_contexts:"..."')
        now = self._jobs.now()
        contexts: list[tuple[Key, dict[str, Any]]] = []
        for record in self._jobs.started_jobs(parent):
            contexts.append(((record.seq, 0), self._experiment_json(record)))
            contexts.append(((record.seq, 1), self._run_json(record, now)))
        return paginate(contexts, request.page, default_size=DEFAULT_PAGE_SIZE, keep=wanted).answer("contexts")

    def _experiment_json(self, record: StoredJob) -> dict[str, Any]:
        context_id = experiment_id(record.id)
        started = rfc3339(record.timeline.start_time)
        return {
            "name": f"{record.parent}/metadataStores/{METADATA_STORE}/contexts/{context_id}",
            "displayName": context_id,
            "createTime": started,
            "updateTime": started,
            "schemaTitle": EXPERIMENT_SCHEMA,
            "schemaVersion": _SCHEMA_VERSION,
            "metadata": {
                "experiment_deleted": False,
                "backing_tensorboard_resource": self._tensorboards.tensorboard_name(record.parent),
            },
            "description": f"Metrics of tuning job {record.name}.",
        }

    def _run_json(self, record: StoredJob, now: float) -> dict[str, Any]:
        experiment = self._experiment_json(record)
        state = record.timeline.state_at(now)
        last = {
            series.removeprefix("/"): found[-1].value
            for series in metrics.series_names(record)
            if (found := metrics.points(record, series, now))
        }
        end = record.timeline.end_time(now)
        return {
            "name": f"{experiment['name']}-{RUN_ID}",
            "displayName": RUN_ID,
            "createTime": experiment["createTime"],
            "updateTime": rfc3339(end if end is not None else now),
            "parentContexts": [experiment["name"]],
            "schemaTitle": RUN_SCHEMA,
            "schemaVersion": _SCHEMA_VERSION,
            "metadata": {
                "_state": _RUN_STATES.get(state, "RUNNING"),
                "_params": _params(record),
                "_metrics": last,
            },
        }


def _params(record: StoredJob) -> dict[str, Any]:
    hyper = record.request.get("supervisedTuningSpec", {}).get("hyperParameters", {})
    params: dict[str, Any] = {"epoch_count": record.epochs}
    if "learningRateMultiplier" in hyper:
        params["learning_rate_multiplier"] = hyper["learningRateMultiplier"]
    if "adapterSize" in hyper:
        params["adapter_size"] = hyper["adapterSize"]
    return params


def _split_context(name: str) -> tuple[str, str]:
    match = re.fullmatch(rf"(projects/[^/]+/locations/[^/]+)/metadataStores/{METADATA_STORE}/contexts/([^/]+)", name)
    if not match:
        raise NotFound(f"Context {name} does not exist.")
    return match[1], match[2]

