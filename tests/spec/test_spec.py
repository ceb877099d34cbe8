"""The spec model on its own: normalisation, what reaches Vertex, and the fingerprint."""

from __future__ import annotations

from typing import Any

import pytest

from tuning_provider.errors import SpecError
from tuning_provider.spec import EVAL_FIELDS, TuningJobSpec, replaces_on_change, spec_problems

BASE: dict[str, Any] = {
    "project": "my-project",
    "base_model": "gemini-3.5-flash",
    "training_dataset_uri": "gs://my-bucket/train.jsonl",
    "resource_key": "tuning/dev/reviews",
}


def spec(**overrides: Any) -> TuningJobSpec:
    return TuningJobSpec.model_validate({**BASE, **overrides})


def test_fingerprint_is_stable_across_releases():
    # A job submitted by one release must be found by the next after an interrupted
    # `pulumi up`: change this value only knowingly, and say so in the release notes.
    # The value was recorded for gemini-2.5-flash: a retired model still parses (its jobs are read).
    recorded = {"base_model": "gemini-2.5-flash", "epoch_count": 3}
    assert spec(**recorded, adapter_size=4).fingerprint() == spec(
        **recorded, adapter_size="ADAPTER_SIZE_FOUR"
    ).fingerprint()
    assert spec(**recorded, adapter_size=4).fingerprint() == "c5fe0b08c5211728325499765b65dd5b"


def test_fingerprint_ignores_spellings_and_steering_but_not_identity_or_settings():
    same = spec(base_model="publishers/google/models/gemini-3.5-flash", wait_timeout_seconds=60,
                poll_interval_seconds=5, wait_for_completion=False, validate_dataset=True,
                api_outage_tolerance_seconds=30)
    assert same.fingerprint() == spec().fingerprint()
    for other in (spec(epoch_count=4), spec(location="europe-west4"), spec(resource_key="tuning/prod/reviews"),
                  spec(labels={"team": "a"})):
        assert other.fingerprint() != spec().fingerprint()


def test_vertex_settings_use_google_genai_names_and_leave_out_unset_values():
    settings = spec(adapter_size="8", learning_rate_multiplier=0.5,
                    validation_dataset_uri="gs://my-bucket/val.jsonl").vertex_settings()
    assert settings == {
        "base_model": "gemini-3.5-flash",
        "training_dataset": "gs://my-bucket/train.jsonl",
        "validation_dataset": "gs://my-bucket/val.jsonl",
        "adapter_size": "ADAPTER_SIZE_EIGHT",
        "learning_rate_multiplier": 0.5,
        "export_last_checkpoint_only": False,
        "labels": {},
    }


def test_every_field_has_exactly_one_marker():
    from tuning_provider.spec import Identity, Steering, Vertex

    for name, info in TuningJobSpec.model_fields.items():
        markers = [m for m in info.metadata if isinstance(m, (Vertex, Identity, Steering))]
        assert len(markers) == 1, name
    assert not replaces_on_change("wait_timeout_seconds") and replaces_on_change("epoch_count")


def test_the_quality_gate_fields_are_the_inputs_that_say_so():
    # EVAL_FIELDS names them once (the rules and serving read it): it must stay the spec's own.
    gates = [name for name, info in TuningJobSpec.model_fields.items()
             if (info.description or "").startswith("Quality gate")]
    assert gates == list(EVAL_FIELDS)


def test_cross_field_rules_raise_spec_errors_naming_the_field():
    with pytest.raises(SpecError) as info:
        spec(base_model="gemini-3.5-flash", adapter_size=32)
    assert info.value.field == "adapter_size"


def test_every_problem_is_one_spec_error_with_path_value_and_fix():
    # A field's own rule, a missing input and an unknown one: pydantic's errors never escape.
    with pytest.raises(SpecError) as info:
        TuningJobSpec.model_validate({**BASE, "epoch_count": 0, "epochs": 3, "base_model": None} | {"project": None})
    found = {p.path: p for p in info.value.problems}
    assert set(found) >= {("epoch_count",), ("epochs",), ("project",)}
    assert found[("epoch_count",)].value == 0 and "(got 0)" in found[("epoch_count",)].message
    assert found[("epochs",)].value == 3 and "is not an input of TuningJob" in found[("epochs",)].message
    with pytest.raises(SpecError) as info:
        TuningJobSpec(**{**BASE, "adapter_size": 32})
    assert [(p.path, p.value) for p in info.value.problems] == [(("adapter_size",), "ADAPTER_SIZE_THIRTY_TWO")]


def test_a_fix_names_inputs_as_the_caller_names_them():
    raw = {**BASE, "min_eval_token_accuracy": 0.5}
    (problem,) = spec_problems(raw, names={"validation_dataset_uri": "tuning:validationData"})
    assert problem.message.endswith("set tuning:validationData") and problem.value == 0.5
    (problem,) = spec_problems(raw)
    assert problem.message.endswith("set validation_dataset_uri")


@pytest.mark.parametrize("field", ["epoch_count", "learning_rate_multiplier", "wait_timeout_seconds",
                                   "poll_interval_seconds", "api_outage_tolerance_seconds"])
@pytest.mark.parametrize(("value", "words"), [(True, "not the boolean true"), ("3", "not the string '3'")])
def test_a_boolean_or_a_string_is_not_a_number(field: str, value: Any, words: str) -> None:
    (problem,) = spec_problems({**BASE, field: value})
    assert problem.field == field and words in problem.message


def test_a_whole_float_is_an_int_as_pulumi_sends_every_number_as_a_float() -> None:
    assert spec(epoch_count=3.0).epoch_count == 3
