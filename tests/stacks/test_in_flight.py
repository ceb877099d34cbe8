"""`python -m stacks.engine in-flight`: whether a tuning job of a stack still runs in Vertex after
the `up` that submitted it failed, read from the stack's `pulumi preview --json` and the
emulator. The workflow's scheduled run runs `pulumi up` only then (.github/workflows/pulumi.yml)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from stacks.engine import jobs_in_flight
from tests.conftest import ManualClock
from tuning_provider import vertex
from tuning_provider.emulator import Emulator
from tuning_provider.provider import RESOURCE_TYPE
from tuning_provider.spec import TuningJobSpec

JOB_SECONDS = 600.0


@pytest.fixture
def emulator(emulator_factory: Callable[..., Emulator], manual_clock: ManualClock) -> Emulator:
    return emulator_factory(job_duration=JOB_SECONDS, clock=manual_clock)


@pytest.fixture
def spec(write_training_file: Callable[..., str]) -> TuningJobSpec:
    return TuningJobSpec.model_validate({
        "project": "flight-project", "location": "us-central1", "base_model": "gemini-3.5-flash",
        "training_dataset_uri": write_training_file(), "epoch_count": 2,
        "resource_key": "tuning/dev/gemini-tuning-job",
    })


def preview(op: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """A `pulumi preview --json` document with one step on the TuningJob."""
    return {"steps": [
        {"op": "same", "urn": "urn:pulumi:dev::tuning::pulumi:pulumi:Stack::tuning-dev"},
        {"op": op, "urn": "urn:pulumi:dev::tuning::" + RESOURCE_TYPE + "::gemini-tuning-job",
         "newState": {"type": RESOURCE_TYPE, "inputs": {**inputs, "__provider": "..."}}},
    ]}


def submit(emulator: Emulator, spec: TuningJobSpec) -> vertex.JobRecord:
    job, adopted = vertex.submit_or_adopt(vertex.connect(spec.project, spec.location, emulator.url), spec)
    assert not adopted and job.live
    return job


@pytest.mark.parametrize("op", ["create", "replace", "create-replacement"])
def test_a_running_job_the_next_up_would_adopt_is_in_flight(emulator: Emulator, spec: TuningJobSpec, op: str) -> None:
    job = submit(emulator, spec)
    assert jobs_in_flight(preview(op, spec.model_dump()), emulator.url) == [job.name]


def test_nothing_is_in_flight_without_a_running_job(
    emulator: Emulator, spec: TuningJobSpec, manual_clock: ManualClock
) -> None:
    assert jobs_in_flight(preview("create", spec.model_dump()), emulator.url) == []
    submit(emulator, spec)
    manual_clock.advance(JOB_SECONDS + 1)  # it succeeded: the last up recorded it, or the next one will
    assert jobs_in_flight(preview("create", spec.model_dump()), emulator.url) == []


def test_a_job_of_other_settings_or_a_stack_with_nothing_to_create_is_not_in_flight(
    emulator: Emulator, spec: TuningJobSpec
) -> None:
    submit(emulator, spec)
    other = spec.model_copy(update={"epoch_count": 3})
    assert jobs_in_flight(preview("replace", other.model_dump()), emulator.url) == []
    assert jobs_in_flight(preview("same", spec.model_dump()), emulator.url) == []
    assert jobs_in_flight({"steps": []}, emulator.url) == []


def test_inputs_still_unknown_mean_a_new_job_not_one_in_flight(emulator: Emulator, spec: TuningJobSpec) -> None:
    submit(emulator, spec)
    unknown = {**spec.model_dump(), "training_dataset_uri": "04da6b54-80e4-46f7-96ec-b56ff0331ba9"}
    assert jobs_in_flight(preview("create", unknown), emulator.url) == []
