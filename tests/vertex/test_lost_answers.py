"""Every verb is safe when Vertex acted and its answer was lost: the emulator's faults after
acting (the connection reset, a 503 or 504 from a load balancer, the answer held past the
client's timeout) make the request take effect and then deny the client its answer. The
transport's retry then meets what its first attempt did."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from tests.conftest import LOCATION, PROJECT, ManualClock
from tuning_provider import vertex
from tuning_provider.emulator import Emulator
from tuning_provider.spec import TuningJobSpec

LOST = ["after=reset", "after=503", "after=504"]
# Retries at once: what is tested is what a retry meets, not how long it waits.
AT_ONCE = vertex.RetryPolicy(sleep=lambda _: None)
# A filtered list (by label) that lags an hour behind a create, as an index may.
LAGGING = 3600.0


def spec(uri: str) -> TuningJobSpec:
    return TuningJobSpec(project=PROJECT, location=LOCATION, base_model="gemini-3.5-flash", training_dataset_uri=uri)


@pytest.mark.parametrize("lost", LOST)
def test_a_create_whose_answer_was_lost_makes_exactly_one_job(
    emulator_factory: Callable[..., Emulator], write_dataset: Callable[..., str], lost: str
):
    emulator = emulator_factory(faults=[f"POST tuningJobs {lost}"], list_lag=LAGGING)
    conn = vertex.connect(PROJECT, LOCATION, emulator.url)

    job, adopted = vertex.submit_or_adopt(conn, spec(write_dataset()), AT_ONCE)

    assert adopted  # the job the lost answer was about, found by its fingerprint label
    assert [j.name for j in vertex.list_tuning_jobs(conn)] == [job.name]


def test_a_create_answered_after_the_clients_timeout_makes_exactly_one_job(
    emulator_factory: Callable[..., Emulator], write_dataset: Callable[..., str]
):
    emulator = emulator_factory(faults=["POST tuningJobs after=delay:30"], list_lag=LAGGING)
    conn = dataclasses.replace(vertex.connect(PROJECT, LOCATION, emulator.url), call_timeout=0.5)

    job, adopted = vertex.submit_or_adopt(conn, spec(write_dataset()), AT_ONCE)

    assert adopted and [j.name for j in vertex.list_tuning_jobs(conn)] == [job.name]


@pytest.mark.parametrize("lost", LOST)
def test_a_cancel_whose_answer_was_lost_is_a_success(
    emulator_factory: Callable[..., Emulator], manual_clock: ManualClock, write_dataset: Callable[..., str],
    lost: str,
):
    emulator = emulator_factory(clock=manual_clock, faults=[f"POST tuningJobs/*:cancel {lost}"])
    conn = vertex.connect(PROJECT, LOCATION, emulator.url)
    job, _ = vertex.submit_or_adopt(conn, spec(write_dataset()), AT_ONCE)

    cancelled = vertex.cancel_and_wait(conn, job, timeout=60, poll_interval=0.01, retry=AT_ONCE,
                                       on_progress=lambda _: None)

    assert cancelled.state == "CANCELLED"
    assert vertex.request_cancel(conn, cancelled, AT_ONCE) == cancelled  # again: nothing to do, no error


@pytest.mark.parametrize("fault", ["DELETE models/* after=reset", "DELETE endpoints/* after=503",
                                   "POST endpoints/*:undeployModel after=504"])
def test_a_removal_whose_answer_was_lost_counts_as_a_deletion_and_leaves_nothing(
    emulator: Emulator, write_dataset: Callable[..., str], fault: str
):
    conn = vertex.connect(PROJECT, LOCATION, emulator.url)
    job, _ = vertex.submit_or_adopt(conn, spec(write_dataset()), AT_ONCE)
    job = vertex.wait_for_tuning_job(conn, job.name, timeout=60, poll_interval=0.05, on_progress=lambda _: None)
    emulator.faults.add(fault)

    removal = vertex.delete_tuned_model(conn, job, AT_ONCE)

    assert removal.problems == () and removal.deleted == removal.removed  # each deleted, by this call
    assert vertex.serving_problem(conn, job, AT_ONCE) == f"its tuned model version {job.outputs.tuned_model_name} " \
                                                         "was deleted"
    again = vertex.delete_tuned_model(conn, job, AT_ONCE)
    assert again.deleted == () and [r.outcome for r in again.removed] == [vertex.Removal.ALREADY_GONE] * len(
        removal.removed)
