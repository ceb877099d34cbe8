"""The wait bound, Ctrl-C, and adoption: which job a create takes over instead of paying for another.
"""


import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.provider.provider_helpers import LOCATION, PROJECT, all_jobs, checked, inputs, make_provider, submitted
from tuning_provider import cancellation, vertex
from tuning_provider.emulator import Emulator
from tuning_provider.emulator.http.app import Request, Response
from tuning_provider.errors import JobFailed, JobNotServing
from tuning_provider.spec import FINGERPRINT_LABEL, TuningJobSpec

# --- wait bound and adoption -----------------------------------------------------------


def test_wait_bound_fails_the_create_and_the_next_create_adopts_the_job(
    tmp_path, gcs_dir, write_training_file, capfd
):
    uri = write_training_file()
    with Emulator(tmp_path / "state", gcs_dir, job_duration=6.0) as emu:
        provider = make_provider(emu.url)
        with pytest.raises(JobNotServing, match=r"wait_timeout_seconds \(0.5s\) was reached") as info:
            provider.create(checked(provider, inputs(uri, wait_timeout_seconds=0.5)))
        assert "keeps running in Vertex" in str(info.value) and "keeps serving" in str(info.value)
        # The failed `pulumi up` recorded nothing; the next create must not pay twice.
        second = provider.create(checked(provider, inputs(uri, wait_timeout_seconds=30))).outs
        assert second["name"] == info.value.job_name and second["state"] == "SUCCEEDED"
        assert "adopted tuning job" in capfd.readouterr().err
        assert len(all_jobs(emu.url)) == 1


def after_submit(emulator_factory, act: Callable[[Emulator, str], None], **settings: Any) -> Emulator:
    """An emulator that calls `act(emulator, job name)` as it answers each job's submission,
    before the submitter hears of it: what happens to a job between its submit and the wait."""
    started: list[Emulator] = []

    def watch(request: Request, response: Response) -> None:
        if request.method == "POST" and request.path.endswith("/tuningJobs") and response.status == 200:
            assert isinstance(response.body, bytes)
            act(started[0], json.loads(response.body)["name"])

    started.append(emulator_factory(on_answer=watch, **settings))
    return started[0]


def test_a_job_cancelled_while_waited_for_fails_the_create(emulator_factory, train_uri):
    def cancel(emulator: Emulator, name: str) -> None:
        assert emulator.state is not None
        emulator.state.tuning_jobs.cancel_tuning_job(name)  # as someone else's `jobs cancel` would

    provider = make_provider(after_submit(emulator_factory, cancel, job_duration=60.0).url)
    with pytest.raises(JobFailed) as info:
        provider.create(checked(provider, inputs(train_uri)))
    assert info.value.state == "CANCELLED" and "keeps serving" in info.value.message


def test_pulumi_cancelling_names_the_state_the_job_was_last_seen_in(emulator_factory, manual_clock, train_uri):
    # Submitted PENDING; half way through its 100 s on the clock when the wait first polls it.
    emulator = after_submit(emulator_factory, lambda emulator, name: manual_clock.advance(50),
                            clock=manual_clock, job_duration=100.0)
    provider = make_provider(emulator.url)
    cancellation.REQUESTED.set()  # Ctrl-C: the wait stops after its first poll
    try:
        with pytest.raises(JobNotServing) as info:
            provider.create(checked(provider, inputs(train_uri)))
    finally:
        cancellation.REQUESTED.clear()
    assert info.value.state == "TUNING"
    assert str(info.value).startswith(f"tuning job {info.value.job_name} (TUNING) has no serving model: pulumi is "
                                      "cancelling (Ctrl-C)")


def test_pulumi_cancelling_stops_the_wait_at_once_and_leaves_the_job_running(slow_provider, train_uri):
    cancellation.REQUESTED.set()  # what the engine's Cancel call does in the provider process
    try:
        with pytest.raises(JobNotServing, match=r"pulumi is cancelling \(Ctrl-C\)") as info:
            slow_provider.create(checked(slow_provider, inputs(train_uri)))
    finally:
        cancellation.REQUESTED.clear()
    assert "keeps running in Vertex" in str(info.value) and "jobs cancel" in str(info.value)
    job = vertex.get_tuning_job(vertex.connect(PROJECT, LOCATION, slow_provider.api_endpoint),
                                info.value.job_name)
    assert job.live


