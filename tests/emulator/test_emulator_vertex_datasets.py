"""A Vertex multimodal dataset in place of a gs:// file: google-genai sends its resource name in
trainingDatasetUri (or validationDatasetUri). The job reads the dataset's rows from its
BigQuery table through the dataset's read config, validates them as it validates a JSONL file
(a bad row fails the job, named), then trains and serves like a gs:// job. A dataset that does
not exist, is not multimodal, or has no read config fails the job; one in another region is
refused at create."""

from __future__ import annotations

import warnings

import pytest
from google.genai import types

from tests.conftest import LOCATION, PROJECT, SAMPLE_EXAMPLES, example_line
from tests.multimodal_datasets import create_dataset, request_rows, write_table

QUESTION, ANSWER = SAMPLE_EXAMPLES[0]


@pytest.fixture
def emulator(emulator_factory, manual_clock):
    return emulator_factory(clock=manual_clock)


@pytest.fixture
def tune(genai_client, emulator, manual_clock):
    """Start a job on `training` (a dataset name or gs:// URI) and return it once it has ended."""

    def run(training: str, validation: str | None = None) -> types.TuningJob:
        def dataset(source: str) -> dict[str, str]:
            return {"gcs_uri": source} if source.startswith("gs://") else {"vertex_dataset_resource": source}

        config = types.CreateTuningJobConfig(epoch_count=2)
        if validation:
            config.validation_dataset = types.TuningValidationDataset(**dataset(validation))
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*experimental")
            job = genai_client.tunings.tune(base_model="gemini-3.5-flash",
                                            training_dataset=types.TuningDataset(**dataset(training)), config=config)
        manual_clock.advance(emulator.job_duration)
        return genai_client.tunings.get(name=job.name)

    return run


def test_a_job_on_a_multimodal_dataset_trains_and_serves_what_it_learned(emulator, genai_client, tune):
    dataset = create_dataset(emulator, write_table(emulator, request_rows(SAMPLE_EXAMPLES)))
    done = tune(dataset.name)
    assert done.supervised_tuning_spec.training_dataset_uri == dataset.name
    assert done.state == types.JobState.JOB_STATE_SUCCEEDED, done.error
    assert done.tuning_data_stats.supervised_tuning_data_stats.tuning_dataset_example_count == len(SAMPLE_EXAMPLES)
    answer = genai_client.models.generate_content(model=done.tuned_model.endpoint, contents=QUESTION)
    assert answer.text == ANSWER


def test_a_validation_dataset_can_be_a_multimodal_dataset(emulator, tune, write_dataset):
    rows = request_rows(SAMPLE_EXAMPLES[:3])
    held_out = create_dataset(emulator, write_table(emulator, rows, "tuning.held_out"))
    done = tune(write_dataset(), held_out.name)
    assert done.state == types.JobState.JOB_STATE_SUCCEEDED, done.error
    assert done.supervised_tuning_spec.validation_dataset_uri == held_out.name
    rows[0]["requests"]["contents"][0]["role"] = "system"
    bad = create_dataset(emulator, write_table(emulator, rows, "tuning.bad_held_out"))
    failed = tune(write_dataset(), bad.name)
    assert failed.error.message.startswith(f"The validation dataset {bad.name} is invalid: row 1: ")


def test_a_bad_request_in_a_row_fails_the_job_naming_the_row(emulator, tune):
    rows = request_rows(SAMPLE_EXAMPLES[:3])
    rows[1]["requests"]["contents"].pop()  # the model's answer is missing
    dataset = create_dataset(emulator, write_table(emulator, rows))
    done = tune(dataset.name)
    assert done.state == types.JobState.JOB_STATE_FAILED
    assert done.error.message.startswith(f"The training dataset {dataset.name} is invalid: row 2: ")
    assert "end each example with the model's answer" in done.error.message


def test_a_row_without_the_request_column_fails_the_job_naming_the_row(emulator, tune):
    rows = [*request_rows(SAMPLE_EXAMPLES[:2]), {"prompt": QUESTION}]
    dataset = create_dataset(emulator, write_table(emulator, rows))
    done = tune(dataset.name)
    assert done.state == types.JobState.JOB_STATE_FAILED
    assert f"row 3 of bq://{PROJECT}.tuning.examples: the row has no column 'requests'" in done.error.message


