"""Faults before a request acts, and how a fault plan reads and counts: a rule's line read once
(and written back the same), its path pattern, its counts (skip, every, times); any status
answered with Google's error body and no effect, as unmodified clients see it; `--fault-rate`'s
random 429/503, reproducible, never on Cloud Storage; and the lag of filtered lists."""

from __future__ import annotations

import pytest
from google.api_core import exceptions
from google.cloud import aiplatform_v1 as v1
from google.genai import errors

from tuning_provider.emulator import FaultRule
from tuning_provider.emulator.http.app import HTTP_STATUS_OF_CODE
from tuning_provider.emulator.http.faults import SYNTAX
from tuning_provider.emulator.paging import ListRequest, PageRequest

REQUESTS = 30
JOB = "/v1/projects/p/locations/us-central1/tuningJobs/123"


def create_body(uri: str) -> dict[str, object]:
    return {"baseModel": "gemini-3.5-flash", "supervisedTuningSpec": {"trainingDatasetUri": uri}}


def create_many(vertex_http, emulator, uri, parent):
    answers = [vertex_http("POST", f"/v1/{parent}/tuningJobs", create_body(uri), emulator=emulator)
               for _ in range(REQUESTS)]
    return [status for status, _, _ in answers], answers


# --- rules: read once, matched, counted ---------------------------------------------------


@pytest.mark.parametrize("line", [
    "POST tuningJobs after=reset",
    "POST tuningJobs/*:cancel after=503 times=2",
    "DELETE models/* after=delay:30",
    "GET tuningJobs/* before=403 skip=1 every=2 times=all",
    "* /storage/v1/b/*/o/** before=500",
])
def test_a_rule_reads_back_as_written(line):
    assert str(FaultRule.parse(line)) == line


@pytest.mark.parametrize(("line", "says"), [
    ("POST tuningJobs", "it needs a method, a path and an effect"),
    ("POST tuningJobs after=rset", "after=rset is not reset, a status or delay:SECONDS"),
    ("POST tuningJobs before=200", "an HTTP error status, 400 to 599, not 200"),
    ("FETCH tuningJobs before=500", "method must be one of"),
    ("POST tuningJobs before=500 times=0", "times >= 1"),
    ("POST tuningJobs before=500 after=reset", "a rule has one effect"),
    ("POST tuningJobs after=delay:soon", "after=delay:soon needs a number of seconds"),
    ("POST tuningJobs before=500 retries=2", "retries= is unknown"),
])
def test_a_bad_rule_says_what_is_wrong_and_the_syntax(line, says):
    with pytest.raises(ValueError) as error:
        FaultRule.parse(line)
    assert says in str(error.value) and SYNTAX in str(error.value)


def test_a_path_pattern_names_methods_of_the_api_or_whole_paths():
    cancel = FaultRule.parse("POST tuningJobs/*:cancel before=503")
    assert cancel.matches("POST", JOB + ":cancel")
    assert not cancel.matches("POST", JOB) and not cancel.matches("GET", JOB + ":cancel")
    model = FaultRule.parse("delete models/* before=503")
    assert model.matches("DELETE", "/v1beta1/projects/p/locations/l/models/9%40default")
    assert not model.matches("DELETE", "/v1/projects/p/locations/l/models/9:deleteVersion")
    anything = FaultRule.parse("* ** before=503")
    assert anything.matches("GET", JOB) and not anything.matches("GET", "/storage/v1/b/data/o/train.jsonl")
    storage = FaultRule.parse("GET /storage/v1/b/*/o/** before=503")
    assert storage.matches("GET", "/storage/v1/b/data/o/a%2Ftrain.jsonl") and not storage.matches("GET", JOB)


def test_a_rule_faults_by_count_skip_every_times(emulator, vertex_http, tuning_parent):
    emulator.faults.add("GET tuningJobs before=500 skip=1 every=2 times=2")
    statuses = [vertex_http("GET", f"/v1/{tuning_parent}/tuningJobs")[0] for _ in range(7)]
    assert statuses == [200, 200, 500, 200, 500, 200, 200]


def test_each_rule_counts_what_it_matches_the_first_to_fault_wins_and_clear_ends_them(
    emulator, vertex_http, tuning_parent
):
    emulator.faults.add("GET tuningJobs before=503; GET tuningJobs before=500 skip=1 times=all")
    statuses = [vertex_http("GET", f"/v1/{tuning_parent}/tuningJobs")[0] for _ in range(3)]
    assert statuses == [503, 500, 500]
    emulator.faults.clear()
    assert vertex_http("GET", f"/v1/{tuning_parent}/tuningJobs")[0] == 200


# --- any status before acting, as clients see it -------------------------------------------


