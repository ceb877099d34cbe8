"""`tuneFrom`: a job that tunes further from another job's model (continuous tuning), within the
stack or from another stack. The config as written, its problems at their keys and lines, and
the order and inputs of the jobs the programs declare."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from stacks.config import check_stack_file
from stacks.config_file import key_lines
from stacks.entries import TuneFrom
from tests.stacks.test_config import stack_text, write_stack
from tuning_provider.errors import ConfigError

MORE_DATA = "examples/data/validation.jsonl"  # any valid file of the repository


def stack_with_jobs(jobs: dict[str, Any], stack: str = "local", **shared: Any) -> str:
    document = yaml.safe_load(stack_text(stack))
    document["config"]["tuning:job"].update(shared)
    document["config"]["tuning:jobs"] = jobs
    return yaml.safe_dump(document, sort_keys=False)


def problems_of(tmp_path: Path, text: str) -> dict[str, tuple[int | None, str]]:
    path = write_stack(tmp_path, text, "local")
    with pytest.raises(ConfigError) as caught:
        check_stack_file(path)
    lines = key_lines(path)
    found = {p.key: (p.line, p.message) for p in caught.value.problems}
    for key, (line, _) in found.items():
        assert line == lines.get(key), key  # each at its own line of the file
    return found


def test_a_job_tunes_from_another_and_comes_after_it(tmp_path: Path) -> None:
    text = stack_with_jobs({
        "more": {"tuneFrom": "reviews", "trainingData": MORE_DATA, "pre_tuned_model_checkpoint_id": "2",
                 "epoch_count": 1},
        "reviews": {},
    })
    config = check_stack_file(write_stack(tmp_path, text, "local"))
    reviews, more = config.entries  # the source first, whatever the file's order
    assert (reviews.name, more.name) == ("reviews", "more")
    assert more.tune_from == TuneFrom(job="reviews")
    assert "base_model" not in more.inputs  # it is the source's tuned model, known at run time
    assert more.root_model == reviews.root_model == reviews.inputs["base_model"]  # its data's tokenizer
    assert more.inputs["pre_tuned_model_checkpoint_id"] == "2" and more.inputs["epoch_count"] == 1


def test_a_job_or_a_one_job_stack_tunes_from_another_stack(tmp_path: Path) -> None:
    text = stack_with_jobs({"more": {"tuneFrom": {"stack": "organization/vertex-tuning/dev", "job": "reviews"}}})
    (more,) = check_stack_file(write_stack(tmp_path, text, "local")).entries
    assert more.tune_from == TuneFrom(job="reviews", stack="organization/vertex-tuning/dev")
    assert more.tune_from.output_path() == ("jobs", "reviews", "tunedModelName")
    assert more.root_model is None  # another stack's: not known before the up

    document = yaml.safe_load(stack_text("local"))
    document["config"]["tuning:job"]["tuneFrom"] = {"stack": "organization/vertex-tuning/dev"}
    (job,) = check_stack_file(write_stack(tmp_path, yaml.safe_dump(document), "local")).entries
    assert job.tune_from == TuneFrom(stack="organization/vertex-tuning/dev")
    assert job.tune_from.output_path() == ("tunedModelName",)


def test_a_job_cannot_tune_from_itself_nor_in_a_circle(tmp_path: Path) -> None:
    found = problems_of(tmp_path, stack_with_jobs({
        "alone": {"tuneFrom": "alone"},
        "a": {"tuneFrom": "b"},
        "b": {"tuneFrom": "a"},
    }))
    assert set(found) == {"tuning:jobs.alone.tuneFrom", "tuning:jobs.a.tuneFrom", "tuning:jobs.b.tuneFrom"}
    assert "cannot tune from its own model" in found["tuning:jobs.alone.tuneFrom"][1]
    assert "Add a job with tuneFrom: alone" in found["tuning:jobs.alone.tuneFrom"][1]
    assert "a circle (a -> b -> a)" in found["tuning:jobs.a.tuneFrom"][1]
    assert "a circle (b -> a -> b)" in found["tuning:jobs.b.tuneFrom"][1]


def test_a_misnamed_source_a_bad_form_and_a_second_base_model_are_reported(tmp_path: Path) -> None:
    found = problems_of(tmp_path, stack_with_jobs({
        "reviews": {},
        "typo": {"tuneFrom": "reveiws"},
        "shape": {"tuneFrom": {"stak": "organization/vertex-tuning/dev"}},
        "short": {"tuneFrom": {"stack": "dev"}},
        "both": {"tuneFrom": "reviews", "base_model": "gemini-3.5-flash"},
    }))
    assert set(found) == {"tuning:jobs.typo.tuneFrom", "tuning:jobs.shape.tuneFrom",
                          "tuning:jobs.short.tuneFrom.stack", "tuning:jobs.both.base_model"}
    assert "did you mean reviews?" in found["tuning:jobs.typo.tuneFrom"][1]
    assert "{stack: ORG/PROJECT/STACK}" in found["tuning:jobs.shape.tuneFrom"][1]
    assert "ORG/PROJECT/STACK" in found["tuning:jobs.short.tuneFrom.stack"][1]
    assert "remove base_model or tuneFrom" in found["tuning:jobs.both.base_model"][1]


def test_the_root_models_limits_apply_along_the_chain(tmp_path: Path) -> None:
    # gemini-3.5-flash takes adapter sizes 1-16 (catalog): 32 is wrong two jobs down the chain too.
    found = problems_of(tmp_path, stack_with_jobs({
        "reviews": {},
        "more": {"tuneFrom": "reviews"},
        "most": {"tuneFrom": "more", "adapter_size": 32},
    }))
    assert set(found) == {"tuning:jobs.most.adapter_size"}
    assert "the model it tunes from is a gemini-3.5-flash model" in found["tuning:jobs.most.adapter_size"][1]


def test_a_checkpoint_without_tune_from_is_still_refused(tmp_path: Path) -> None:
    found = problems_of(tmp_path, stack_with_jobs({"reviews": {"pre_tuned_model_checkpoint_id": "1"}}))
    assert "applies only when base_model names a tuned model" in found[
        "tuning:jobs.reviews.pre_tuned_model_checkpoint_id"][1]


def test_a_one_job_stack_has_no_job_to_name(tmp_path: Path) -> None:
    document = yaml.safe_load(stack_text("local"))
    document["config"]["tuning:job"]["tuneFrom"] = "reviews"
    found = problems_of(tmp_path, yaml.safe_dump(document))
    assert "a one-job stack has no other job" in found["tuning:job.tuneFrom"][1]
