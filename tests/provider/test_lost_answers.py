"""The provider's verbs when Vertex acted and its answer was lost (the emulator's faults after
acting): create pays for exactly one job, delete ends fine with everything removed, whichever
of its calls lost its answer."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.provider.provider_helpers import LOCATION, PROJECT, all_jobs, checked, inputs, make_provider, submitted
from tuning_provider import vertex
from tuning_provider.emulator import Emulator


@pytest.mark.parametrize("lost", ["after=reset", "after=503"])
def test_a_create_whose_submit_lost_its_answer_serves_from_exactly_one_job(
    emulator_factory: Callable[..., Emulator], write_training_file: Callable[..., str], lost: str, capfd
):
    emulator = emulator_factory(faults=[f"POST tuningJobs {lost}"], list_lag=3600.0)
    provider = make_provider(emulator.url)

    outs = provider.create(checked(provider, inputs(write_training_file()))).outs

    assert outs["state"] == "SUCCEEDED" and outs["tuned_model_endpoint"]
    assert [job.name for job in all_jobs(emulator.url)] == [outs["name"]]
    assert f"adopted tuning job {outs['name']}" in capfd.readouterr().err


@pytest.mark.parametrize("fault", ["DELETE models/* after=reset", "DELETE endpoints/* after=504",
                                   "POST endpoints/*:undeployModel after=reset"])
def test_a_delete_whose_call_lost_its_answer_ends_fine_and_the_model_is_gone(
    emulator: Emulator, write_training_file: Callable[..., str], fault: str, capfd
):
    provider = make_provider(emulator.url)
    outs = provider.create(checked(provider, inputs(write_training_file()))).outs
    emulator.faults.add(fault)
    capfd.readouterr()

    provider.delete(outs["name"], outs)

    said = capfd.readouterr().err
    assert f"deleted tuned model {outs['tuned_model_name']}" in said and "already gone" not in said
    conn = vertex.connect(PROJECT, LOCATION, emulator.url)
    assert "was deleted" in str(vertex.serving_problem(conn, vertex.get_tuning_job(conn, outs["name"])))


def test_a_delete_whose_cancel_lost_its_answer_ends_fine_with_the_job_cancelled(
    emulator_factory: Callable[..., Emulator], write_training_file: Callable[..., str]
):
    emulator = emulator_factory(job_duration=60.0, faults=["POST tuningJobs/*:cancel after=reset"])
    provider = make_provider(emulator.url)
    outs = submitted(provider, inputs(write_training_file()))

    provider.delete(outs["name"], outs)

    assert vertex.get_tuning_job(vertex.connect(PROJECT, LOCATION, emulator.url), outs["name"]).state == "CANCELLED"
