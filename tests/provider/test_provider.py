"""TuningJobProvider against the emulator over HTTP, through google-genai, as in production:
a basic create, faults, failed jobs, read, delete, pickling. Check, diff and adoption have
their own modules (test_provider_check, test_provider_diff, test_provider_adoption).
"""


import base64

import dill
import pytest
from pulumi.dynamic.dynamic import serialize_provider

from tests.provider.provider_helpers import (
    LOCATION,
    PROJECT,
    all_jobs,
    checked,
    inputs,
    make_provider,
    submitted,
    succeeded_outs,
)
from tuning_provider import vertex
from tuning_provider.emulator import Emulator
from tuning_provider.errors import JobFailed, JobNotServing, NotFound
from tuning_provider.provider import TuningJobProvider
from tuning_provider.spec import FINGERPRINT_LABEL
from tuning_provider.vertex import boundary
from tuning_provider.vertex import client as transport

# --- basic -----------------------------------------------------------------------------


def test_basic_create_waits_to_succeeded_with_all_outputs(provider, train_uri, emulator, capfd, sample_examples):
    props = checked(provider, inputs(train_uri))
    result = provider.create(props)
    outs = result.outs
    assert result.id == outs["name"]
    assert outs["name"].startswith(f"projects/{PROJECT}/locations/{LOCATION}/tuningJobs/")
    assert outs["state"] == "SUCCEEDED"
    assert outs["tuned_model_name"].startswith(f"projects/{PROJECT}/locations/{LOCATION}/models/")
    assert outs["tuned_model_endpoint"].startswith(f"projects/{PROJECT}/locations/{LOCATION}/endpoints/")
    assert [c["epoch"] for c in outs["checkpoints"]] == [1, 2]
    assert outs["checkpoints"][-1]["endpoint"] == outs["tuned_model_endpoint"]
    assert outs["experiment"]
    assert outs["error"] is None
    stats = outs["tuning_data_stats"]
    assert stats["examples"] == len(sample_examples)
    assert stats["characters"] > 0 and stats["tokens"] > 0 and stats["steps"] > 0
    assert outs["create_time"] and outs["start_time"] and outs["end_time"]
    # Inputs are kept, normalised, beside the outputs: diff compares against them.
    assert outs["adapter_size"] == "ADAPTER_SIZE_FOUR" and outs["epoch_count"] == 2
    progress = capfd.readouterr().err
    assert "submitted tuning job" in progress and "reviews: SUCCEEDED epoch 2/2, step 4/4, train loss" in progress
    # The fingerprint label is on the job in Vertex, not among the resource's labels.
    (job,) = all_jobs(emulator.url)
    assert job.labels[FINGERPRINT_LABEL] and outs["labels"] == {"team": "ml"}


def test_without_waiting_create_fails_and_the_next_create_adopts_the_job(provider, train_uri, emulator, capfd):
    props = checked(provider, inputs(train_uri, wait_for_completion=False))
    with pytest.raises(JobNotServing, match="wait_for_completion is false") as info:
        provider.create(props)
    assert "keeps serving" in str(info.value)
    (job,) = all_jobs(emulator.url)
    outs = provider.create(checked(provider, inputs(train_uri))).outs  # the next `pulumi up`
    assert (outs["name"], outs["state"]) == (job.name, "SUCCEEDED") and outs["tuned_model_endpoint"]
    assert len(all_jobs(emulator.url)) == 1


# --- faults ----------------------------------------------------------------------------


def test_faults_thirty_percent_still_create_exactly_one_job(tmp_path, gcs_dir, write_training_file):
    uri = write_training_file()
    state = tmp_path / "faulty-state"
    with Emulator(state, gcs_dir, job_duration=1.0, fault_rate=0.3, fault_seed=7) as emu:
        provider = make_provider(emu.url)
        outs = provider.create(checked(provider, inputs(uri))).outs
        assert outs["state"] == "SUCCEEDED"
    with Emulator(state, gcs_dir, job_duration=1.0) as calm:  # same state, no faults
        assert [j.name for j in all_jobs(calm.url)] == [outs["name"]]


# --- failures --------------------------------------------------------------------------


def test_failed_job_raises_with_vertex_message(provider, write_training_file):
    uri = write_training_file(name="broken.jsonl", lines=[
        '{"contents": [{"role": "user", "parts": [{"text": "hi"}]}, {"role": "model", "parts": [{"text": "yo"}]}]}',
        "not json",
    ])
    with pytest.raises(JobFailed) as info:
        provider.create(checked(provider, inputs(uri)))
    assert info.value.state == "FAILED" and "line 2" in info.value.message


def test_update_raises_only_for_a_failure_it_sees_happen(provider, write_training_file):
    uri = write_training_file(name="broken.jsonl", lines=["not json"])
    outs = submitted(provider, inputs(uri))
    news = checked(provider, inputs(uri, wait_timeout_seconds=30))
    with pytest.raises(JobFailed, match="line 1"):
        provider.update(outs["name"], outs, news)  # recorded live: the failure is news
    refreshed = provider.read(outs["name"], outs).outs
    assert refreshed["state"] == "FAILED" and "line 1" in refreshed["error"]
    # Recorded FAILED already (by that refresh): steering changes apply without raising again.
    assert provider.update(outs["name"], refreshed, news).outs["state"] == "FAILED"


