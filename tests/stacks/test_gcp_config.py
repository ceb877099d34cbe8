"""A bad setting or dataset of the dev stack: reported by its key, before anything is created."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pytest

from stacks.config import load_config
from tests.stacks.gcp_mocks import DAY, deploy
from tuning_provider.errors import ConfigError

# --- bad config -------------------------------------------------------------------------------------

def _without(key: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda c: {k: v for k, v in c.items() if k != key}


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda c: {**c, key: value}


@pytest.mark.parametrize(
    ("change", "key", "words"),
    [
        (_without("project"), "tuning:project", "is required"),
        (_without("trainingData"), "tuning:trainingData", "is required"),
        (_set("trainingData", "examples/data/missing.jsonl"), "tuning:trainingData", "is not a file"),
        (_set("jobCmek", "sometimes"), "tuning:jobCmek", "'auto', 'required' or 'off'"),
        (_set("cmek", "true"), "tuning:cmek", "tuning:jobCmek (auto, required or off)"),
        (_set("keyRotationDays", "0"), "tuning:keyRotationDays", "greater than or equal to 1"),
        (_set("region", "global"), "tuning:region", "does not run Gemini tuning jobs"),
        (_set("project", "My Project"), "tuning:project", "is not a project id"),
        (_set("bucketName", "Datasets!"), "tuning:bucketName", "is not a bucket name"),
        (_set("keyRingName", "ring/1"), "tuning:keyRingName", "is not a Cloud KMS name"),
        (_set("deployer", "ci@example.com"), "tuning:deployer", "is not an IAM principal"),
        (_set("bukcetName", "x"), "tuning:bukcetName", "did you mean bucketName?"),
        (lambda c: {**c, "jobCmek": "required", "job": {**c["job"], "base_model": "gemini-3.5-flash"}},
         "tuning:jobCmek", "gemini-3.5-flash cannot take a customer-managed key"),
        (lambda c: {**c, "job": {**c["job"], "epoch_count": 0}}, "tuning:job.epoch_count",
         "greater than or equal to 1"),
        (lambda c: {**c, "job": {**c["job"], "kms_key_name": "x"}}, "tuning:job.kms_key_name",
         "set by the stack program"),
    ],
)
def test_a_bad_setting_is_reported_by_its_key(
    dev_config: dict[str, Any], change: Callable[[dict[str, Any]], dict[str, Any]], key: str, words: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(change(dev_config), today=DAY)
    assert caught.value.keys == [key]
    assert words in str(caught.value)


def test_the_program_stops_on_a_bad_setting_before_creating_anything(dev_config: dict[str, Any]) -> None:
    with pytest.raises(pulumi.RunError, match=re.escape("tuning:region: 'global' does not run Gemini tuning jobs")):
        deploy({**dev_config, "region": "global"}, "dev")


def test_a_bad_dataset_line_stops_the_program_before_anything_is_uploaded(
    dev_config: dict[str, Any], tmp_path: Path
) -> None:
    good = Path(dev_config["trainingData"]).read_text().splitlines()
    bad = tmp_path / "train.jsonl"
    unanswered = '{"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}'
    bad.write_text("\n".join([*good[:4], unanswered, *good[4:]]) + "\n")
    registered: list[str] = []
    with pytest.raises(pulumi.RunError) as raised:
        deploy({**dev_config, "trainingData": str(bad)}, "dev", registered)
    assert registered == ["pulumi:pulumi:Stack"]  # nothing of the stack's own
    message = str(raised.value)
    assert "1 bad line in the training data (tuning:trainingData); fix it" in message
    assert "line 5: the last turn, contents[0], has role 'user'" in message


def test_an_empty_dataset_is_reported_as_the_file_at_fault_not_as_bad_lines(
    dev_config: dict[str, Any], tmp_path: Path
) -> None:
    empty = tmp_path / "train.jsonl"
    empty.write_text("")
    with pytest.raises(pulumi.RunError) as raised:
        deploy({**dev_config, "trainingData": str(empty)}, "dev")
    message = str(raised.value)
    assert "the training data (tuning:trainingData) cannot be used as it is; fix it" in message
    assert "the file has no examples" in message
    assert "bad line" not in message
