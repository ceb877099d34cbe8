"""A sweep with `keep: best`, under Pulumi's mocks: the program reads the winner the last up
recorded from the stack's own outputs, through a StackReference of the stack itself, and
declares that trial alone; on a first up (no outputs yet) or after a change of the sweep, every
trial. The real CLI does the same in tests/engine/test_engine_jobs.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.stacks.gcp_mocks import (
    TUNING_JOB,
    CloudMocks,
    Deployment,
    deploy,
    stack_file_config,
    with_datasets,
)

SELF = "organization/tuning/local"  # the local stack's fully qualified name on a file backend
TRIALS = ["gemini-tuning-job-e1", "gemini-tuning-job-e2", "gemini-tuning-job-e3"]


@pytest.fixture
def config(tmp_path: Path) -> dict[str, Any]:
    config = {**with_datasets(stack_file_config("local"), tmp_path), "localGcsDir": str(tmp_path / "gcs")}
    config["job"] = {**config["job"], "sweep": {"grid": {"epoch_count": [1, 2, 3]}, "keep": "best"}}
    return config


def trials(deployment: Deployment) -> list[str]:
    return sorted(job.name for job in deployment.of_type(TUNING_JOB))


def test_a_first_up_declares_every_trial_and_reads_the_stack_itself(config: dict[str, Any]) -> None:
    mocks = CloudMocks()
    first = deploy(config, "local", mocks=mocks)
    assert trials(first) == TRIALS == first.outputs["sweptTrials"]
    assert first.outputs["bestTrial"] in TRIALS and first.outputs["sweepKey"]
    assert mocks.inputs[SELF] == {"name": SELF}


@pytest.mark.parametrize("preview", [False, True])
def test_after_a_finished_sweep_only_its_winner_is_declared(config: dict[str, Any], preview: bool) -> None:
    last = deploy(config, "local").outputs
    pruned = deploy(config, "local", preview=preview, mocks=CloudMocks({SELF: last}))
    assert trials(pruned) == [last["bestTrial"]]  # the other trials are deleted, the winner untouched
    if not preview:  # under the mocks a preview knows no job's outputs, so none of the stack's
        assert pruned.outputs["bestTrial"] == last["bestTrial"]
        assert list(pruned.outputs["trials"]) == [last["bestTrial"]]
        assert pruned.outputs["sweptTrials"] == TRIALS and pruned.outputs["sweepKey"] == last["sweepKey"]


def test_a_changed_sweep_runs_every_trial_again(config: dict[str, Any]) -> None:
    last = deploy(config, "local").outputs
    config["job"]["learning_rate_multiplier"] = 2  # another sweep: another sweepKey
    again = deploy(config, "local", mocks=CloudMocks({SELF: last}))
    assert trials(again) == TRIALS and again.outputs["sweepKey"] != last["sweepKey"]


def test_a_stack_without_a_sweep_keeping_its_best_reads_no_outputs(config: dict[str, Any]) -> None:
    config["job"]["sweep"]["keep"] = "all"
    mocks = CloudMocks()
    deploy(config, "local", mocks=mocks)
    assert SELF not in mocks.inputs
