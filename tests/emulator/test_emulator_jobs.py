"""Tuning jobs through the real google-genai client: create, get, list, cancel."""

from __future__ import annotations

import re

import pytest
from google.genai import errors, types

NUMERIC_ID = r"\d{19}"


def test_create_answers_a_pending_job_echoing_its_inputs(genai_client, write_dataset, tuning_parent, start_tuning_job):
    uri = write_dataset()
    job = start_tuning_job(
        genai_client, uri,
        tuned_model_display_name="capitals",
        description="answers general knowledge",
        epoch_count=2,
        adapter_size=types.AdapterSize.ADAPTER_SIZE_FOUR,
        learning_rate_multiplier=0.5,
        labels={"team": "search", "env": "test"},
        http_options=types.HttpOptions(extra_body={"serviceAccount": "tuner@p.iam.gserviceaccount.com"}),
    )
    assert re.fullmatch(rf"{tuning_parent}/tuningJobs/{NUMERIC_ID}", job.name)
    assert job.state == types.JobState.JOB_STATE_PENDING
    assert job.base_model == "gemini-3.5-flash"
    assert job.tuned_model_display_name == "capitals"
    assert job.description == "answers general knowledge"
    assert job.labels == {"team": "search", "env": "test"}
    assert job.service_account == "tuner@p.iam.gserviceaccount.com"
    spec = job.supervised_tuning_spec
    assert spec.training_dataset_uri == uri
    assert spec.hyper_parameters.epoch_count == 2
    assert spec.hyper_parameters.adapter_size == types.AdapterSize.ADAPTER_SIZE_FOUR
    assert spec.hyper_parameters.learning_rate_multiplier == 0.5
    assert job.create_time is not None and job.end_time is None and job.tuned_model is None


