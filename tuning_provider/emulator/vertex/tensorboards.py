"""Vertex AI TensorBoard (TensorboardService) as tuning jobs write their metrics into it:

    tensorboards/{tb}                                   one per location, the experiments' backing one
      /experiments/tuning-experiment-{job}              one per job that has started training
        /runs/tuning-run                                its one run
          /timeSeries/{id}                              one per metric (`metrics.series_names`)

Get of each, ListTensorboardTimeSeries (parent = the run), ReadTensorboardTimeSeriesData and
BatchReadTensorboardTimeSeriesData (tensorboard = the tensorboard, timeSeries = full names),
at most MAX_POINTS_PER_READ points per series and read, as Vertex caps them (evenly spaced,
the last point always kept). Ids are derived from names, so nothing is stored.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Any

from tuning_provider.emulator.formats import rfc3339
from tuning_provider.emulator.paging import ListRequest, paginate
from tuning_provider.emulator.vertex import metrics
from tuning_provider.emulator.vertex.tuning_jobs import StoredJob, TuningJobs, experiment_id
from tuning_provider.errors import InvalidRequest, NotFound

__all__ = ["MAX_POINTS_PER_READ", "RUN_ID", "Tensorboards"]

RUN_ID = "tuning-run"
MAX_POINTS_PER_READ = 1000
DEFAULT_PAGE_SIZE = 50
_NAME = re.compile(
    r"(?P<parent>projects/[^/]+/locations/[^/]+)/tensorboards/(?P<tensorboard>[^/]+)"
    r"(?:/experiments/(?P<experiment>[^/]+)(?:/runs/(?P<run>[^/]+)(?:/timeSeries/(?P<series>[^/]+))?)?)?"
)


class Tensorboards:
    """The TensorBoard resources of tuning jobs, read from `jobs`."""

    def __init__(self, jobs: TuningJobs) -> None:
        self._jobs = jobs

    def tensorboard_name(self, parent: str) -> str:
        """The location's TensorBoard, backing every tuning experiment there."""
        return f"{parent}/tensorboards/{_numeric_id(parent)}"

    # --- the API operations ----------------------------------------------------------------

    def get_tensorboard(self, name: str) -> dict[str, Any]:
        parent = self._resolve_tensorboard(name)
        records = self._jobs.started_jobs(parent)
        if not records:  # Vertex creates it with the location's first experiment
            raise NotFound(f"Tensorboard {name} does not exist.")
        created = rfc3339(records[0].timeline.start_time)
        return {
            "name": name,
            "displayName": "Default Tensorboard",
            "description": "Backs the experiments of tuning jobs in this location.",
            "runCount": len(records),
            "createTime": created,
            "updateTime": created,
            "isDefault": True,
        }

    def get_experiment(self, name: str) -> dict[str, Any]:
        record = self._resolve(name, "experiment")
        started = rfc3339(record.timeline.start_time)
        return {
            "name": name,
            "displayName": experiment_id(record.id),
            "description": f"Metrics of tuning job {record.name}.",
            "createTime": started,
            "updateTime": started,
            "source": "vertex-ai-tuning",
        }

    def get_run(self, name: str) -> dict[str, Any]:
        record = self._resolve(name, "run")
        started = rfc3339(record.timeline.start_time)
        return {"name": name, "displayName": RUN_ID, "createTime": started, "updateTime": started}

    def list_time_series(self, request: ListRequest) -> dict[str, Any]:
        """GET {run}/timeSeries: every series the job writes (filter: display_name="TAG")."""
        record = self._resolve(request.parent, "run")
        wanted = _display_name_filter(request.filter)
        now = self._jobs.now()
        series = [
            ((index,), self._series_json(request.parent, record, tag, now))
            for index, tag in enumerate(metrics.series_names(record))
            if wanted is None or tag == wanted
        ]
        return paginate(series, request.page, default_size=DEFAULT_PAGE_SIZE).answer("tensorboardTimeSeries")

    def get_time_series(self, name: str) -> dict[str, Any]:
        record = self._resolve(name, "series")
        run_name, _, _ = name.rpartition("/timeSeries/")
        return self._series_json(run_name, record, self._tag(name, record), self._jobs.now())

    def read_time_series(self, name: str, *, max_points: int | None = None) -> dict[str, Any]:
        """GET {series}:read -> {timeSeriesData}."""
        if max_points is not None and max_points < 0:
            raise InvalidRequest(f"max_data_points must not be negative; got {max_points}.")
        record = self._resolve(name, "series")
        return {"timeSeriesData": self._data(name, record, max_points)}

    def batch_read(self, tensorboard: str, series_names: Sequence[str]) -> dict[str, Any]:
        """GET {tensorboard}:batchRead?timeSeries=...: the data of each series, in order."""
        self._resolve_tensorboard(tensorboard)
        if not series_names:
            raise InvalidRequest("time_series is required: the names of the series to read.")
        data = []
        for name in series_names:
            if not name.startswith(f"{tensorboard}/"):
                raise InvalidRequest(f"Time series {name} is not in Tensorboard {tensorboard}.")
            record = self._resolve(name, "series")
            data.append(self._data(name, record, None))
        return {"timeSeriesData": data}

    # --- names and JSON ----------------------------------------------------------------------

    def _resolve_tensorboard(self, name: str) -> str:
        """The parent of the location's TensorBoard `name`; NotFound for any other name."""
        match = _NAME.fullmatch(name)
        if not match or match["experiment"] is not None or match["tensorboard"] != _numeric_id(match["parent"]):
            raise NotFound(f"Tensorboard {name} does not exist.")
        return match["parent"]

    def _resolve(self, name: str, depth: str) -> StoredJob:
        """The job behind an experiment, run or series name; NotFound unless every part of
        the name exists."""
        match = _NAME.fullmatch(name)
        parts = ("experiment", "run", "series")
        deeper = parts[parts.index(depth) + 1:]
        if not match or any(match[p] is None for p in parts[:parts.index(depth) + 1]) or any(
            match[p] is not None for p in deeper
        ):
            raise NotFound(f"{name} is not a Tensorboard {depth} name.")
        parent = match["parent"]
        if match["tensorboard"] != _numeric_id(parent):
            raise NotFound(f"Tensorboard {parent}/tensorboards/{match['tensorboard']} does not exist.")
        record = self._jobs.stored_job_of_experiment(parent, match["experiment"])
        if record is None:
            raise NotFound(f"TensorboardExperiment {name.split('/runs/')[0]} does not exist.")
        if depth != "experiment" and match["run"] != RUN_ID:
            raise NotFound(f"TensorboardRun {name.split('/timeSeries/')[0]} does not exist.")
        if depth == "series":
            self._tag(name, record)
        return record

    def _tag(self, name: str, record: StoredJob) -> str:
        series_id = name.rsplit("/", 1)[-1]
        for tag in metrics.series_names(record):
            if _numeric_id(f"{record.name}{tag}") == series_id:
                return tag
        raise NotFound(f"TensorboardTimeSeries {name} does not exist.")

    def _series_json(self, run_name: str, record: StoredJob, tag: str, now: float) -> dict[str, Any]:
        found = metrics.points(record, tag, now)
        started = rfc3339(record.timeline.start_time)
        series: dict[str, Any] = {
            "name": f"{run_name}/timeSeries/{_numeric_id(f'{record.name}{tag}')}",
            "displayName": tag,
            "valueType": "SCALAR",
            "createTime": started,
            "updateTime": rfc3339(found[-1].wall_time) if found else started,
            "pluginName": "scalars",
        }
        if found:
            series["metadata"] = {"maxStep": str(found[-1].step), "maxWallTime": rfc3339(found[-1].wall_time)}
        return series

    def _data(self, name: str, record: StoredJob, max_points: int | None) -> dict[str, Any]:
        tag = self._tag(name, record)
        found = _thin(metrics.points(record, tag, self._jobs.now()), max_points or MAX_POINTS_PER_READ)
        data: dict[str, Any] = {"tensorboardTimeSeriesId": name.rsplit("/", 1)[-1], "valueType": "SCALAR"}
        if found:
            data["values"] = [
                {"scalar": {"value": p.value}, "wallTime": rfc3339(p.wall_time), "step": str(p.step)} for p in found
            ]
        return data


def _numeric_id(seed: str) -> str:
    """A stable 19-digit id for `seed`, the shape of Vertex's numeric ids."""
    number = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big")
    return str(10**18 + number % (9 * 10**18))


def _thin(found: list[metrics.Point], limit: int) -> list[metrics.Point]:
    """At most `limit` points, evenly spaced, the last one always kept."""
    if len(found) <= limit:
        return found
    stride = len(found) / limit
    kept = [found[int(i * stride)] for i in range(limit - 1)]
    return kept + [found[-1]]


def _display_name_filter(text: str) -> str | None:
    if not text.strip():
        return None
    match = re.fullmatch(r'\s*display_name\s*=\s*"([^"]*)"\s*', text)
    if not match:
        raise InvalidRequest(f'Unsupported filter {text!r}: the emulator understands display_name="TAG".')
    return match[1]
