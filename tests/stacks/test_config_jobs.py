"""Stacks of several named jobs and sweeps: the config as written, its problems with their lines,
and what the stack programs declare from it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from stacks.config import check_stack_file
from stacks.config_file import key_lines
from stacks.entries import SweepPlan, trial_name
from stacks.sweep import best_trial
from tests.stacks.test_config import ROOT, stack_text, write_stack
from tuning_provider.errors import ConfigError

SUPPORT_DATA = "examples/data/validation.jsonl"  # any valid file of the repository


def two_jobs(stack: str = "dev", **support: object) -> str:
    document = yaml.safe_load(stack_text(stack))
    document["config"]["tuning:jobs"] = {
        "reviews": {},
        "support": {"trainingData": SUPPORT_DATA, "epoch_count": 5, **support},
    }
    return yaml.safe_dump(document, sort_keys=False)


@pytest.mark.parametrize("stack", ["dev", "prod", "local"])
def test_every_stack_accepts_two_named_jobs_sharing_tuning_job(tmp_path: Path, stack: str) -> None:
    config = check_stack_file(write_stack(tmp_path, two_jobs(stack), stack))
    shared = yaml.safe_load(stack_text(stack))["config"]["tuning:job"]
    reviews, support = config.entries
    assert (reviews.name, support.name) == ("reviews", "support")
    assert reviews.inputs == shared  # the shared settings as they are
    assert support.inputs == {**shared, "epoch_count": 5}
    assert reviews.root_model == support.root_model == shared["base_model"]
    assert reviews.datasets["training"] == config.training_data
    assert support.datasets["training"] == ROOT / SUPPORT_DATA
    assert support.datasets["validation"] == config.validation_data  # shared


def test_a_one_job_stack_is_one_unnamed_entry(tmp_path: Path) -> None:
    (entry,) = check_stack_file(write_stack(tmp_path, stack_text("dev"))).entries
    assert entry.name is None and entry.key == "job" and entry.sweep is None


def test_each_problem_is_reported_where_its_value_is_written(tmp_path: Path) -> None:
    document = yaml.safe_load(two_jobs(adapter_size=32, epoch_cout=3, trainingData="missing.jsonl"))
    document["config"]["tuning:jobs"]["Bad Name"] = {}
    document["config"]["tuning:job"]["learning_rate_multiplier"] = 50
    path = write_stack(tmp_path, yaml.safe_dump(document, sort_keys=False))
    with pytest.raises(ConfigError) as caught:
        check_stack_file(path)
    lines = key_lines(path)
    problems = {p.key: (p.line, p.message) for p in caught.value.problems}
    assert set(problems) == {
        "tuning:jobs.support.adapter_size", "tuning:jobs.support.epoch_cout", "tuning:jobs.support.trainingData",
        "tuning:jobs.Bad Name", "tuning:job.learning_rate_multiplier",
    }
    assert problems["tuning:jobs.support.adapter_size"][0] == lines["tuning:jobs.support.adapter_size"]
    assert "supports adapter sizes 1, 2, 4, 8, 16, not 32" in problems["tuning:jobs.support.adapter_size"][1]
    assert "did you mean epoch_count?" in problems["tuning:jobs.support.epoch_cout"][1]
    # A shared setting's problem is reported once, at tuning:job, not once per job.
    assert problems["tuning:job.learning_rate_multiplier"][0] == lines["tuning:job.learning_rate_multiplier"]


def test_a_sweep_expands_into_named_trials_and_each_trial_is_judged(tmp_path: Path) -> None:
    job = yaml.safe_load(stack_text("dev"))["config"]["tuning:job"]
    job["sweep"] = {"grid": {"learning_rate_multiplier": [0.5, 1.0], "adapter_size": [4, 32]}, "keep": "most"}
    path = write_stack(tmp_path, stack_text("dev", **{"tuning:job": job}))
    with pytest.raises(ConfigError) as caught:
        check_stack_file(path)
    # Both at once: a bad keep does not hide the trials' problems.
    assert {p.key for p in caught.value.problems} == {"tuning:job.sweep.keep", "tuning:job.sweep.grid.adapter_size"}
    job["sweep"]["keep"] = "best"
    path = write_stack(tmp_path, stack_text("dev", **{"tuning:job": job}))
    with pytest.raises(ConfigError) as caught:
        check_stack_file(path)
    (problem,) = caught.value.problems
    assert problem.key == "tuning:job.sweep.grid.adapter_size" and "not 32" in problem.message

    job["sweep"]["grid"]["adapter_size"] = [4, 8]
    (entry,) = check_stack_file(write_stack(tmp_path, stack_text("dev", **{"tuning:job": job}))).entries
    assert entry.sweep is not None and entry.sweep.keep == "best"
    names = [trial_name("gemini-tuning-job", t) for t in entry.sweep.trials()]
    assert names == ["gemini-tuning-job-lr0.5-a4", "gemini-tuning-job-lr0.5-a8",
                     "gemini-tuning-job-lr1-a4", "gemini-tuning-job-lr1-a8"]


def test_a_sweep_needs_validation_data(tmp_path: Path) -> None:
    job = yaml.safe_load(stack_text("dev"))["config"]["tuning:job"]
    job["sweep"] = {"grid": {"epoch_count": [1, 2]}}
    path = write_stack(tmp_path, stack_text("dev", **{"tuning:job": job, "tuning:validationData": None}))
    with pytest.raises(ConfigError) as caught:
        check_stack_file(path)
    (problem,) = caught.value.problems
    assert problem.key == "tuning:job.sweep" and "needs validation data" in problem.message


def test_the_best_trial_has_the_lowest_eval_loss() -> None:
    assert best_trial({"a": {"eval_loss": 0.4}, "b": {"eval_loss": 0.2}, "c": None}) == "b"
    assert best_trial({"b": {"eval_loss": 0.2}, "a": {"eval_loss": 0.2}}) == "a"  # ties: by name
    assert best_trial({"a": {"eval_loss": None}, "b": None}) is None
    assert SweepPlan({"epoch_count": [1, 2], "adapter_size": [4]}).trials() == [
        {"epoch_count": 1, "adapter_size": 4}, {"epoch_count": 2, "adapter_size": 4}]


def test_a_finished_sweep_is_known_by_its_settings_grid_and_data(tmp_path: Path) -> None:
    from stacks.job import sweep_key

    job = yaml.safe_load(stack_text("dev"))["config"]["tuning:job"]
    job["sweep"] = {"grid": {"epoch_count": [1, 2]}, "keep": "best"}
    config = check_stack_file(write_stack(tmp_path, stack_text("dev", **{"tuning:job": job})))
    same = check_stack_file(write_stack(tmp_path, stack_text("dev", **{"tuning:job": job})))
    assert sweep_key(config.entries[0], config) == sweep_key(same.entries[0], same)
    for change in ({"adapter_size": 8}, {"sweep": {"grid": {"epoch_count": [1, 3]}, "keep": "best"}}):
        other = check_stack_file(write_stack(tmp_path, stack_text("dev", **{"tuning:job": {**job, **change}})))
        assert sweep_key(other.entries[0], other) != sweep_key(config.entries[0], config)


def test_a_trial_named_like_another_job_or_trial_is_reported(tmp_path: Path) -> None:
    document = yaml.safe_load(stack_text("dev"))
    document["config"]["tuning:validationData"] = SUPPORT_DATA
    document["config"]["tuning:jobs"] = {
        "tone": {"sweep": {"grid": {"epoch_count": [1, 2]}}},
        "tone-e2": {},  # the resource of tone's second trial
        "lr": {"sweep": {"grid": {"learning_rate_multiplier": [1, 1.0]}}},  # both trials are lr-lr1
    }
    path = write_stack(tmp_path, yaml.safe_dump(document, sort_keys=False))
    with pytest.raises(ConfigError) as caught:
        check_stack_file(path)
    problems = {p.key: p.message for p in caught.value.problems}
    assert set(problems) == {"tuning:jobs.tone-e2", "tuning:jobs.lr.sweep.grid"}
    assert "second resource named 'tone-e2', as tuning:jobs.tone.sweep.grid does" in problems["tuning:jobs.tone-e2"]
    assert "second resource named 'lr-lr1'" in problems["tuning:jobs.lr.sweep.grid"]


def test_a_one_job_sweep_with_values_written_alike_is_reported(tmp_path: Path) -> None:
    document = yaml.safe_load(stack_text("dev"))
    document["config"]["tuning:validationData"] = SUPPORT_DATA
    document["config"]["tuning:job"]["sweep"] = {"grid": {"adapter_size": [4, "4"]}}
    with pytest.raises(ConfigError) as caught:
        check_stack_file(write_stack(tmp_path, yaml.safe_dump(document, sort_keys=False)))
    (problem,) = caught.value.problems
    assert problem.key == "tuning:job.sweep.grid" and "second resource named 'job-a4'" in problem.message


def test_a_jobs_own_validation_data_counts_for_its_eval_settings(tmp_path: Path) -> None:
    document = yaml.safe_load(stack_text("dev", **{"tuning:validationData": None}))
    document["config"]["tuning:jobs"] = {"gated": {"validationData": SUPPORT_DATA, "max_eval_loss": 1.5}, "plain": {}}
    gated, plain = check_stack_file(write_stack(tmp_path, yaml.safe_dump(document, sort_keys=False))).entries
    assert gated.datasets["validation"] == ROOT / SUPPORT_DATA and "validation" not in plain.datasets

    document["config"]["tuning:jobs"]["plain"] = {"max_eval_loss": 1.5}  # no validation data of its own
    with pytest.raises(ConfigError) as caught:
        check_stack_file(write_stack(tmp_path, yaml.safe_dump(document, sort_keys=False)))
    (problem,) = caught.value.problems
    assert problem.key == "tuning:jobs.plain.max_eval_loss"
    assert "needs eval metrics, which Vertex computes only with validation data: set tuning:validationData" in (
        problem.message)


def test_a_missing_project_is_reported_once_as_the_setting_not_again_per_job(tmp_path: Path) -> None:
    document = yaml.safe_load(two_jobs())
    del document["config"]["tuning:project"]
    with pytest.raises(ConfigError) as caught:
        check_stack_file(write_stack(tmp_path, yaml.safe_dump(document, sort_keys=False)))
    assert caught.value.keys == ["tuning:project"]
