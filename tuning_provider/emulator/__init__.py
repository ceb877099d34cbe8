"""A local emulator of the Vertex AI REST subset tuning uses (tuning jobs, multimodal
datasets, tuned models, endpoints, generateContent, the jobs' experiments in ML Metadata and
their metrics in TensorBoard) and of Cloud Storage reads, on one HTTP port, with its state in SQLite so it
survives restarts. Unmodified clients work against it: google-genai, google-cloud-aiplatform's
generated clients and the Vertex AI SDK (REST transport), google-cloud-storage:

    with Emulator(".state/emulator", ".state/gcs", job_duration=2.0) as emu:
        client = genai.Client(
            vertexai=True, project="p", location="us-central1",
            credentials=google.oauth2.credentials.Credentials(token="any"),
            http_options=HttpOptions(base_url=emu.url, api_version="v1"),
        )

It fails on request, before a request acts or after (`faults`):

    Emulator(..., faults=["POST tuningJobs after=reset"])   # the create acts, its answer is lost
    emu.faults.add("GET tuningJobs/* before=503 times=2")    # while it runs

Its layers, each importing only those below it:

    server.py      `Emulator`: everything put together, started and stopped
    http/          the HTTP layer: `app` (the route table, faults enacted, Google's error body),
                   `request`, `response`, `wire` and `messages` (the proto3 JSON mapping),
                   `storage_api` (Cloud Storage's JSON API), `faults`, `serving` (the socket)
    vertex/        the Vertex resources: `state` puts `tuning_jobs` (with `job_creation` and
                   `timeline`), `datasets`, `model_registry`, `endpoints`, `experiments`,
                   `tensorboards` together on one SQLite `store`; `metrics` and `responder`
                   imitate training curves and a tuned model's answers (no neural network)
    gcs.py         Cloud Storage's objects: buckets as folders
    bigquery.py    files standing in for the BigQuery tables of multimodal datasets
    paging.py, formats.py   what all of them share: list pages, times, gs:// URIs, field names
"""

from tuning_provider.emulator.http.faults import FaultPlan, FaultRule
from tuning_provider.emulator.server import Emulator

__all__ = ["Emulator", "FaultPlan", "FaultRule"]