def test_job_runs_to_succeeded_with_model_checkpoints_and_stats(
    genai_client, write_dataset, wait_for_job, tuning_parent, sample_examples, start_tuning_job
):
    job = start_tuning_job(genai_client, write_dataset(), epoch_count=3)
    done = wait_for_job(genai_client, job.name)

    assert done.state == types.JobState.JOB_STATE_SUCCEEDED
    assert done.create_time < done.start_time < done.end_time
    assert done.error is None
    tuned = done.tuned_model
    assert re.fullmatch(rf"{tuning_parent}/models/{NUMERIC_ID}@1", tuned.model)
    assert re.fullmatch(rf"{tuning_parent}/endpoints/{NUMERIC_ID}", tuned.endpoint)
    assert [c.epoch for c in tuned.checkpoints] == [1, 2, 3]
    assert [c.checkpoint_id for c in tuned.checkpoints] == ["1", "2", "3"]
    assert len({c.endpoint for c in tuned.checkpoints}) == 3
    assert tuned.checkpoints[-1].endpoint == tuned.endpoint
    steps_per_epoch = -(-len(sample_examples) // 8)
    assert [c.step for c in tuned.checkpoints] == [steps_per_epoch * e for e in (1, 2, 3)]
    assert done.experiment.startswith(f"{tuning_parent}/metadataStores/default/contexts/tuning-experiment-")
    stats = done.tuning_data_stats.supervised_tuning_data_stats
    assert stats.tuning_dataset_example_count == len(sample_examples)
    assert stats.total_tuning_character_count == sum(len(q) + len(a) for q, a in sample_examples)
    assert stats.total_billable_token_count > 0
    assert stats.tuning_step_count == steps_per_epoch * 3


@pytest.fixture
def clocked(emulator_factory, make_genai_client, manual_clock):
    """A client of an emulator on a manual clock, and a function that lets a job finish."""
    emulator = emulator_factory(clock=manual_clock)
    client = make_genai_client(emulator)

    def finish(name):
        manual_clock.advance(emulator.job_duration)
        return client.tunings.get(name=name)

    return emulator, client, finish


def test_int64_fields_are_json_strings(clocked, write_dataset, vertex_http, sample_examples, start_tuning_job):
    emulator, client, finish = clocked
    job = start_tuning_job(client, write_dataset(), epoch_count=2)
    finish(job.name)
    status, _, body = vertex_http("GET", f"/v1/{job.name}", emulator=emulator)
    assert status == 200
    assert body["supervisedTuningSpec"]["hyperParameters"]["epochCount"] == "2"
    assert body["tunedModel"]["checkpoints"][0]["epoch"] == "1"
    stats = body["tuningDataStats"]["supervisedTuningDataStats"]
    assert stats["tuningDatasetExampleCount"] == str(len(sample_examples))


def test_export_last_checkpoint_only_keeps_one_checkpoint(clocked, write_dataset, start_tuning_job):
    _, client, finish = clocked
    job = start_tuning_job(client, write_dataset(), epoch_count=4, export_last_checkpoint_only=True)
    tuned = finish(job.name).tuned_model
    assert [c.epoch for c in tuned.checkpoints] == [4]
    assert tuned.checkpoints[0].endpoint == tuned.endpoint


def test_unset_epoch_count_uses_the_default_and_is_not_echoed(clocked, write_dataset, start_tuning_job):
    _, client, finish = clocked
    job = start_tuning_job(client, write_dataset())
    done = finish(job.name)
    assert done.supervised_tuning_spec.hyper_parameters is None
    assert len(done.tuned_model.checkpoints) == 3  # state.DEFAULT_EPOCH_COUNT


def test_list_filters_by_label_and_pages(genai_client, write_dataset, start_tuning_job):
    uri = write_dataset()
    wanted = [start_tuning_job(genai_client, uri, labels={"team": "a", "n": str(i)}).name for i in range(5)]
    for _ in range(3):
        start_tuning_job(genai_client, uri, labels={"team": "b"})

    pager = genai_client.tunings.list(config=types.ListTuningJobsConfig(page_size=2, filter='labels.team="a"'))
    assert len(pager.page) == 2
    assert pager.config["page_token"]  # another page follows
    listed = [job.name for job in pager]  # the pager fetches the following pages itself
    assert listed == list(reversed(wanted))  # newest first, every one once


def test_list_filters_by_state_quoted_or_not_and_combined(genai_client, write_dataset, start_tuning_job):
    uri = write_dataset()
    cancelled = start_tuning_job(genai_client, uri, labels={"team": "a"}).name
    live = start_tuning_job(genai_client, uri, labels={"team": "a"}).name
    start_tuning_job(genai_client, uri, labels={"team": "b"})
    genai_client.tunings.cancel(name=cancelled)

    def names(filter_):
        return [job.name for job in genai_client.tunings.list(config={"filter": filter_})]

    assert names('state="JOB_STATE_CANCELLED"') == [cancelled]
    assert names("state=JOB_STATE_CANCELLED") == [cancelled]
    assert names('labels.team="a" AND state!=JOB_STATE_CANCELLED') == [live]
    assert len(names("")) == 3


def test_list_rejects_a_filter_it_does_not_understand(genai_client):
    with pytest.raises(errors.ClientError) as caught:
        list(genai_client.tunings.list(config={"filter": 'create_time>"2026-01-01"'}))
    assert caught.value.code == 400
    assert caught.value.status == "INVALID_ARGUMENT"


def test_cancel_ends_a_live_job_cancelled(clocked, write_dataset, start_tuning_job):
    _, client, _ = clocked
    job = start_tuning_job(client, write_dataset())
    client.tunings.cancel(name=job.name)
    cancelled = client.tunings.get(name=job.name)
    assert cancelled.state == types.JobState.JOB_STATE_CANCELLED
    assert cancelled.error.code == 1
    assert cancelled.error.message
    assert cancelled.end_time is not None and cancelled.tuned_model is None


def test_with_cancel_seconds_a_cancel_takes_effect_later_unless_the_job_ends_first(
    emulator_factory, manual_clock, make_genai_client, write_dataset, start_tuning_job
):
    client = make_genai_client(emulator_factory(clock=manual_clock, job_duration=100.0, cancel_seconds=30))
    stopped, finished = start_tuning_job(client, write_dataset()), start_tuning_job(client, write_dataset())
    client.tunings.cancel(name=stopped.name)  # at 0: takes effect at 30
    manual_clock.advance(80)
    client.tunings.cancel(name=finished.name)  # at 80: would take effect at 110, after its end at 100
    assert client.tunings.get(name=finished.name).state == types.JobState.JOB_STATE_CANCELLING
    client.tunings.cancel(name=finished.name)  # a second cancel of a CANCELLING job changes nothing
    manual_clock.advance(20)
    cancelled = client.tunings.get(name=stopped.name)
    assert cancelled.state == types.JobState.JOB_STATE_CANCELLED and cancelled.tuned_model is None
    assert cancelled.end_time.timestamp() == pytest.approx(manual_clock.now - 70)
    done = client.tunings.get(name=finished.name)
    assert done.state == types.JobState.JOB_STATE_SUCCEEDED and done.tuned_model.endpoint


def test_cancel_of_a_cancelled_job_is_a_failed_precondition(clocked, write_dataset, start_tuning_job):
    _, client, _ = clocked
    job = start_tuning_job(client, write_dataset())
    client.tunings.cancel(name=job.name)
    with pytest.raises(errors.ClientError) as caught:
        client.tunings.cancel(name=job.name)
    assert caught.value.code == 400
    assert caught.value.status == "FAILED_PRECONDITION"
    assert "JOB_STATE_CANCELLED" in caught.value.message


def test_cancel_of_a_succeeded_job_names_its_state(clocked, write_dataset, start_tuning_job):
    _, client, finish = clocked
    job = start_tuning_job(client, write_dataset())
    finish(job.name)
    with pytest.raises(errors.ClientError) as caught:
        client.tunings.cancel(name=job.name)
    assert caught.value.status == "FAILED_PRECONDITION"
    assert "JOB_STATE_SUCCEEDED" in caught.value.message


def test_create_accepts_snake_case_bodies(vertex_http, write_dataset, tuning_parent):
    body = {
        "base_model": "publishers/google/models/gemini-3.5-flash",
        "supervised_tuning_spec": {
            "training_dataset_uri": write_dataset(),
            "hyper_parameters": {"epoch_count": "2", "adapter_size": "ADAPTER_SIZE_EIGHT"},
        },
        "tuned_model_display_name": "snake",
        "labels": {"my_key": "my_value"},
    }
    status, _, job = vertex_http("POST", f"/v1/{tuning_parent}/tuningJobs", body)
    assert status == 200, job
    assert job["tunedModelDisplayName"] == "snake"
    assert job["labels"] == {"my_key": "my_value"}  # label keys are data, never renamed
    assert job["supervisedTuningSpec"]["hyperParameters"] == {"epochCount": "2", "adapterSize": "ADAPTER_SIZE_EIGHT"}
    assert job["state"] == "JOB_STATE_PENDING"
