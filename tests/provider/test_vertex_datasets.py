"""Training or validation data as a Vertex multimodal dataset (google-genai's
vertex_dataset_resource) instead of a gs:// JSONL file. Check looks the dataset up through
google-genai (it must exist and be multimodal; its region is the job's) and says in one line
what it cannot check: the rows, which live in BigQuery. The job then reads the rows, and trains
and serves as on a file; a bad row fails it, named."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi.output import Unknown
from pulumi.runtime.rpc import UNKNOWN

from tests.conftest import SAMPLE_EXAMPLES
from tests.multimodal_datasets import create_dataset, request_rows, write_table
from tests.provider.provider_helpers import LOCATION, PROJECT, checked, make_provider, normalised
from tests.provider.provider_helpers import inputs as file_inputs
from tuning_provider import vertex
from tuning_provider.errors import JobFailed
from tuning_provider.spec import TuningJobSpec
from tuning_provider.vertex import convert

MISSING = f"projects/{PROJECT}/locations/{LOCATION}/datasets/5"
QUESTION, ANSWER = SAMPLE_EXAMPLES[0]


def inputs(train: str, **overrides: Any) -> dict[str, Any]:
    """Inputs with the data check on, as by default: it is what looks the dataset up."""
    return file_inputs(train, **{"validate_dataset": True, **overrides})


@pytest.fixture
def provider(emulator):
    return make_provider(emulator.url)


@pytest.fixture
def dataset(emulator) -> str:
    return str(create_dataset(emulator, write_table(emulator, request_rows(SAMPLE_EXAMPLES))).name)


def test_check_finds_the_dataset_and_says_what_it_cannot_check(provider, dataset, capfd):
    props = checked(provider, inputs(dataset))
    assert props["training_dataset_uri"] == dataset
    err = capfd.readouterr().err
    assert f"training_dataset_uri is the multimodal dataset {dataset}; check found it, but not its rows" in err
    assert 'assess_tuning_validity(model_name=..., dataset_usage="SFT_TRAINING")' in err


def test_check_fails_on_a_dataset_that_does_not_exist(provider, write_dataset):
    (failure,) = provider.check({}, inputs(write_dataset(), validation_dataset_uri=MISSING)).failures
    assert failure.property == "validation_dataset_uri"
    expected = f"validation_dataset_uri names the Vertex dataset {MISSING}, but it does not exist"
    assert failure.reason.startswith(expected)
    assert "name a multimodal dataset in us-central1" in failure.reason


def test_check_fails_on_a_dataset_that_is_not_multimodal(provider, emulator):
    image = "gs://google-cloud-aiplatform/schema/dataset/metadata/image_1.0.0.yaml"
    name = create_dataset(emulator, "bq://unused.a.b", None, schema=image).name
    (failure,) = provider.check({}, inputs(name)).failures
    assert failure.property == "training_dataset_uri"
    assert f"but it is not a multimodal dataset (its metadata schema is {image})" in failure.reason


def test_check_wants_the_dataset_in_the_jobs_region(provider):
    other = f"projects/{PROJECT}/locations/europe-west4/datasets/5"
    found = provider.check({}, inputs("gs://tuning-data/t.jsonl", validation_dataset_uri=other)).failures
    assert [(f.property, "the dataset's own region" in f.reason) for f in found] == [("validation_dataset_uri", True)]


@pytest.mark.parametrize("unknown", [UNKNOWN, Unknown()], ids=["sentinel", "object"])
def test_an_unknown_dataset_at_preview_passes_check_untouched(provider, unknown):
    result = provider.check({}, inputs(unknown))
    assert result.failures == []
    assert result.inputs["training_dataset_uri"] is unknown


def test_google_genai_sends_it_in_the_dataset_uri_field():
    spec = TuningJobSpec.model_validate(inputs(MISSING, validation_dataset_uri=MISSING.replace("/5", "/6")))
    arguments = convert.tune_arguments(spec, {})
    assert arguments["training_dataset"].vertex_dataset_resource == MISSING
    assert arguments["config"].validation_dataset.vertex_dataset_resource.endswith("/datasets/6")


def test_a_job_on_a_dataset_trains_and_its_endpoint_answers(provider, emulator, dataset):
    outs = provider.create(checked(provider, inputs(dataset))).outs
    assert outs["state"] == "SUCCEEDED" and outs["tuning_data_stats"]["examples"] == len(SAMPLE_EXAMPLES)
    conn = vertex.connect(PROJECT, LOCATION, emulator.url)
    assert vertex.generate_content(conn, outs["tuned_model_endpoint"], QUESTION, temperature=0) == ANSWER


def test_a_bad_row_fails_the_create_naming_the_row(provider, emulator):
    rows = request_rows(SAMPLE_EXAMPLES)
    rows[4]["requests"]["contents"][1]["parts"] = []
    name = create_dataset(emulator, write_table(emulator, rows)).name
    with pytest.raises(JobFailed, match=f"The training dataset {name} is invalid: row 5: contents\\[1\\].parts"):
        provider.create(checked(provider, inputs(name)))


def test_a_job_on_a_dataset_that_does_not_exist_fails_with_vertexs_reason(provider):
    # As when the dataset is deleted between preview and up: check is not run again.
    with pytest.raises(JobFailed, match=f"dataset {MISSING} does not exist"):
        provider.create(normalised(inputs(MISSING)))
    (job,) = vertex.list_tuning_jobs(vertex.connect(PROJECT, LOCATION, provider.api_endpoint))
    assert job.training_dataset_uri == MISSING


def test_an_unchanged_job_whose_dataset_was_deleted_still_passes_check(provider, emulator, dataset, vertex_http):
    # The job trained on it already: an up that changes nothing must not fail over its data.
    olds = checked(provider, inputs(dataset))
    code, _, _ = vertex_http("DELETE", f"/v1beta1/{dataset}", emulator=emulator)
    assert code == 200
    assert provider.check(olds, inputs(dataset)).failures == []
    # A new job on it would fail, named.
    (failure,) = provider.check(olds, inputs(dataset, epoch_count=3)).failures
    assert failure.property == "training_dataset_uri" and "it does not exist" in failure.reason
