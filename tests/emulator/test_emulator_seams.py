"""The emulator's seams for benchmarks: a job duration asked per job, and an observer of
every answered request."""

from __future__ import annotations

from typing import Any

from google.genai import types

from tuning_provider.emulator.http.app import Request, Response


def test_a_job_duration_function_is_asked_once_per_job(
    emulator_factory, manual_clock, make_genai_client, write_dataset, start_tuning_job
):
    durations = iter([5.0, 50.0])
    emulator = emulator_factory(clock=manual_clock, job_duration=lambda: next(durations))
    client = make_genai_client(emulator)
    uri = write_dataset()
    short, long = start_tuning_job(client, uri), start_tuning_job(client, uri)
    manual_clock.advance(10)
    assert client.tunings.get(name=short.name).state == types.JobState.JOB_STATE_SUCCEEDED
    assert client.tunings.get(name=long.name).state == types.JobState.JOB_STATE_RUNNING


def test_on_answer_sees_each_request_with_its_response(emulator_factory, make_genai_client, write_dataset,
                                                       start_tuning_job, tuning_parent):
    seen: list[tuple[str, str, int]] = []

    def watch(request: Request, response: Response) -> None:
        seen.append((request.method, request.path, response.status))

    emulator = emulator_factory(on_answer=watch)
    client = make_genai_client(emulator)
    job = start_tuning_job(client, write_dataset())
    client.tunings.get(name=job.name)
    assert seen == [("POST", f"/v1/{tuning_parent}/tuningJobs", 200), ("GET", f"/v1/{job.name}", 200)]


def test_an_observer_that_fails_changes_no_answer(emulator_factory, make_genai_client, write_dataset,
                                                  start_tuning_job):
    def broken(request: Request, response: Response) -> Any:
        raise RuntimeError("observer bug")

    client = make_genai_client(emulator_factory(on_answer=broken))
    job = start_tuning_job(client, write_dataset())
    assert client.tunings.get(name=job.name).name == job.name
