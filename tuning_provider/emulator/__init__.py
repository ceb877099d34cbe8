"""A local emulator of the Vertex AI REST subset this project uses (tuning jobs, tuned
models, endpoints, generateContent) and of Cloud Storage reads, on one HTTP port, with its
state in SQLite so it survives restarts. The unmodified google-genai client works against it:

    with Emulator(".state/emulator", ".state/gcs", job_duration=2.0) as emu:
        client = genai.Client(
            vertexai=True, project="p", location="us-central1",
            credentials=google.oauth2.credentials.Credentials(token="any"),
            http_options=HttpOptions(base_url=emu.url, api_version="v1"),
        )

Modules: `state` (the resources, methods named after API operations), `app` (routes, request
parsing, Google's error body), `responder` (deterministic answers: an imitation of a tuned
model, no neural network), `server` (HTTP serving, `Emulator`, signal handling).
"""

from tuning_provider.emulator.server import Emulator

__all__ = ["Emulator"]