def test_an_update_of_a_job_gone_from_vertex_fails_naming_it(provider, train_uri):
    # Recorded in state, but Vertex no longer has it (another project's, a region deleted...).
    olds = {**succeeded_outs(provider), "name": f"projects/{PROJECT}/locations/{LOCATION}/tuningJobs/404"}
    news = checked(provider, inputs("gs://tuning-data/data/train.jsonl", wait_timeout_seconds=30))
    with pytest.raises(NotFound, match=f"reading tuning job {olds['name']}"):
        provider.update(olds["name"], olds, news)
    # What `pulumi refresh` then does: drops it from state, and the next up runs the job again.
    assert provider.read(olds["name"], olds).id == ""


def test_missing_dataset_fails_the_job_with_vertex_message(provider):
    with pytest.raises(JobFailed, match="does not exist"):
        provider.create(checked(provider, inputs("gs://tuning-data/absent.jsonl")))


# --- read ------------------------------------------------------------------------------


def test_read_sees_a_cancel_made_outside_pulumi(slow_provider, train_uri):
    outs = submitted(slow_provider, inputs(train_uri))
    conn = vertex.connect(PROJECT, LOCATION, slow_provider.api_endpoint)
    vertex.request_cancel(conn, vertex.get_tuning_job(conn, outs["name"]))
    refreshed = slow_provider.read(outs["name"], outs)
    assert refreshed.id == outs["name"]
    assert refreshed.outs["state"] in {"CANCELLING", "CANCELLED"}
    assert refreshed.outs["epoch_count"] == 2  # inputs kept for later diffs


def test_read_reports_a_model_deleted_outside_pulumi_as_drift(provider, train_uri, emulator):
    outs = provider.create(checked(provider, inputs(train_uri))).outs
    assert provider.read(outs["name"], outs).outs == outs  # serving: nothing to report
    conn = vertex.connect(PROJECT, LOCATION, emulator.url)
    vertex.delete_tuned_model(conn, vertex.get_tuning_job(conn, outs["name"]))
    refreshed = provider.read(outs["name"], outs).outs
    assert refreshed["state"] == "SUCCEEDED"
    assert refreshed["tuned_model_name"] is None and refreshed["tuned_model_endpoint"] is None
    assert "deleted outside Pulumi" in refreshed["error"]
    # ... which the next diff turns into a replacement.
    assert provider.diff(outs["name"], refreshed, checked(provider, inputs(train_uri))).replaces == [
        "tuned_model_name", "tuned_model_endpoint"
    ]


def test_read_of_a_vanished_job_drops_it(provider):
    olds = succeeded_outs(provider)
    gone = f"projects/{PROJECT}/locations/{LOCATION}/tuningJobs/123456789"
    result = provider.read(gone, {**olds, "name": gone})
    assert (result.id, result.outs) == ("", {})


# --- delete ----------------------------------------------------------------------------


def test_delete_cancels_a_running_job(slow_provider, train_uri):
    outs = submitted(slow_provider, inputs(train_uri))
    slow_provider.delete(outs["name"], outs)
    job = vertex.get_tuning_job(vertex.connect(PROJECT, LOCATION, slow_provider.api_endpoint), outs["name"])
    assert job.state == "CANCELLED"


def test_delete_of_a_finished_job_removes_endpoints_and_model(provider, train_uri, emulator, genai_client, capfd):
    outs = provider.create(checked(provider, inputs(train_uri))).outs
    capfd.readouterr()
    provider.delete(outs["name"], outs)
    said = capfd.readouterr().err
    assert f"deleted endpoint {outs['tuned_model_endpoint']}" in said
    assert f"deleted tuned model {outs['tuned_model_name']}" in said
    conn = vertex.connect(PROJECT, LOCATION, emulator.url)
    for endpoint in {outs["tuned_model_endpoint"], *(c["endpoint"] for c in outs["checkpoints"])}:
        with pytest.raises(NotFound):
            boundary.call("get endpoint", lambda e=endpoint: transport.rest(conn, "get", e))
    with pytest.raises(Exception) as info:
        genai_client.models.get(model=outs["tuned_model_name"].split("@")[0])
    assert "404" in str(info.value)
    provider.delete(outs["name"], outs)  # again: gone is done, and said so
    again = capfd.readouterr().err
    assert "deleted " not in again
    assert f"endpoint {outs['tuned_model_endpoint']} was already gone" in again
    assert f"tuned model {outs['tuned_model_name']} was already gone" in again


# --- pickling --------------------------------------------------------------------------


def test_serialized_provider_round_trips_and_holds_no_endpoint_or_token(emulator):
    provider = make_provider(emulator.url)
    fresh = serialize_provider(TuningJobProvider())
    raw = base64.b64decode(fresh)
    restored = dill.loads(raw)
    assert isinstance(restored, TuningJobProvider) and restored.api_endpoint is None
    assert b"tuning_provider.provider" in raw  # pickled by reference, not by value
    assert len(raw) < 512
    # Configured in the provider process only: what the program pickled never saw it.
    assert provider.api_endpoint == emulator.url
    for secret in (b"local-emulator", b"Bearer", b"token", emulator.url.encode()):
        assert secret not in raw
