"""Jobs that Vertex accepts and that then fail: missing files, invalid data, an adapter size
the base model does not support. Each ends JOB_STATE_FAILED with error code 3 and a
message that names the cause."""

from __future__ import annotations

import json

from google.genai import types


def example_line(question, answer):
    return json.dumps({"contents": [{"role": "user", "parts": [{"text": question}]},
                                    {"role": "model", "parts": [{"text": answer}]}]})


def failed(client, job, wait_for_job):
    done = wait_for_job(client, job.name)
    assert done.state == types.JobState.JOB_STATE_FAILED
    assert done.error.code == 3
    assert done.tuned_model is None and done.end_time is not None
    return done.error.message


def test_a_missing_training_file_fails_the_job(genai_client, start_tuning_job, wait_for_job):
    job = start_tuning_job(genai_client, "gs://tuning-data/nowhere.jsonl")
    assert job.state == types.JobState.JOB_STATE_PENDING  # accepted first, as Vertex does
    message = failed(genai_client, job, wait_for_job)
    assert "gs://tuning-data/nowhere.jsonl does not exist" in message


def test_a_missing_validation_file_fails_the_job(genai_client, start_tuning_job, write_dataset, wait_for_job):
    job = start_tuning_job(
        genai_client, write_dataset(),
        validation_dataset=types.TuningValidationDataset(gcs_uri="gs://tuning-data/val.jsonl"),
    )
    message = failed(genai_client, job, wait_for_job)
    assert "validation" in message and "does not exist" in message


def test_an_invalid_line_fails_the_job_naming_the_line(genai_client, start_tuning_job, write_dataset, wait_for_job):
    good = example_line("hi", "hello")
    uri = write_dataset("broken.jsonl", lines=[good, good, '{"contents": []}', good])
    message = failed(genai_client, start_tuning_job(genai_client, uri), wait_for_job)
    assert "line 3" in message
    assert uri in message


def test_an_unsupported_adapter_size_fails_the_job(genai_client, start_tuning_job, write_dataset, wait_for_job):
    job = start_tuning_job(
        genai_client, write_dataset(), base_model="gemini-3.5-flash",
        adapter_size=types.AdapterSize.ADAPTER_SIZE_THIRTY_TWO,
    )
    message = failed(genai_client, job, wait_for_job)
    assert "The adapter size is not supported for this base model" in message


def test_a_failed_job_produces_no_model(genai_client, start_tuning_job, wait_for_job, vertex_http):
    job = start_tuning_job(genai_client, "gs://tuning-data/nowhere.jsonl")
    failed(genai_client, job, wait_for_job)
    status, _, body = vertex_http("GET", f"/v1/{job.name}")
    assert status == 200
    assert "tunedModel" not in body and "tuningDataStats" not in body
