"""The plain `pulumi` CLI on stacks of several jobs and on a sweep, against the emulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import SAMPLE_EXAMPLES
from tests.engine.conftest import Project, write_training_file
from tuning_provider import vertex
from tuning_provider.spec import TuningJobOutputs

pytestmark = pytest.mark.engine
QUESTION = "What is the capital of France?"


def ask(project: Project, endpoint: str) -> str:
    return vertex.generate_content(project.conn, endpoint, QUESTION, temperature=0)


def test_two_jobs_serve_by_name_and_changing_one_replaces_only_that_one(project: Project):
    project.config["tuning:jobs"] = {"reviews": {}, "support": {"epoch_count": 1}}
    project.write()
    project.pulumi("up", "--yes")
    first = project.outputs()
    assert set(first) == {"jobs"} and set(first["jobs"]) == {"reviews", "support"}
    for job in first["jobs"].values():
        assert job["tuningJobState"] == "SUCCEEDED" and "Paris" in ask(project, job["tunedModelEndpoint"])

    project.config["tuning:jobs"]["support"]["epoch_count"] = 3
    project.write()
    preview = project.pulumi("preview", "--diff")
    assert "1 to replace" in preview.stdout and "engine-support" in preview.stdout
    project.pulumi("up", "--yes")
    second = project.outputs()["jobs"]
    assert second["reviews"] == first["jobs"]["reviews"]  # untouched
    assert second["support"]["tuningJobName"] != first["jobs"]["support"]["tuningJobName"]
    assert [c["epoch"] for c in second["support"]["checkpoints"]] == [1, 2, 3]
    for job in second.values():
        assert "Paris" in ask(project, job["tunedModelEndpoint"])
    assert len(project.jobs()) == 3


@pytest.mark.skipif("metrics" not in TuningJobOutputs.model_fields,
                    reason="the sweep reads TuningJob's `metrics` output, which issue 13 adds")
def test_a_sweep_of_three_trials_serves_the_trial_with_the_lowest_eval_loss(project: Project, tmp_path: Path):
    # eval_loss comes from the validation data, through the `metrics` output (issue 13).
    validation = write_training_file(tmp_path / "validation.jsonl", SAMPLE_EXAMPLES[::-1])
    project.config["tuning:validationData"] = str(validation)
    project.set_job(sweep={"grid": {"epoch_count": [1, 2, 3]}})
    up = project.pulumi("up", "--yes")
    out = project.outputs()
    trials = out["trials"]
    assert sorted(trials) == ["engine-job-e1", "engine-job-e2", "engine-job-e3"] == out["sweptTrials"]
    losses = {name: trial["metrics"]["eval_loss"] for name, trial in trials.items()}
    assert all(loss is not None for loss in losses.values())
    assert out["bestTrial"] == min(losses, key=lambda name: (losses[name], name))
    best = trials[out["bestTrial"]]
    assert out["tunedModelEndpoint"] == best["tunedModelEndpoint"]
    assert out["tuningJobName"] == best["tuningJobName"]
    assert "Paris" in ask(project, out["tunedModelEndpoint"])
    assert len(project.jobs()) == 3 and "3 created" in up.stdout
