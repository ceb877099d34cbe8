"""Continuous tuning through the provider: base_model names a tuned model (and optionally one
of its checkpoints); check stays offline unless a setting the base model limits asks for a
look-up; unknown tuned models (another resource's output in a preview) pass check and diff."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi.runtime.rpc import UNKNOWN

from tests.provider.provider_helpers import LOCATION, PROJECT, checked, inputs, make_provider, succeeded_outs
from tuning_provider import vertex
from tuning_provider.provider import TuningJobProvider

SECOND_EXAMPLES = (("What is the capital of Spain?", "The capital of Spain is Madrid."),) * 4


@pytest.fixture
def provider(emulator) -> TuningJobProvider:
    return make_provider(emulator.url)


@pytest.fixture
def first(provider, write_training_file) -> dict[str, Any]:
    """The outputs of a first job, tuned from gemini-3.5-flash with two kept checkpoints."""
    return provider.create(checked(provider, inputs(write_training_file()))).outs


def continued(tuned_model: str, train_uri: str, **overrides: Any) -> dict[str, Any]:
    settings = {"base_model": tuned_model, "adapter_size": None, "tuned_model_display_name": "reviews-continued",
                "resource_key": "tuning/test/continued", **overrides}
    return inputs(train_uri, **settings)


def failures(provider: TuningJobProvider, raw: dict[str, Any]) -> list[tuple[str, str]]:
    known = {k: v for k, v in raw.items() if v is not None}
    return [(f.property, f.reason) for f in provider.check({}, known).failures]


def test_check_accepts_a_tuned_model_without_a_lookup():
    # Nothing listens on this endpoint: a look-up would fail the check.
    offline = make_provider("http://127.0.0.1:9")
    model = f"projects/{PROJECT}/locations/{LOCATION}/models/123@1"
    props = checked(offline, continued(model, "gs://tuning-data/t.jsonl", pre_tuned_model_checkpoint_id=2))
    assert props["base_model"] == model and props["pre_tuned_model_checkpoint_id"] == "2"


@pytest.mark.parametrize(
    ("override", "field", "phrase"),
    [
        ({"base_model": "gemini-3.5-flash", "pre_tuned_model_checkpoint_id": "1"},
         "pre_tuned_model_checkpoint_id", "applies only when base_model names a tuned model"),
        ({"base_model": f"projects/{PROJECT}/locations/europe-west4/models/1"}, "base_model",
         "continuous tuning runs in the tuned model's region"),
        ({"base_model": f"projects/{PROJECT}/locations/{LOCATION}/models/1",
          "pre_tuned_model_checkpoint_id": "two words"}, "pre_tuned_model_checkpoint_id", "not a checkpoint id"),
        ({"base_model": "projects/p/models/1"}, "base_model", "a tuned model's resource name"),
    ],
)
def test_check_names_what_is_wrong_with_continuous_tuning(provider, override, field, phrase):
    found = failures(provider, inputs("gs://tuning-data/t.jsonl", adapter_size=None, **override))
    assert [(f, phrase in m) for f, m in found] == [(field, True)], found


def test_check_applies_the_base_models_limits_to_a_tuned_model(provider, first):
    found = failures(provider, continued(first["tuned_model_name"], "gs://tuning-data/t.jsonl", adapter_size=32))
    assert found == [("adapter_size", "the tuned model was tuned from gemini-3.5-flash: gemini-3.5-flash "
                      "supports adapter sizes 1, 2, 4, 8, 16, not 32")]
    key = f"projects/p/locations/{LOCATION}/keyRings/r/cryptoKeys/k"
    found = failures(provider, continued(first["tuned_model_name"], "gs://tuning-data/t.jsonl", kms_key_name=key))
    assert [f for f, _ in found] == ["kms_key_name"] and "customer-managed keys" in found[0][1]
    assert failures(provider, continued(first["tuned_model_name"], "gs://tuning-data/t.jsonl", adapter_size=8)) == []


def test_check_names_a_tuned_model_that_does_not_exist_when_it_looks(provider):
    model = f"projects/{PROJECT}/locations/{LOCATION}/models/404"
    found = failures(provider, continued(model, "gs://tuning-data/t.jsonl", adapter_size=4))
    assert found == [("base_model", f"there is no tuned model {model}; check its name, or tune from a model "
                      "that exists")]


def test_create_tunes_further_from_a_checkpoint_and_reports_the_new_outputs(provider, first, write_training_file):
    train = write_training_file("data/more.jsonl", SECOND_EXAMPLES)
    raw = continued(first["tuned_model_name"], train, pre_tuned_model_checkpoint_id=1)
    outs = provider.create(checked(provider, raw)).outs
    assert outs["state"] == "SUCCEEDED" and outs["tuned_model_name"] != first["tuned_model_name"]
    assert outs["pre_tuned_base_model"] == "gemini-3.5-flash"
    assert outs["completed_epoch_count"] == 2 and outs["update_time"] == outs["end_time"]
    assert outs["tuning_state_detail"] is None  # only while the job is live
    conn = vertex.connect(PROJECT, LOCATION, provider.api_endpoint)
    job = vertex.get_tuning_job(conn, outs["name"])
    assert job.base_model == first["tuned_model_name"]
    # The continued model answers what both datasets taught.
    assert "Madrid" in vertex.generate_content(conn, outs["tuned_model_endpoint"], "What is the capital of Spain?")
    assert "Paris" in vertex.generate_content(conn, outs["tuned_model_endpoint"], "What is the capital of France?")


def test_create_fails_with_vertexs_reason_for_a_missing_checkpoint(provider, first, write_training_file):
    raw = continued(first["tuned_model_name"], write_training_file(), pre_tuned_model_checkpoint_id=9)
    with pytest.raises(Exception, match="Checkpoint 9 does not exist in model"):
        provider.create(checked(provider, raw))


def test_preview_with_the_tuned_model_unknown_passes_check_and_replaces_on_diff(provider):
    raw = continued(UNKNOWN, "gs://tuning-data/t.jsonl", pre_tuned_model_checkpoint_id="1")
    assert provider.check({}, raw).failures == []
    olds = succeeded_outs(provider)
    result = provider.diff(olds["name"], olds, {**raw, "__provider": UNKNOWN})
    assert "base_model" in result.replaces


def test_diff_keeps_a_job_whose_tuned_model_is_unchanged(provider):
    model = f"projects/{PROJECT}/locations/{LOCATION}/models/123@1"
    olds = succeeded_outs(provider, base_model=model, adapter_size=None)
    news = checked(provider, continued(model, "gs://tuning-data/data/train.jsonl",
                                       tuned_model_display_name="reviews", resource_key="tuning/test/reviews"))
    assert provider.diff(olds["name"], olds, news).changes is False


def test_check_and_diff_take_the_engines_unknown_objects(provider):
    # The engine passes an unknown output as a pulumi Unknown object, not the wire's string.
    from pulumi.output import Unknown

    raw = continued(Unknown(), "gs://tuning-data/t.jsonl")  # type: ignore[no-untyped-call]
    assert provider.check({}, raw).failures == []
    olds = succeeded_outs(provider)
    assert "base_model" in provider.diff(olds["name"], olds, raw).replaces


def test_check_validates_the_data_of_a_continued_job_without_knowing_its_base_model(provider, write_training_file):
    model = f"projects/{PROJECT}/locations/{LOCATION}/models/123@1"
    assert checked(provider, continued(model, write_training_file(), validate_dataset=True))
