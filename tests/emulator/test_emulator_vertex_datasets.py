"""A Vertex multimodal dataset in place of a gs:// file: google-genai sends its resource name in
trainingDatasetUri. The emulator holds no such datasets: it refuses one in another region at
create, and fails the job on any other as Vertex fails on a dataset that does not exist."""

from __future__ import annotations

import warnings

from google.genai import types

from tests.conftest import LOCATION, PROJECT


def test_a_dataset_in_another_region_is_refused(vertex_http, tuning_parent):
    body = {"baseModel": "gemini-3.5-flash", "supervisedTuningSpec": {
        "trainingDatasetUri": f"projects/{PROJECT}/locations/europe-west4/datasets/1"}}
    code, _, answer = vertex_http("POST", f"/v1/{tuning_parent}/tuningJobs", body)
    assert code == 400 and "use a dataset in the job's region" in answer["error"]["message"]


def test_a_job_on_an_unknown_dataset_fails_and_echoes_it(genai_client, wait_for_job):
    dataset = f"projects/{PROJECT}/locations/{LOCATION}/datasets/1"
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*experimental")
        job = genai_client.tunings.tune(base_model="gemini-3.5-flash",
                                        training_dataset=types.TuningDataset(vertex_dataset_resource=dataset))
    assert job.supervised_tuning_spec.training_dataset_uri == dataset
    done = wait_for_job(genai_client, job.name)
    assert done.state == types.JobState.JOB_STATE_FAILED
    assert done.error.message == f"Failed to read the training dataset: dataset {dataset} does not exist."
