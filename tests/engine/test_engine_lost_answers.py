"""The plain `pulumi` CLI when Vertex (the emulator) acted and its answer was lost on the way
back, the case idempotency exists for: `pulumi up` whose create's answer is lost pays for
exactly one job and serves it, `pulumi destroy` whose model delete's answer is lost ends
cleanly with the model gone.

The emulator of this module also keeps a new job out of filtered lists for an hour (its list
lag, as Vertex's index may lag): finding the job the lost answer named must not rely on them.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.engine.conftest import ENGINE_JOB_SECONDS, FreezableClock, Project
from tuning_provider import vertex
from tuning_provider.emulator import Emulator

pytestmark = pytest.mark.engine


@pytest.fixture
def emulator(emulator_factory: Callable[..., Emulator], clock: FreezableClock) -> Emulator:
    return emulator_factory(job_duration=ENGINE_JOB_SECONDS, clock=clock, list_lag=3600.0)


def test_up_whose_create_lost_its_answer_serves_from_exactly_one_job(project: Project):
    project.emulator.faults.add("POST tuningJobs after=reset")  # the job is made, the answer lost

    up = project.pulumi("up", "--yes")

    (job,) = project.jobs()
    assert f"adopted tuning job {job.name}" in up.stdout
    out = project.outputs()
    assert out["tuningJobName"] == job.name and "Paris" in project.ask(out)


def test_destroy_whose_model_delete_lost_its_answer_ends_with_the_model_gone(project: Project):
    project.pulumi("up", "--yes")
    (job,) = project.jobs()
    project.emulator.faults.add("DELETE models/* after=reset")  # the model is deleted, the answer lost

    destroy = project.pulumi("destroy", "--yes")

    # The reset was ridden out, and the retried delete that found the model gone knew it as its own.
    assert "Vertex AI unreachable (" in destroy.stdout
    assert f"deleted tuned model {job.outputs.tuned_model_name}" in destroy.stdout
    assert "already gone" not in destroy.stdout
    problem = vertex.serving_problem(project.conn, vertex.get_tuning_job(project.conn, job.name))
    assert problem == f"its tuned model version {job.outputs.tuned_model_name} was deleted"
    assert not [r for r in project.state().get("resources", []) if str(r["type"]).endswith(":TuningJob")]
