"""Training or validation data as a Vertex multimodal dataset (google-genai's
vertex_dataset_resource) instead of a gs:// JSONL file: check verifies its name and region only,
and says so; the emulator holds no such datasets, so a job on one fails as Vertex fails for a
dataset that does not exist."""

from __future__ import annotations

import pytest

from tests.provider.test_provider import LOCATION, PROJECT, checked, inputs, make_provider
from tuning_provider import vertex
from tuning_provider.errors import JobFailed
from tuning_provider.spec import TuningJobSpec

DATASET = f"projects/{PROJECT}/locations/{LOCATION}/datasets/5"


@pytest.fixture
def provider(emulator):
    return make_provider(emulator.url)


def test_check_accepts_a_vertex_dataset_and_says_what_it_cannot_check(provider, capfd):
    props = checked(provider, inputs(DATASET, validate_dataset=True))
    assert props["training_dataset_uri"] == DATASET
    assert "names a Vertex dataset" in capfd.readouterr().err


def test_check_wants_the_dataset_in_the_jobs_region(provider):
    other = f"projects/{PROJECT}/locations/europe-west4/datasets/5"
    found = provider.check({}, inputs("gs://tuning-data/t.jsonl", validation_dataset_uri=other)).failures
    assert [(f.property, "the dataset's own region" in f.reason) for f in found] == [("validation_dataset_uri", True)]


def test_google_genai_sends_it_in_the_dataset_uri_field():
    spec = TuningJobSpec.model_validate(inputs(DATASET, validation_dataset_uri=DATASET.replace("/5", "/6")))
    arguments = vertex._tune_arguments(spec, {})
    assert arguments["training_dataset"].vertex_dataset_resource == DATASET
    assert arguments["config"].validation_dataset.vertex_dataset_resource.endswith("/datasets/6")


def test_a_job_on_a_dataset_that_does_not_exist_fails_with_vertexs_reason(provider):
    with pytest.raises(JobFailed, match=f"dataset {DATASET} does not exist"):
        provider.create(checked(provider, inputs(DATASET)))
    (job,) = vertex.list_tuning_jobs(vertex.Connection(PROJECT, LOCATION, provider.api_endpoint))
    assert job.training_dataset_uri == DATASET
