"""Continuous tuning: a job that starts from a tuned model (`preTunedModel`), as google-genai
sends it when tune()'s base_model is a model resource name. The emulator resolves the tuned
model to its Google base model, echoes it in preTunedModel.baseModel, keeps the base model's
limits, and refuses what Vertex refuses."""

from __future__ import annotations

import pytest
from google.genai import errors, types

from tests.conftest import LOCATION, PROJECT

MADRID = (("What is the capital of Spain?", "The capital of Spain is Madrid."),) * 3


@pytest.fixture
def emulator(emulator_factory, manual_clock):
    return emulator_factory(clock=manual_clock)


@pytest.fixture
def finished(emulator, manual_clock, genai_client):
    def finish(job: types.TuningJob) -> types.TuningJob:
        manual_clock.advance(emulator.job_duration)
        return genai_client.tunings.get(name=job.name)

    return finish


@pytest.fixture
def tuned(genai_client, start_tuning_job, write_dataset, finished) -> types.TuningJob:
    return finished(start_tuning_job(genai_client, write_dataset(), base_model="gemini-3.5-flash", epoch_count=2))


def test_tuning_further_from_a_checkpoint_echoes_the_source_and_learns_both_sets(
    genai_client, start_tuning_job, write_dataset, finished, tuned
):
    source = tuned.tuned_model.model
    job = start_tuning_job(genai_client, write_dataset("more.jsonl", MADRID), base_model=source,
                           pre_tuned_model_checkpoint_id="1", epoch_count=1)
    assert job.base_model is None
    assert job.pre_tuned_model.tuned_model_name == source
    assert job.pre_tuned_model.checkpoint_id == "1"
    assert job.pre_tuned_model.base_model == "gemini-3.5-flash"
    done = finished(job)
    assert done.state == types.JobState.JOB_STATE_SUCCEEDED
    answer = genai_client.models.generate_content(model=done.tuned_model.endpoint,
                                                  contents="What is the capital of France?")
    assert answer.text == "The capital of France is Paris."  # learned by the model it started from


def test_a_tuned_model_names_its_base_model_and_job_in_its_labels(genai_client, tuned):
    model = genai_client.models.get(model=tuned.tuned_model.model.split("@")[0])
    assert model.tuned_model_info.base_model == "gemini-3-5-flash"
    assert model.labels["google-vertex-llm-tuning-job-id"] == tuned.name.rsplit("/", 1)[-1]


def test_the_base_models_adapter_sizes_still_apply(genai_client, start_tuning_job, write_dataset, finished, tuned):
    job = start_tuning_job(genai_client, write_dataset(), base_model=tuned.tuned_model.model,
                           adapter_size="ADAPTER_SIZE_THIRTY_TWO")
    done = finished(job)
    assert done.state == types.JobState.JOB_STATE_FAILED
    assert "adapter size is not supported" in done.error.message


@pytest.mark.parametrize(
    ("pre_tuned", "status", "phrase"),
    [
        ({"tunedModelName": f"projects/{PROJECT}/locations/{LOCATION}/models/404"}, 404, "does not exist"),
        ({"tunedModelName": "models/1"}, 400, "must be a model resource name"),
        ({"tunedModelName": f"projects/{PROJECT}/locations/europe-west4/models/1"}, 400, "tuned model's region"),
        ({"tunedModelName": "MODEL", "checkpointId": "9"}, 400, "Checkpoint 9 does not exist"),
        ({"tunedModelName": "MODEL", "unknownField": 1}, 400, "Unknown name"),
    ],
)
def test_bad_pre_tuned_models_are_refused_as_vertex_does(vertex_http, tuning_parent, write_dataset, tuned,
                                                        pre_tuned, status, phrase):
    pre_tuned = {k: (tuned.tuned_model.model if v == "MODEL" else v) for k, v in pre_tuned.items()}
    body = {"preTunedModel": pre_tuned, "supervisedTuningSpec": {"trainingDatasetUri": write_dataset()}}
    code, _, answer = vertex_http("POST", f"/v1/{tuning_parent}/tuningJobs", body)
    assert (code, phrase in answer["error"]["message"]) == (status, True), answer


def test_base_model_and_pre_tuned_model_together_are_refused(vertex_http, tuning_parent, write_dataset, tuned):
    body = {"baseModel": "gemini-3.5-flash", "preTunedModel": {"tunedModelName": tuned.tuned_model.model},
            "supervisedTuningSpec": {"trainingDatasetUri": write_dataset()}}
    code, _, answer = vertex_http("POST", f"/v1/{tuning_parent}/tuningJobs", body)
    assert code == 400 and "Oneof field 'source_model'" in answer["error"]["message"]


def test_a_model_name_from_another_project_is_not_found(genai_client, start_tuning_job, write_dataset, tuned):
    other = tuned.tuned_model.model.replace(f"projects/{PROJECT}/", "projects/other-project/")
    with pytest.raises(errors.ClientError) as info:
        start_tuning_job(genai_client, write_dataset(), base_model=other)
    assert info.value.code == 404
