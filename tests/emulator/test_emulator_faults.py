"""Fault injection: with --fault-rate a fraction of Vertex requests is answered 429 or 503
before touching state (so they have no effect), reproducibly for a given seed; GCS reads
are never faulted."""

from __future__ import annotations

from tuning_provider.emulator.paging import ListRequest, PageRequest

REQUESTS = 30


def create_many(vertex_http, emulator, uri, parent):
    body = {"baseModel": "gemini-3.5-flash", "supervisedTuningSpec": {"trainingDatasetUri": uri}}
    answers = [vertex_http("POST", f"/v1/{parent}/tuningJobs", body, emulator=emulator) for _ in range(REQUESTS)]
    return [status for status, _, _ in answers], answers


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


def test_gcs_reads_are_never_faulted(emulator_factory, vertex_http, write_dataset):
    emulator = emulator_factory(fault_rate=1.0)
    write_dataset("train.jsonl")
    for _ in range(10):
        status, _, body = vertex_http("GET", "/storage/v1/b/tuning-data/o/train.jsonl", emulator=emulator, token=None)
        assert status == 200 and body["name"] == "train.jsonl"
