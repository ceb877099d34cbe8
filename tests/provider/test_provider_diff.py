"""The provider's diff: which change of each input replaces the job, and the drift that does.
"""


from typing import Any

import pytest
from pulumi.runtime.rpc import UNKNOWN

from tests.provider.provider_helpers import (
    BEFORE_THE_2_5_RETIREMENT,
    LOCATION,
    PROJECT,
    checked,
    inputs,
    make_provider,
    normalised,
    succeeded_outs,
)

# --- diff ------------------------------------------------------------------------------

# field -> (a new value, whether a change replaces the job). Written out here, not derived
# from the spec's markers, so that the markers themselves are what is tested.
CHANGES = {
    "project": ("other-project", True),
    "location": ("europe-west4", True),
    "base_model": ("gemini-2.5-pro", True),
    "training_dataset_uri": ("gs://tuning-data/data/train-v2.jsonl", True),
    "validation_dataset_uri": ("gs://tuning-data/data/val.jsonl", True),
    "epoch_count": (5, True),
    "adapter_size": (8, True),
    "learning_rate_multiplier": (0.5, True),
    "export_last_checkpoint_only": (True, True),
    "tuned_model_display_name": ("reviews-v2", True),
    "description": ("now with more data", True),
    "labels": ({"team": "search"}, True),
    "kms_key_name": (f"projects/p/locations/{LOCATION}/keyRings/r/cryptoKeys/k", True),
    "service_account": (f"tuning-job@{PROJECT}.iam.gserviceaccount.com", True),
    "pre_tuned_model_checkpoint_id": ("2", True),
    "evaluation_config": (
        {"metrics": [{"name": "bleu"}], "output_config": {"gcs_destination": {"output_uri_prefix": "gs://b/eval/"}}},
        True,
    ),
    "existing_job_name": (f"projects/{PROJECT}/locations/{LOCATION}/tuningJobs/42", True),
    "wait_for_completion": (False, False),
    "wait_timeout_seconds": (7200, False),
    "poll_interval_seconds": (10, False),
    "api_outage_tolerance_seconds": (60, False),
    "delete_timeout_seconds": (600, False),
    "validate_dataset": (True, False),
    "price_per_million_training_tokens_usd": (5.0, False),
    "training_dataset_tokens": (9000, False),
    "max_training_tokens": (1_000_000, False),
    "max_training_cost_usd": (25.0, False),
    "min_eval_token_accuracy": (0.8, False),
    "max_eval_loss": (0.5, False),
    "serve_checkpoint": ("best_eval_loss", False),
    "resource_key": ("tuning/test/renamed", False),
}



def test_diff_covers_every_input():
    from tuning_provider.spec import TuningJobSpec

    assert set(CHANGES) == set(TuningJobSpec.model_fields)


@pytest.mark.parametrize("field", sorted(CHANGES))
def test_diff_replace_or_update_per_field(provider, field, write_training_file, emulator):
    write_training_file("data/train.jsonl")  # validate_dataset=True reads it in check
    base: dict[str, Any] = {}
    if field == "kms_key_name":  # no model tunable today takes a key: one that did, back then
        provider = make_provider(emulator.url, today=BEFORE_THE_2_5_RETIREMENT)
        base = {"base_model": "gemini-2.5-flash"}
    if field == "pre_tuned_model_checkpoint_id":  # only continuous tuning has checkpoints to start from
        base = {"base_model": f"projects/{PROJECT}/locations/{LOCATION}/models/7@1", "adapter_size": None}
    if field in ("min_eval_token_accuracy", "max_eval_loss", "serve_checkpoint"):
        base = {"validation_dataset_uri": "gs://tuning-data/data/val.jsonl"}  # they need eval metrics
    olds = succeeded_outs(provider, **base)
    value, replaces = CHANGES[field]
    news = normalised({**inputs("gs://tuning-data/data/train.jsonl", **base), field: value})
    result = provider.diff(olds["name"], olds, news)
    assert result.changes is True
    assert result.replaces == ([field] if replaces else [])
    assert result.delete_before_replace is False  # a finished job keeps serving until replaced


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ({"adapter_size": "ADAPTER_SIZE_FOUR"}, {"adapter_size": "4"}),
        ({"base_model": "gemini-3.5-flash"}, {"base_model": "publishers/google/models/gemini-3.5-flash"}),
        ({"export_last_checkpoint_only": False}, {}),
        ({"labels": {}}, {"labels": None}),
        ({"epoch_count": 3}, {"epoch_count": 3.0}),
    ],
)
def test_diff_equal_values_in_other_spellings_change_nothing(provider, old, new):
    olds = succeeded_outs(provider, **old)
    raw = {**inputs("gs://tuning-data/data/train.jsonl"), **new}
    news = checked(provider, {k: v for k, v in raw.items() if v is not None})
    result = provider.diff(olds["name"], olds, news)
    assert (result.changes, result.replaces) == (False, [])


def test_diff_with_unknown_inputs_in_preview(provider):
    olds = succeeded_outs(provider)
    news = {**inputs(UNKNOWN), "__provider": UNKNOWN}
    result = provider.diff(olds["name"], olds, news)
    assert result.replaces == ["training_dataset_uri"]
    steering_only = {**inputs("gs://tuning-data/data/train.jsonl"), "wait_timeout_seconds": UNKNOWN}
    assert provider.diff(olds["name"], olds, steering_only).replaces == []


def test_diff_replaces_a_job_cancelled_outside_pulumi(provider):
    olds = {**succeeded_outs(provider), "state": "CANCELLED"}
    news = checked(provider, inputs("gs://tuning-data/data/train.jsonl"))
    result = provider.diff(olds["name"], olds, news)
    assert result.replaces == ["state"]


def test_diff_replaces_a_succeeded_job_whose_model_refresh_found_deleted(provider):
    olds = {**succeeded_outs(provider), "tuned_model_name": None, "tuned_model_endpoint": None}
    news = checked(provider, inputs("gs://tuning-data/data/train.jsonl"))
    result = provider.diff(olds["name"], olds, news)
    assert result.replaces == ["tuned_model_name", "tuned_model_endpoint"] and result.delete_before_replace is False


def test_diff_naming_the_held_job_as_existing_job_name_changes_nothing(provider):
    olds = succeeded_outs(provider)
    olds["name"] = f"projects/{PROJECT}/locations/{LOCATION}/tuningJobs/42"
    news = normalised(inputs("gs://tuning-data/data/train.jsonl", existing_job_name=olds["name"]))
    result = provider.diff(olds["name"], olds, news)
    # Replacing would adopt the same job and then delete its model as "the old resource".
    assert (result.changes, result.replaces) == (False, [])


def test_diff_updates_a_job_recorded_while_running_and_cancels_it_before_replacing(provider):
    olds = {**succeeded_outs(provider), "state": "RUNNING"}
    news = checked(provider, inputs("gs://tuning-data/data/train.jsonl"))
    result = provider.diff(olds["name"], olds, news)
    assert (result.changes, result.replaces) == (True, [])
    news = checked(provider, inputs("gs://tuning-data/data/train.jsonl", epoch_count=4))
    result = provider.diff(olds["name"], olds, news)
    assert result.replaces == ["epoch_count"] and result.delete_before_replace is True
