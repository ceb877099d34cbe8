"""`python -m tuning_provider jobs cancel [--wait]` against the emulator, on its manual clock.

Cancel of a running job, a finished one, one being cancelled or cancelled already, one that ends
during the request; `--wait` until CANCELLED, at its timeout, and with Vertex failing under it:
a cancel whose answer is lost, an outage in the middle of the wait that is ridden out, and one
longer than `--api-outage-tolerance`, which ends the command saying what was done.
"""

from __future__ import annotations

import json
import re

import pytest
from google.genai import errors as genai_errors
from google.genai import types

from tests.cli.conftest import JOB_SECONDS, LOCATION, PROJECT, job_id
from tuning_provider.cli import main
from tuning_provider.emulator.http.app import Request, Response


def test_cancel_running_job(cli, client, train_uri, start_tuning_job, manual_clock):
    job = start_tuning_job(client, train_uri)
    manual_clock.advance(40)

    code, out, err = cli("jobs", "cancel", job_id(job))

    assert (code, err) == (0, "")
    assert out == f"cancel requested for tuning job {job_id(job)} (was RUNNING)\n"
    assert client.tunings.get(name=job.name).state == types.JobState.JOB_STATE_CANCELLED


def test_cancel_wait_reports_progress_until_cancelled(cli, client, train_uri, start_tuning_job):
    job = start_tuning_job(client, train_uri)  # PENDING: the clock does not move

    code, out, err = cli("jobs", "cancel", job.name, "--wait", "--poll-interval", "0.01")

    assert code == 0
    assert out.splitlines() == [f"cancel requested for tuning job {job_id(job)} (was PENDING)",
                                f"tuning job {job_id(job)} is CANCELLED"]
    assert err == ""  # the emulator cancels at once: there is nothing to wait for
    code, out, _ = cli("jobs", "get", job_id(job), "--json")
    assert json.loads(out)["state"] == "CANCELLED"


def cli_on(emu, manual_clock, capsys):
    """`cli` against another emulator than the fixture's."""

    def run(*argv: str) -> tuple[int, str, str]:
        code = main([*argv, "--project", PROJECT, "--location", LOCATION, "--api-endpoint", emu.url],
                    clock=manual_clock)
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_cancel_wait_gives_up_at_its_timeout(emulator_factory, manual_clock, make_genai_client, train_uri,
                                              start_tuning_job, capsys):
    # Vertex's cancel is asynchronous: here the job stays CANCELLING, the clock never moving.
    emu = emulator_factory(clock=manual_clock, job_duration=JOB_SECONDS, cancel_seconds=30)
    job = start_tuning_job(make_genai_client(emu), train_uri)
    manual_clock.advance(40)

    code, out, err = cli_on(emu, manual_clock, capsys)(
        "jobs", "cancel", job_id(job), "--wait", "--timeout", "0.2", "--poll-interval", "0.05")

    assert code == 1
    assert out == f"cancel requested for tuning job {job_id(job)} (was RUNNING)\n"
    lines = err.splitlines()
    assert lines[0] == f"tuning job {job.name}: CANCELLING after 0m00s"
    assert re.fullmatch(rf"error: tuning job {job.name} was still CANCELLING after \ds of waiting; the cancel was "
                        rf"requested: check again with `jobs get {job_id(job)}`", lines[-1]), lines[-1]


def test_cancel_wait_of_a_job_that_ends_before_the_cancel_takes_effect(
    emulator_factory, manual_clock, make_genai_client, train_uri, start_tuning_job, capsys
):
    def finish_once_cancel_is_asked(request: Request, response: Response) -> None:
        if request.method == "POST" and request.path.endswith(":cancel"):
            manual_clock.advance(JOB_SECONDS)  # the job's end comes before the cancel's effect

    emu = emulator_factory(clock=manual_clock, job_duration=JOB_SECONDS, cancel_seconds=90,
                           on_answer=finish_once_cancel_is_asked)
    job = start_tuning_job(make_genai_client(emu), train_uri)
    manual_clock.advance(40)

    code, out, err = cli_on(emu, manual_clock, capsys)("jobs", "cancel", job_id(job), "--wait", "--poll-interval",
                                                       "0.01")

    assert code == 1
    assert err.splitlines()[-1] == (f"error: tuning job {job_id(job)} ended SUCCEEDED before the cancel took "
                                    "effect")