def test_of_several_jobs_with_the_fingerprint_the_newest_that_can_serve_is_adopted(
    emulator_factory, manual_clock, make_genai_client, start_tuning_job, train_uri
):
    # Interrupted `pulumi up`s (of a provider that submitted before looking up) left several
    # live jobs with one fingerprint; the newest of them is adopted, and a newer failed one is not.
    emulator = emulator_factory(clock=manual_clock, job_duration=100.0)
    provider = make_provider(emulator.url)
    spec = TuningJobSpec.model_validate(checked(provider, inputs(train_uri)))
    client = make_genai_client(emulator)
    label = {FINGERPRINT_LABEL: spec.fingerprint()}
    submitted_jobs = []
    for config in ({}, {}, {"adapter_size": "ADAPTER_SIZE_THIRTY_TWO"}):  # the last fails as it starts
        submitted_jobs.append(start_tuning_job(client, train_uri, labels=label, **config))
        manual_clock.advance(1)
    older, newer, failed = submitted_jobs
    manual_clock.advance(10)  # all started; the last has failed
    conn = vertex.connect(PROJECT, LOCATION, emulator.url)
    assert vertex.get_tuning_job(conn, failed.name).state == "FAILED"

    job, adopted = vertex.submit_or_adopt(conn, spec)

    assert (job.name, adopted) == (newer.name, True)
    assert job.state == "RUNNING" and older.name != newer.name
    assert len(all_jobs(emulator.url)) == 3  # nothing submitted


def test_a_succeeded_job_whose_model_was_deleted_is_not_adopted(provider, train_uri, emulator, capfd):
    first = provider.create(checked(provider, inputs(train_uri))).outs
    conn = vertex.connect(PROJECT, LOCATION, emulator.url)
    assert vertex.delete_tuned_model(conn, vertex.get_tuning_job(conn, first["name"])).problems == ()
    second = provider.create(checked(provider, inputs(train_uri))).outs
    assert second["name"] != first["name"] and second["state"] == "SUCCEEDED"
    assert f"not adopting tuning job {first['name']}" in capfd.readouterr().err
    assert len(all_jobs(emulator.url)) == 2


def test_existing_job_name_of_a_job_whose_model_is_gone_fails_check(provider, train_uri, emulator):
    first = provider.create(checked(provider, inputs(train_uri))).outs
    conn = vertex.connect(PROJECT, LOCATION, emulator.url)
    vertex.delete_tuned_model(conn, vertex.get_tuning_job(conn, first["name"]))
    failures = provider.check({}, inputs(train_uri, existing_job_name=first["name"])).failures
    assert [f.property for f in failures] == ["existing_job_name"]
    assert "cannot be adopted" in failures[0].reason and "was deleted" in failures[0].reason


def test_an_update_of_a_job_recorded_running_waits_for_it(train_uri, emulator_factory):
    provider = make_provider(emulator_factory(job_duration=1.0).url)
    olds = submitted(provider, inputs(train_uri))
    outs = provider.update(olds["name"], olds, checked(provider, inputs(train_uri, wait_timeout_seconds=30))).outs
    assert outs["state"] == "SUCCEEDED" and outs["tuned_model_endpoint"]


def test_same_settings_in_another_resource_are_not_adopted(provider, train_uri, emulator):
    a = provider.create(checked(provider, inputs(train_uri, resource_key="tuning/test/a"))).outs
    b = provider.create(checked(provider, inputs(train_uri, resource_key="tuning/test/b"))).outs
    assert a["name"] != b["name"] and len(all_jobs(emulator.url)) == 2


def test_existing_job_name_adopts_that_job(provider, train_uri, emulator):
    first = provider.create(checked(provider, inputs(train_uri))).outs
    adopted = provider.create(checked(provider, inputs(train_uri, existing_job_name=first["name"],
                                                       resource_key="tuning/test/other"))).outs
    assert adopted["name"] == first["name"] and len(all_jobs(emulator.url)) == 1
    with pytest.raises(Exception, match="there is no tuning job"):
        provider.create(checked(provider, inputs(
            train_uri, existing_job_name=f"projects/{PROJECT}/locations/{LOCATION}/tuningJobs/999")))