def test_requests_stored_as_json_text_are_read_too(emulator, tune):
    rows = [{"requests": example_line(q, a)} for q, a in SAMPLE_EXAMPLES]  # a STRING column
    done = tune(create_dataset(emulator, write_table(emulator, rows)).name)
    assert done.state == types.JobState.JOB_STATE_SUCCEEDED, done.error


def test_a_template_config_assembles_each_row_from_its_columns(emulator, genai_client, tune):
    rows = [{"question": q, "reply": a} for q, a in SAMPLE_EXAMPLES]
    template = {"geminiTemplateConfig": {
        "geminiExample": {"contents": [{"role": "user", "parts": [{"text": "{question}"}]},
                                       {"role": "model", "parts": [{"text": "{answer}"}]}]},
        "fieldMapping": {"answer": "reply"},
    }}
    done = tune(create_dataset(emulator, write_table(emulator, rows), template).name)
    assert done.state == types.JobState.JOB_STATE_SUCCEEDED, done.error
    answer = genai_client.models.generate_content(model=done.tuned_model.endpoint, contents=QUESTION)
    assert answer.text == ANSWER


def test_a_row_missing_a_templates_column_fails_the_job_naming_the_row(emulator, tune):
    rows = [{"question": q, "answer": a} for q, a in SAMPLE_EXAMPLES[:4]]
    del rows[3]["answer"]
    template = {"geminiTemplateConfig": {"geminiExample": {"contents": [
        {"role": "user", "parts": [{"text": "{question}"}]}, {"role": "model", "parts": [{"text": "{answer}"}]}]}}}
    done = tune(create_dataset(emulator, write_table(emulator, rows), template).name)
    assert done.state == types.JobState.JOB_STATE_FAILED
    assert "row 4 of" in done.error.message and "no value in column 'answer'" in done.error.message


def test_a_dataset_with_no_read_config_fails_the_job(emulator, tune):
    dataset = create_dataset(emulator, write_table(emulator, request_rows(SAMPLE_EXAMPLES)), None)
    done = tune(dataset.name)
    assert done.state == types.JobState.JOB_STATE_FAILED
    assert done.error.message == (
        f"Failed to read the training dataset: dataset {dataset.name} has no Gemini request read config: "
        "attach a template config or name the column holding assembled requests before tuning on it."
    )


def test_a_dataset_that_is_not_multimodal_fails_the_job(emulator, tune):
    image_schema = "gs://google-cloud-aiplatform/schema/dataset/metadata/image_1.0.0.yaml"
    dataset = create_dataset(emulator, "bq://unused.a.b", None, schema=image_schema)
    done = tune(dataset.name)
    assert done.state == types.JobState.JOB_STATE_FAILED
    assert f"dataset {dataset.name} is not a multimodal dataset" in done.error.message


def test_a_dataset_whose_table_is_gone_fails_the_job(emulator, tune):
    table = write_table(emulator, request_rows(SAMPLE_EXAMPLES))
    dataset = create_dataset(emulator, table)
    (emulator.bigquery_dir / PROJECT / "tuning" / "examples.jsonl").unlink()
    done = tune(dataset.name)
    assert done.state == types.JobState.JOB_STATE_FAILED
    assert f"keeps its rows in {table}: Not found: Table" in done.error.message


def test_a_dataset_in_another_region_is_refused(vertex_http, tuning_parent):
    body = {"baseModel": "gemini-3.5-flash", "supervisedTuningSpec": {
        "trainingDatasetUri": f"projects/{PROJECT}/locations/europe-west4/datasets/1"}}
    code, _, answer = vertex_http("POST", f"/v1/{tuning_parent}/tuningJobs", body)
    assert code == 400 and "use a dataset in the job's region" in answer["error"]["message"]


def test_a_job_on_an_unknown_dataset_fails_and_echoes_it(tune):
    dataset = f"projects/{PROJECT}/locations/{LOCATION}/datasets/1"
    done = tune(dataset)
    assert done.supervised_tuning_spec.training_dataset_uri == dataset
    assert done.state == types.JobState.JOB_STATE_FAILED
    assert done.error.message == f"Failed to read the training dataset: dataset {dataset} does not exist."
