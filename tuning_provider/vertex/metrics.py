"""A tuning job's training metrics as Vertex keeps them: its experiment, the experiment's
backing TensorBoard, and the time series of the job's run there."""

from __future__ import annotations

from urllib.parse import urlencode

from tuning_provider.connection import Connection
from tuning_provider.names import resource_id
from tuning_provider.records import JobRecord, MetricSeries
from tuning_provider.vertex.boundary import DEFAULT_RETRY, RetryPolicy, call
from tuning_provider.vertex.client import rest

__all__ = ["read_metric_series"]

# The run a tuning job writes its metrics to, in the experiment's backing TensorBoard.
_EXPERIMENT_RUN_SCHEMA = "system.ExperimentRun"


def read_metric_series(conn: Connection, job: JobRecord, retry: RetryPolicy = DEFAULT_RETRY) -> MetricSeries:
    """Every metric series of a job, read the way Vertex exposes them (and the way
    aiplatform_v1's MetadataService and TensorboardService clients call them): the job's
    experiment context -> its `backing_tensorboard_resource` and its ExperimentRun ->
    ListTensorboardTimeSeries on that run -> BatchReadTensorboardTimeSeriesData.
    Empty for a job that has no experiment yet (pending, or failed before training)."""
    experiment = job.outputs.experiment
    if not experiment:
        return MetricSeries()
    context = call(f"reading experiment {experiment}", lambda: rest(conn, "get", experiment), retry)
    tensorboard = (context.get("metadata") or {}).get("backing_tensorboard_resource")
    if not tensorboard:
        return MetricSeries()
    store = experiment.split("/contexts/", 1)[0]
    query = urlencode({"filter": f'schema_title="{_EXPERIMENT_RUN_SCHEMA}" AND parent_contexts:"{experiment}"'})
    runs = call(f"listing the runs of {experiment}", lambda: rest(conn, "get", f"{store}/contexts?{query}"), retry)
    run_contexts = runs.get("contexts") or []
    if not run_contexts:
        return MetricSeries()
    run = f"{tensorboard}/experiments/{resource_id(experiment)}/runs/{run_contexts[0]['displayName']}"
    listed = call(f"listing the time series of {run}", lambda: rest(conn, "get", f"{run}/timeSeries"), retry)
    series = {resource_id(s["name"]): s["displayName"] for s in listed.get("tensorboardTimeSeries", [])}
    if not series:
        return MetricSeries()
    query = urlencode([("timeSeries", f"{run}/timeSeries/{series_id}") for series_id in series])
    data = call(f"reading the time series of {run}", lambda: rest(conn, "get", f"{tensorboard}:batchRead?{query}"),
                retry)
    points = {
        series[d["tensorboardTimeSeriesId"]]: sorted(
            (int(v["step"]), float(v["scalar"]["value"])) for v in d.get("values", []) if "scalar" in v
        )
        for d in data.get("timeSeriesData", [])
        if d.get("tensorboardTimeSeriesId") in series
    }
    return MetricSeries(points)