def test_cancel_of_a_cancelling_job_asks_nothing_and_waits(emulator_factory, manual_clock, make_genai_client,
                                                          train_uri, start_tuning_job, capsys):
    emu = emulator_factory(clock=manual_clock, job_duration=JOB_SECONDS, cancel_seconds=30)
    job = start_tuning_job(make_genai_client(emu), train_uri)
    manual_clock.advance(40)
    run = cli_on(emu, manual_clock, capsys)
    assert run("jobs", "cancel", job_id(job))[0] == 0

    assert run("jobs", "cancel", job_id(job)) == (0, f"tuning job {job_id(job)} is being cancelled already\n", "")
    manual_clock.advance(30)
    assert run("jobs", "cancel", job_id(job), "--wait") == (0, f"tuning job {job_id(job)} is CANCELLED already\n", "")


def test_cancel_of_a_finished_job_says_nothing_to_cancel(cli, client, train_uri, start_tuning_job, manual_clock):
    job = start_tuning_job(client, train_uri)
    manual_clock.advance(JOB_SECONDS)

    code, out, err = cli("jobs", "cancel", job_id(job))

    assert (code, out) == (1, "")
    assert err == f"error: tuning job {job_id(job)} already ended SUCCEEDED; nothing to cancel\n"
    assert client.tunings.get(name=job.name).state == types.JobState.JOB_STATE_SUCCEEDED


def test_cancel_of_a_job_that_ends_during_the_request(cli, client, train_uri, start_tuning_job, manual_clock,
                                                      emu, monkeypatch):
    # Vertex itself refuses to cancel a finished job: 400 FAILED_PRECONDITION.
    finished = start_tuning_job(client, train_uri)
    manual_clock.advance(JOB_SECONDS)
    with pytest.raises(genai_errors.ClientError) as refused:
        client.tunings.cancel(name=finished.name)
    assert (refused.value.code, refused.value.status) == (400, "FAILED_PRECONDITION")


def test_cancel_of_a_job_that_ends_between_its_read_and_the_cancel(
    train_uri, start_tuning_job, manual_clock, emulator_factory, make_genai_client, capsys
):
    # The job is read as RUNNING, then succeeds before the cancel request arrives: the
    # emulator's observer moves its clock as it answers the command's first read of the job.
    reads: list[str] = []

    def finish_after_the_first_read(request: Request, response: Response) -> None:
        if request.method == "GET" and request.path.endswith(f"/tuningJobs/{job_id(job)}"):
            reads.append(request.path)
            if len(reads) == 1:
                manual_clock.advance(JOB_SECONDS)

    emu = emulator_factory(clock=manual_clock, job_duration=JOB_SECONDS, on_answer=finish_after_the_first_read)
    job = start_tuning_job(make_genai_client(emu), train_uri)
    manual_clock.advance(40)
    # Vertex refuses the cancel of the job, ended by then (400); the command reads it again.
    code = main(["jobs", "cancel", job_id(job), "--project", PROJECT, "--location", LOCATION,
                 "--api-endpoint", emu.url], clock=manual_clock)
    assert (code, capsys.readouterr().err) == (
        1, f"error: tuning job {job_id(job)} already ended SUCCEEDED; nothing to cancel\n")
    assert len(reads) == 2


@pytest.mark.parametrize("lost", ["after=reset", "after=503", "after=504"])
def test_cancel_wait_whose_cancel_lost_its_answer_succeeds(cli, client, train_uri, start_tuning_job, manual_clock,
                                                          emu, lost):
    # What the provider tells a user to run after Ctrl-C: the cancel acts, its answer is lost,
    # and the retry finds the job cancelled, exactly as asked.
    job = start_tuning_job(client, train_uri)
    manual_clock.advance(40)
    emu.faults.add(f"POST tuningJobs/*:cancel {lost}")

    code, out, err = cli("jobs", "cancel", job_id(job), "--wait", "--poll-interval", "0.01")

    assert code == 0
    assert out.splitlines() == [f"cancel requested for tuning job {job_id(job)} (was RUNNING)",
                                f"tuning job {job_id(job)} is CANCELLED"]
    # The lost answer is ridden out as any outage of a wait is, and said so.
    assert err.startswith("Vertex AI unreachable (") and "Vertex AI answers again after " in err
    assert "error" not in err


def test_cancel_of_a_job_cancelled_already_is_done(cli, client, train_uri, start_tuning_job):
    job = start_tuning_job(client, train_uri)
    assert cli("jobs", "cancel", job_id(job))[0] == 0

    for wait in ([], ["--wait"]):
        code, out, err = cli("jobs", "cancel", job_id(job), *wait)
        assert (code, out, err) == (0, f"tuning job {job_id(job)} is CANCELLED already\n", "")


