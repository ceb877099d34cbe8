"""Evaluation during tuning (evaluation_config, preview, us-central1 only): check refuses what
Vertex or google-genai would, the emulator runs it after the job and its run is an output."""

from __future__ import annotations

from typing import Any

import pytest

from tests.provider.provider_helpers import checked, inputs, make_provider

EVALUATION: dict[str, Any] = {
    "metrics": [{"name": "bleu"}, {"name": "fluency", "prompt_template": "Rate the fluency of {response}"}],
    "output_config": {"gcs_destination": {"output_uri_prefix": "gs://tuning-data/eval/"}},
    "autorater_config": {"sampling_count": 2.0},  # Pulumi sends every number as a float
}


@pytest.fixture
def provider(emulator):
    return make_provider(emulator.url)


@pytest.mark.parametrize(
    ("override", "phrase"),
    [
        ({"location": "europe-west4"}, "runs only in us-central1"),
        ({"evaluation_config": {**EVALUATION, "metrics": []}}, "at least one metric"),
        ({"evaluation_config": {**EVALUATION, "output_config": {}}}, "output_uri_prefix"),
        ({"evaluation_config": {**EVALUATION, "metric": []}}, "is not a key of evaluation_config"),
        ({"evaluation_config": {**EVALUATION, "autorater_config": {"samples": 2}}}, "google-genai cannot read it"),
    ],
)
def test_check_refuses_what_vertex_or_google_genai_would(provider, override, phrase):
    raw = {**inputs("gs://tuning-data/t.jsonl", evaluation_config=EVALUATION), **override}
    found = [(f.property, f.reason) for f in provider.check({}, raw).failures]
    assert [(f, phrase in m) for f, m in found] == [("evaluation_config", True)], found


def test_the_evaluation_run_after_tuning_is_an_output(provider, write_training_file):
    outs = provider.create(checked(provider, inputs(write_training_file(), evaluation_config=EVALUATION))).outs
    (run,) = outs["evaluation_runs"]
    assert run["checkpoint_id"] == outs["checkpoints"][-1]["checkpoint_id"]
    assert run["output_directory"].startswith("gs://tuning-data/eval/") and run["error"] is None
    assert outs["evaluation_config"] == EVALUATION


def test_a_job_without_evaluation_reports_no_runs(provider, write_training_file):
    assert provider.create(checked(provider, inputs(write_training_file()))).outs["evaluation_runs"] == []
