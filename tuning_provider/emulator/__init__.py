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

Modules: `app` (the route table, Google's error body), `wire` and `messages` (reading requests
by the proto3 JSON mapping, writing responses for the API version asked for), `state` (the
resources put together: `tuning_jobs` and its `timeline`, `datasets`, `models`, `endpoints`,
`experiments`, `tensorboards`, on a shared `store`), `metrics` and `responder` (deterministic
imitations of training curves and of a tuned model's answers: no neural network), `gcs`,
`bigquery` (files standing in for the tables of multimodal datasets), `server` (HTTP serving,
`Emulator`, signal handling).
"""

from tuning_provider.emulator.server import Emulator

__all__ = ["Emulator"]