def test_cancel_unknown_job_is_not_found(cli):
    code, out, err = cli("jobs", "cancel", "42")
    assert (code, out) == (3, "")
    assert err.startswith("error: tuning job 42 not found in ") and err.count("\n") == 1




def test_cancel_wait_rides_out_vertex_failing_in_the_middle_of_the_wait(
    emulator_factory, manual_clock, make_genai_client, train_uri, start_tuning_job, capsys
):
    # Reads 1 to 3 answer (the command's, the cancel's, the wait's first poll: CANCELLING); the
    # next two polls meet a 503, and the job is cancelled meanwhile (the first 503 moves the clock).
    def cancel_takes_effect_during_the_outage(request: Request, response: Response) -> None:
        if response.status == 503 and manual_clock.now < cancelled_at:
            manual_clock.advance(30)

    emu = emulator_factory(clock=manual_clock, job_duration=JOB_SECONDS, cancel_seconds=30,
                           faults=["GET tuningJobs/* before=503 skip=3 times=2"],
                           on_answer=cancel_takes_effect_during_the_outage)
    job = start_tuning_job(make_genai_client(emu), train_uri)
    manual_clock.advance(40)
    cancelled_at = manual_clock.now + 30

    code, out, err = cli_on(emu, manual_clock, capsys)("jobs", "cancel", job_id(job), "--wait",
                                                       "--poll-interval", "0.01")

    assert code == 0
    assert out.splitlines() == [f"cancel requested for tuning job {job_id(job)} (was RUNNING)",
                                f"tuning job {job_id(job)} is CANCELLED"]
    lines = err.splitlines()
    assert lines[0] == f"tuning job {job.name}: CANCELLING after 0m00s"
    assert lines[1].startswith("Vertex AI unreachable (HTTP 503 UNAVAILABLE), still retrying (up to 10 min)")
    assert re.fullmatch(r"Vertex AI answers again after \d+ s", lines[2]), lines[2]
    assert lines[3].startswith(f"tuning job {job.name}: CANCELLED after ")
    assert len(lines) == 4 and "error" not in err


def test_cancel_wait_past_its_outage_tolerance_says_the_cancel_was_requested(
    emulator_factory, manual_clock, make_genai_client, train_uri, start_tuning_job, capsys
):
    # Vertex acknowledges the cancel, then stops answering for good: after --api-outage-tolerance
    # (real seconds) the command gives up as at its timeout (exit 1), the job left CANCELLING.
    emu = emulator_factory(clock=manual_clock, job_duration=JOB_SECONDS, cancel_seconds=30,
                           faults=["GET tuningJobs/* before=503 skip=3 times=all"])
    client = make_genai_client(emu)
    job = start_tuning_job(client, train_uri)
    manual_clock.advance(40)

    code, out, err = cli_on(emu, manual_clock, capsys)("jobs", "cancel", job_id(job), "--wait",
                                                       "--poll-interval", "0.01", "--api-outage-tolerance", "1")

    assert code == 1
    assert out == f"cancel requested for tuning job {job_id(job)} (was RUNNING)\n"
    last = err.splitlines()[-1]
    assert re.fullmatch(rf"error: reading tuning job {job.name}: Vertex AI did not answer for \ds, longer than the 1s "
                        rf"a wait rides out \(HTTP 503 UNAVAILABLE\); the cancel was requested: check again with "
                        rf"`jobs get {job_id(job)}`", last), last
    emu.faults.clear()
    assert client.tunings.get(name=job.name).state == types.JobState.JOB_STATE_CANCELLING


def test_cancel_wait_whose_cancel_never_gets_an_answer_says_it_was_not_acknowledged(
    emulator_factory, manual_clock, make_genai_client, train_uri, start_tuning_job, capsys
):
    emu = emulator_factory(clock=manual_clock, job_duration=JOB_SECONDS,
                           faults=["POST tuningJobs/*:cancel before=503 times=all"])
    client = make_genai_client(emu)
    job = start_tuning_job(client, train_uri)
    manual_clock.advance(40)

    code, out, err = cli_on(emu, manual_clock, capsys)("jobs", "cancel", job_id(job), "--wait",
                                                       "--api-outage-tolerance", "1")

    assert (code, out) == (3, "")
    last = err.splitlines()[-1]
    assert last.startswith(f"error: cancelling tuning job {job.name}: Vertex AI did not answer for ")
    assert last.endswith(f"; the cancel of tuning job {job_id(job)} was not acknowledged: run this command again "
                         "once Vertex AI answers (it is safe to repeat)")
    emu.faults.clear()
    assert client.tunings.get(name=job.name).state == types.JobState.JOB_STATE_RUNNING
