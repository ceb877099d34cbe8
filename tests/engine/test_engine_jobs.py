"""The plain `pulumi` CLI on stacks of several jobs and on a sweep, against the emulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import SAMPLE_EXAMPLES
from tests.engine.conftest import Project, write_training_file
from tuning_provider import vertex

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


def test_a_sweep_serves_the_trial_with_the_lowest_eval_loss_and_keep_best_removes_the_others_on_the_next_up(
    project: Project, tmp_path: Path
):
    # eval_loss comes from the validation data, through the `metrics` output.
    validation = write_training_file(tmp_path / "validation.jsonl", SAMPLE_EXAMPLES[::-1])
    project.config["tuning:validationData"] = str(validation)
    project.set_job(sweep={"grid": {"epoch_count": [1, 2, 3]}, "keep": "best"})
    up = project.pulumi("up", "--yes")
    swept = project.outputs()
    # The first up of a sweep runs every trial (`keep: best` acts from the next up on).
    trials = swept["trials"]
    assert sorted(trials) == ["engine-job-e1", "engine-job-e2", "engine-job-e3"] == swept["sweptTrials"]
    losses = {name: trial["metrics"]["eval_loss"] for name, trial in trials.items()}
    assert all(loss is not None for loss in losses.values())
    assert swept["bestTrial"] == min(losses, key=lambda name: (losses[name], name))
    best = trials[swept["bestTrial"]]
    assert swept["tunedModelEndpoint"] == best["tunedModelEndpoint"]
    assert swept["tuningJobName"] == best["tuningJobName"]
    assert "Paris" in ask(project, swept["tunedModelEndpoint"])
    assert len(project.jobs()) == 3 and "3 created" in up.stdout

    # The next up reads the winner from the stack's outputs and declares it alone.
    preview = project.pulumi("preview", "--diff")
    assert "- 2 to delete" in preview.stdout and "to replace" not in preview.stdout
    project.pulumi("up", "--yes")
    pruned = project.outputs()
    assert list(pruned["trials"]) == [swept["bestTrial"]] and pruned["bestTrial"] == swept["bestTrial"]
    assert pruned["sweptTrials"] == swept["sweptTrials"] and pruned["sweepKey"] == swept["sweepKey"]
    for output in ("tuningJobName", "tunedModelName", "tunedModelEndpoint"):
        assert pruned[output] == swept[output]  # the winner untouched
    assert "Paris" in ask(project, pruned["tunedModelEndpoint"])
    losers = [t for name, t in swept["trials"].items() if name != swept["bestTrial"]]
    for loser in losers:  # their models and endpoints are gone
        with pytest.raises(Exception, match="not found|NOT_FOUND|404"):
            ask(project, loser["tunedModelEndpoint"])
    assert "unchanged" in project.pulumi("up", "--yes").stdout

    # A new grid is a new sweep: every trial of it runs (the one with the same settings is kept).
    project.set_job(sweep={"grid": {"epoch_count": [2, 3]}, "keep": "best"})
    project.pulumi("up", "--yes")
    again = project.outputs()
    assert again["sweepKey"] != swept["sweepKey"] and sorted(again["trials"]) == ["engine-job-e2", "engine-job-e3"]
