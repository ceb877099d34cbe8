"""vertex.read_metric_series against the emulator: the same series, by the same REST
resources, as google-cloud-aiplatform's generated MetadataService and TensorboardService
clients read (the provider cannot depend on that library: docs/tuning-job.md, "Metrics, cost and a quality gate")."""

from __future__ import annotations

import time

import pytest

from tests.aiplatform_reader import read_metrics_with_aiplatform
from tests.conftest import LOCATION, PROJECT
from tuning_provider import vertex


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
    conn = vertex.connect(PROJECT, LOCATION, emulator.url)
    series = vertex.read_metric_series(conn, vertex.get_tuning_job(conn, finished_job))
    assert series.points == read_metrics_with_aiplatform(emulator, finished_job)
    assert len(series.points) == 6
    assert len(series.points["/train_total_loss"]) == series.points["/eval_total_loss"][-1][0]


def test_a_job_without_an_experiment_has_no_series(emulator, genai_client, start_tuning_job):
    job = start_tuning_job(genai_client, "gs://tuning-data/missing.jsonl", base_model="gemini-3.5-flash")
    conn = vertex.connect(PROJECT, LOCATION, emulator.url)
    assert vertex.read_metric_series(conn, vertex.get_tuning_job(conn, job.name)).points == {}
