"""evaluationConfig as google-genai sends it (metrics converted to Vertex's metric specs,
outputConfig in snake_case inside): accepted and echoed in us-central1, refused elsewhere or
when incomplete; a succeeded job reports its evaluation run."""

from __future__ import annotations

import pytest
from google.genai import errors, types

from tests.conftest import PROJECT


@pytest.fixture
def evaluation():
    return types.EvaluationConfig(
        metrics=[types.Metric(name="bleu")],
        output_config=types.OutputConfig(gcs_destination=types.GcsDestination(output_uri_prefix="gs://b/eval/")),
        autorater_config=types.AutoraterConfig(sampling_count=2),
    )


def test_a_job_with_evaluation_echoes_it_and_reports_its_run(genai_client, start_tuning_job, write_dataset,
                                                              wait_for_job, evaluation, vertex_http):
    job = start_tuning_job(genai_client, write_dataset(), evaluation_config=evaluation)
    done = wait_for_job(genai_client, job.name)
    # Echoed inside supervisedTuningSpec, as the proto has it (google-genai reads it elsewhere).
    _, _, body = vertex_http("GET", f"/v1/{job.name}")
    echoed = body["supervisedTuningSpec"]["evaluationConfig"]
    assert echoed["outputConfig"] == {"gcsDestination": {"outputUriPrefix": "gs://b/eval/"}}
    assert echoed["autoraterConfig"] == {"samplingCount": 2}
    (run,) = done.evaluate_dataset_runs
    assert run.checkpoint_id == done.tuned_model.checkpoints[-1].checkpoint_id
    assert run.evaluate_dataset_response.output_info.gcs_output_directory.startswith("gs://b/eval/")


def test_evaluation_outside_us_central1_is_refused(make_genai_client, emulator, start_tuning_job, write_dataset,
                                                   evaluation):
    client = make_genai_client(emulator, location="europe-west4")
    with pytest.raises(errors.ClientError, match="supported only in us-central1"):
        start_tuning_job(client, write_dataset(), base_model="gemini-3.5-flash", evaluation_config=evaluation)


@pytest.mark.parametrize(
    ("config", "phrase"),
    [
        ({"metrics": [], "outputConfig": {"gcsDestination": {"outputUriPrefix": "gs://b/e/"}}}, "at least one metric"),
        ({"metrics": [{"bleuSpec": {}}]}, "output_uri_prefix must be a Cloud Storage URI"),
        ({"metrics": [{"bleuSpec": {}}], "outputConfig": {"gcsDestination": {"outputUriPrefix": "gs://b/e/"}},
          "autoraterConfig": {"samplingCount": 64}}, "between 1 and 32"),
        ({"metrics": [{"bleuSpec": {}}], "outputs": {}}, "Unknown name"),
    ],
)
def test_incomplete_evaluation_configs_are_refused(vertex_http, tuning_parent, write_dataset, config, phrase):
    body = {"baseModel": "gemini-3.5-flash",
            "supervisedTuningSpec": {"trainingDatasetUri": write_dataset(), "evaluationConfig": config}}
    code, _, answer = vertex_http("POST", f"/v1/{tuning_parent}/tuningJobs", body)
    assert (code, phrase in answer["error"]["message"]) == (400, True), answer
    assert PROJECT in tuning_parent