@pytest.mark.parametrize(
    ("status", "code"), [(403, "PERMISSION_DENIED"), (500, "INTERNAL"), (504, "DEADLINE_EXCEEDED")]
)
def test_a_status_before_acting_reaches_google_genai_as_googles_error_and_changes_nothing(
    emulator, genai_client, start_tuning_job, write_dataset, status, code
):
    emulator.faults.add(f"POST tuningJobs before={status}")
    with pytest.raises(errors.APIError) as error:
        start_tuning_job(genai_client, write_dataset())
    assert (error.value.code, error.value.status) == (status, code)
    body = error.value.details["error"]
    assert body["code"] == status == HTTP_STATUS_OF_CODE[body["status"]]  # HTTP and google.rpc agree
    assert "Injected by the emulator's fault 'POST tuningJobs" in body["message"]
    assert list(genai_client.tunings.list()) == []


def test_a_502_before_acting_reaches_the_generated_client_as_a_bad_gateway(
    emulator, gapic, write_dataset, tuning_parent
):
    client = gapic(v1.GenAiTuningServiceClient)
    emulator.faults.add("POST tuningJobs before=502")
    job = v1.TuningJob(base_model="gemini-3.5-flash",
                       supervised_tuning_spec=v1.SupervisedTuningSpec(training_dataset_uri=write_dataset()))
    with pytest.raises(exceptions.BadGateway):
        client.create_tuning_job(parent=tuning_parent, tuning_job=job)
    assert list(client.list_tuning_jobs(parent=tuning_parent)) == []
    assert client.create_tuning_job(parent=tuning_parent, tuning_job=job).name  # one time only


def test_a_rule_may_name_cloud_storage_paths(emulator, vertex_http, write_dataset):
    write_dataset("train.jsonl")
    emulator.faults.add("GET /storage/v1/b/*/o/** before=503")
    status, _, body = vertex_http("GET", "/storage/v1/b/tuning-data/o/train.jsonl", token=None)
    assert (status, body["error"]["status"]) == (503, "UNAVAILABLE")
    assert vertex_http("GET", "/storage/v1/b/tuning-data/o/train.jsonl", token=None)[0] == 200


# --- --fault-rate: random 429/503 before acting ---------------------------------------------


def test_faulted_requests_are_429_or_503_and_have_no_effect(
    emulator_factory, vertex_http, write_dataset, tuning_parent
):
    emulator = emulator_factory(fault_rate=0.5, fault_seed=7)
    statuses, answers = create_many(vertex_http, emulator, write_dataset(), tuning_parent)

    assert set(statuses) <= {200, 429, 503}
    assert 200 in statuses and (429 in statuses or 503 in statuses)
    for status, _, body in answers:
        if status == 429:
            assert body["error"]["status"] == "RESOURCE_EXHAUSTED"
        elif status == 503:
            assert body["error"]["status"] == "UNAVAILABLE"
    # Only the answered creates made jobs: ask the state directly, past the faults.
    listed = emulator.state.tuning_jobs.list_tuning_jobs(ListRequest(tuning_parent, page=PageRequest(size=100)))
    assert len(listed["tuningJobs"]) == statuses.count(200)


def test_the_same_seed_gives_the_same_faults(tmp_path, emulator_factory, vertex_http, write_dataset, tuning_parent):
    uri = write_dataset()
    runs = []
    for run in range(2):
        emulator = emulator_factory(fault_rate=0.5, fault_seed=99, state_dir=tmp_path / f"state-{run}")
        runs.append(create_many(vertex_http, emulator, uri, tuning_parent)[0])
        emulator.stop()
    assert runs[0] == runs[1]


def test_gcs_reads_are_never_faulted_by_the_rate(emulator_factory, vertex_http, write_dataset):
    emulator = emulator_factory(fault_rate=1.0)
    write_dataset("train.jsonl")
    for _ in range(10):
        status, _, body = vertex_http("GET", "/storage/v1/b/tuning-data/o/train.jsonl", emulator=emulator, token=None)
        assert status == 200 and body["name"] == "train.jsonl"


# --- the lag of filtered lists --------------------------------------------------------------


def test_a_new_job_shows_in_filtered_lists_only_after_the_lag(
    emulator_factory, manual_clock, make_genai_client, start_tuning_job, write_dataset
):
    client = make_genai_client(emulator_factory(clock=manual_clock, list_lag=30.0))
    job = start_tuning_job(client, write_dataset(), labels={"fingerprint": "abc"})
    by_label = {"filter": 'labels.fingerprint="abc"'}

    assert list(client.tunings.list(config=by_label)) == []
    assert [j.name for j in client.tunings.list()] == [job.name]  # unfiltered lists and gets see it at once
    assert client.tunings.get(name=job.name).name == job.name
    manual_clock.advance(30.0)
    assert [j.name for j in client.tunings.list(config=by_label)] == [job.name]


def test_a_negative_list_lag_is_refused_before_anything_starts(emulator_factory):
    with pytest.raises(ValueError, match="list_lag must be 0 seconds or more"):
        emulator_factory(list_lag=-1.0)
