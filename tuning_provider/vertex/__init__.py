"""The only code that talks to Vertex AI (through google-genai) and reads Cloud Storage
(through google-cloud-storage): the transport.

    from tuning_provider import vertex
    conn = vertex.connect(project, region, api_endpoint)
    job, adopted = vertex.submit_or_adopt(conn, spec)

Modules, each one concern:
- `client`: clients built from a `Connection` (the one place credentials are picked), kept
  per thread; the one use of google-genai's private request, for REST calls it has no
  method for.
- `boundary`: the one translation of foreign errors into `tuning_provider.errors`, and the
  retry policies (backoff, riding out an outage), for Vertex and Cloud Storage alike.
- `convert`: google-genai's types as this package's records, and a spec as `tune` arguments.
- `jobs`: tuning jobs: submit or adopt, get, find, list, wait, cancel and wait.
- `models`: tuned models and endpoints: serving or not, base model, generate, removal.
- `metrics`: a job's training metric series.
- `datasets`: Vertex multimodal datasets.
- `storage`: gs:// objects: an object's version, its bytes by range.
The connection value lives in `tuning_provider.connection`, the records returned in
`tuning_provider.records` (neither imports google-genai); both are re-exported here.
"""

from __future__ import annotations

from tuning_provider.connection import Connection, connect
from tuning_provider.records import JobRecord, JobState, MetricSeries
from tuning_provider.vertex.boundary import (
    DEFAULT_RETRY,
    OutageWatch,
    Removal,
    RetryPolicy,
    outage_tolerant,
)
from tuning_provider.vertex.convert import creation_settings, evaluation_config_problem
from tuning_provider.vertex.datasets import vertex_dataset_problem
from tuning_provider.vertex.jobs import (
    cancel_and_wait,
    find_tuning_job,
    find_tuning_job_by_fingerprint,
    get_tuning_job,
    list_tuning_jobs,
    request_cancel,
    submit_or_adopt,
    wait_for_tuning_job,
)
from tuning_provider.vertex.metrics import read_metric_series
from tuning_provider.vertex.models import (
    HOLDER_ALIAS_PREFIX,
    Removed,
    TunedModelRemoval,
    delete_tuned_model,
    generate_content,
    hold_tuned_model,
    release_tuned_model,
    serving_problem,
    tuned_model_base,
    tuned_model_holders,
)

__all__ = [
    "DEFAULT_RETRY",
    "HOLDER_ALIAS_PREFIX",
    "Connection",
    "JobRecord",
    "JobState",
    "MetricSeries",
    "OutageWatch",
    "Removal",
    "Removed",
    "RetryPolicy",
    "TunedModelRemoval",
    "cancel_and_wait",
    "connect",
    "creation_settings",
    "delete_tuned_model",
    "evaluation_config_problem",
    "find_tuning_job",
    "find_tuning_job_by_fingerprint",
    "generate_content",
    "get_tuning_job",
    "hold_tuned_model",
    "list_tuning_jobs",
    "outage_tolerant",
    "read_metric_series",
    "release_tuned_model",
    "request_cancel",
    "serving_problem",
    "submit_or_adopt",
    "tuned_model_base",
    "tuned_model_holders",
    "vertex_dataset_problem",
    "wait_for_tuning_job",
]
