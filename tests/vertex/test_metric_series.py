"""vertex.read_metric_series against the emulator: the same series, by the same REST
resources, as google-cloud-aiplatform's generated MetadataService and TensorboardService
clients read (the provider cannot depend on that library: README, "Metrics, cost and a quality gate")."""

from __future__ import annotations

import time

import pytest
from google.cloud import aiplatform_v1 as v1
from google.oauth2.credentials import Credentials

from tests.conftest import LOCATION, PROJECT
from tuning_provider import vertex
from tuning_provider.emulator import Emulator


def gapic(client_class: type, emulator: Emulator):  # type: ignore[no-untyped-def]
    return client_class(credentials=Credentials(token="test-token"), transport="rest",
                        client_options={"api_endpoint": emulator.url})


def read_with_aiplatform(emulator: Emulator, job_name: str) -> dict[str, list[tuple[int, float]]]:
    metadata, boards = gapic(v1.MetadataServiceClient, emulator), gapic(v1.TensorboardServiceClient, emulator)
    job = gapic(v1.GenAiTuningServiceClient, emulator).get_tuning_job(name=job_name)
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


@pytest.fixture
def finished_job(genai_client, start_tuning_job, write_dataset, sample_examples):  # type: ignore[no-untyped-def]
    from google.genai import types

    job = start_tuning_job(genai_client, write_dataset(), base_model="gemini-3.5-flash", epoch_count=3,
                           validation_dataset=types.TuningValidationDataset(
                               gcs_uri=write_dataset("val.jsonl", sample_examples[:4])))
    deadline = time.monotonic() + 20
    while genai_client.tunings.get(name=job.name).state != types.JobState.JOB_STATE_SUCCEEDED:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return job.name


def test_the_provider_reads_what_the_aiplatform_clients_read(emulator, finished_job):
    conn = vertex.Connection(PROJECT, LOCATION, emulator.url)
    series = vertex.read_metric_series(conn, vertex.get_tuning_job(conn, finished_job))
    assert series.points == read_with_aiplatform(emulator, finished_job)
    assert len(series.points) == 6
    assert len(series.points["/train_total_loss"]) == series.points["/eval_total_loss"][-1][0]


def test_a_job_without_an_experiment_has_no_series(emulator, genai_client, start_tuning_job):
    job = start_tuning_job(genai_client, "gs://tuning-data/missing.jsonl", base_model="gemini-3.5-flash")
    conn = vertex.Connection(PROJECT, LOCATION, emulator.url)
    assert vertex.read_metric_series(conn, vertex.get_tuning_job(conn, job.name)).points == {}
