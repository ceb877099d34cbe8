"""google-cloud-aiplatform's generated v1 clients against an emulator, and a job's training
metrics read through them the way Vertex exposes them: GetTuningJob -> the experiment context
-> its backing TensorBoard and ExperimentRun -> ListTensorboardTimeSeries on the run ->
BatchReadTensorboardTimeSeriesData. Shared by the emulator's tests and the provider's (which
reads the same REST resources through google-genai)."""

from __future__ import annotations

from typing import Any

from google.cloud import aiplatform_v1 as v1
from google.oauth2.credentials import Credentials

from tuning_provider.emulator import Emulator


def aiplatform_client(client_class: type[Any], emulator: Emulator) -> Any:
    """A generated client on the REST transport, pointed at the emulator."""
    return client_class(credentials=Credentials(token="test-token"), transport="rest",
                        client_options={"api_endpoint": emulator.url})


def read_metrics_with_aiplatform(emulator: Emulator, job_name: str) -> dict[str, list[tuple[int, float]]]:
    """{series display name: [(step, value), ...]} of a tuning job."""
    metadata = aiplatform_client(v1.MetadataServiceClient, emulator)
    boards = aiplatform_client(v1.TensorboardServiceClient, emulator)
    job = aiplatform_client(v1.GenAiTuningServiceClient, emulator).get_tuning_job(name=job_name)
    experiment = metadata.get_context(name=job.experiment)
    tensorboard = experiment.metadata["backing_tensorboard_resource"]
    [run] = metadata.list_contexts(request=v1.ListContextsRequest(
        parent=job.experiment.split("/contexts/")[0],
        filter=f'schema_title="system.ExperimentRun" AND parent_contexts:"{job.experiment}"',
    ))
    run_name = f"{tensorboard}/experiments/{experiment.name.rsplit('/', 1)[1]}/runs/{run.display_name}"
    series = list(boards.list_tensorboard_time_series(parent=run_name))
    data = boards.batch_read_tensorboard_time_series_data(request=v1.BatchReadTensorboardTimeSeriesDataRequest(
        tensorboard=tensorboard, time_series=[s.name for s in series]))
    names = {s.name.rsplit("/", 1)[1]: s.display_name for s in series}
    return {names[d.tensorboard_time_series_id]: [(p.step, p.scalar.value) for p in d.values]
            for d in data.time_series_data}
