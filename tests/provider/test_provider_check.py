"""The provider's check: the field at fault named, unknowns let through, spellings normalised,
base models judged by the day, the gs:// data read once per object version.
"""


from typing import Any

import pytest
from pulumi.runtime.rpc import UNKNOWN

from tests.conftest import example_line
from tests.provider.provider_helpers import LOCATION, checked, inputs, normalised, succeeded_outs
from tuning_provider import engine_log
from tuning_provider.spec import FINGERPRINT_LABEL

# --- check -----------------------------------------------------------------------------

BAD_INPUTS = [
    ("base_model", {"base_model": "gpt-4"}, "cannot be tuned"),
    ("adapter_size", {"adapter_size": 3}, "not one of"),
    ("adapter_size", {"adapter_size": 32}, "supports adapter sizes"),
    ("base_model", {"base_model": "gemini-2.5-flash"}, "was retired by Google on 2026-10-20"),
    ("epoch_count", {"epoch_count": 0}, "greater than or equal to 1"),
    ("learning_rate_multiplier", {"learning_rate_multiplier": 50}, "less than or equal to 10"),
    ("training_dataset_uri", {"training_dataset_uri": "/tmp/train.jsonl"}, "gs://BUCKET"),
    ("training_dataset_uri", {"training_dataset_uri": "gs://tuning-data/train.csv"}, ".jsonl"),
    ("validation_dataset_uri", {"validation_dataset_uri": "gs://tuning-data/data/train.jsonl"}, "training file itself"),
    ("location", {"location": "global"}, "not 'global'"),
    ("location", {"base_model": "gemini-3.5-flash", "adapter_size": None, "location": "us-east1"}, "tuned only in"),
    ("kms_key_name", {"kms_key_name": "my-key"}, "keyRings"),
    ("kms_key_name", {"base_model": "gemini-3.5-flash", "adapter_size": None,
                      "kms_key_name": f"projects/p/locations/{LOCATION}/keyRings/r/cryptoKeys/k"}, "customer-managed"),
    ("service_account", {"service_account": "me@example.com"}, "service account email"),
    ("labels", {"labels": {"Team": "ml"}}, "lowercase letter"),
    ("labels", {"labels": {"team": "ML Platform"}}, "has value"),
    ("labels", {"labels": {FINGERPRINT_LABEL: "x"}}, "reserved"),
    ("tuned_model_display_name", {"tuned_model_display_name": "x" * 129}, "at most 128"),
    ("project", {"project": "My Project"}, "not a project id"),
    ("existing_job_name", {"existing_job_name": "job-1"}, "tuningJobs/ID"),
    ("epochs", {"epochs": 3}, "not an input of TuningJob"),
]


@pytest.mark.parametrize(
    ("field", "override", "phrase"), BAD_INPUTS, ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD_INPUTS)]
)
def test_check_names_the_field_at_fault(provider, field, override, phrase):
    raw = inputs("gs://tuning-data/data/train.jsonl", **override)
    raw = {k: v for k, v in raw.items() if v is not None}
    failures = provider.check({}, raw).failures
    assert [(f.property, phrase in f.reason) for f in failures] == [(field, True)], [
        (f.property, f.reason) for f in failures
    ]


def test_check_reports_every_bad_field_at_once(provider):
    raw = inputs("gs://tuning-data/x.txt", epoch_count=0, labels={"A": "b"})
    assert {f.property for f in provider.check({}, raw).failures} == {
        "training_dataset_uri", "epoch_count", "labels"
    }


def test_check_wants_the_key_in_the_jobs_region(provider_before_the_2_5_retirement):
    provider = provider_before_the_2_5_retirement  # a day a CMEK model was tunable
    raw = inputs("gs://tuning-data/t.jsonl", base_model="gemini-2.5-flash",
                 kms_key_name="projects/p/locations/europe-west4/keyRings/r/cryptoKeys/k")
    failures = provider.check({}, raw).failures
    assert [(f.property, "use a key in the job's region" in f.reason) for f in failures] == [("kms_key_name", True)]


def test_check_requires_the_essentials(provider):
    failures = provider.check({}, {"epoch_count": 3}).failures
    assert {f.property for f in failures} == {"project", "base_model", "training_dataset_uri"}
    assert all(f.reason == "is required" for f in failures)


def test_check_lets_unknown_values_through_in_preview(provider):
    raw = inputs(UNKNOWN, kms_key_name=UNKNOWN, service_account=UNKNOWN)
    result = provider.check({}, raw)
    assert result.failures == []
    # Rules on known fields still apply in a preview.
    bad = provider.check({}, inputs(UNKNOWN, adapter_size=32)).failures
    assert [f.property for f in bad] == ["adapter_size"]


def test_check_normalises_spellings(provider):
    props = checked(provider, inputs("gs://tuning-data/t.jsonl", adapter_size="4",
                                     base_model="publishers/google/models/gemini-3.5-flash"))
    assert props["adapter_size"] == "ADAPTER_SIZE_FOUR"
    assert props["base_model"] == "gemini-3.5-flash"


def test_check_refuses_a_retired_base_model_but_its_recorded_jobs_still_parse(provider):
    failures = provider.check({}, inputs("gs://tuning-data/t.jsonl", base_model="gemini-2.5-flash")).failures
    assert [(f.property, "use gemini-3.5-flash-lite or gemini-3.1-flash-lite" in f.reason) for f in failures] == [
        ("base_model", True)
    ]
    # A job tuned before the retirement keeps its state readable: diff, read and delete parse it.
    olds = succeeded_outs(provider)
    olds["base_model"] = "gemini-2.5-flash"
    news = normalised({**inputs("gs://tuning-data/data/train.jsonl"), "base_model": "gemini-2.5-flash"})
    assert provider.diff(olds["name"], olds, news).changes is False


def test_check_warns_of_a_deprecated_base_model_and_names_its_replacement(provider_before_the_2_5_retirement, capfd):
    checked(provider_before_the_2_5_retirement, inputs("gs://tuning-data/t.jsonl", base_model="gemini-2.5-flash"))
    warning = capfd.readouterr().err
    assert "warning: base_model: gemini-2.5-flash is deprecated: Google retires it on 2026-10-20" in warning


def test_check_validates_a_gcs_dataset_when_asked(provider, write_training_file):
    bad_uri = write_training_file(name="bad.jsonl", lines=['{"contents": []}'])
    failures = provider.check({}, inputs(bad_uri, validate_dataset=True)).failures
    assert [f.property for f in failures] == ["training_dataset_uri"]
    assert "line 1" in failures[0].reason
    missing = provider.check({}, inputs("gs://tuning-data/none.jsonl", validate_dataset=True)).failures
    assert [f.property for f in missing] == ["training_dataset_uri"]
    good = write_training_file(name="good.jsonl")
    assert provider.check({}, inputs(good, validate_dataset=True)).failures == []


def by_default(raw: dict[str, Any]) -> dict[str, Any]:
    """Inputs as a user's own program writes them: no validate_dataset, so the check is on."""
    return {k: v for k, v in raw.items() if k != "validate_dataset"}


def test_check_validates_gcs_data_by_default_and_estimates_its_tokens(provider, write_training_file, capfd):
    props = checked(provider, by_default(inputs(write_training_file())))
    assert props["validate_dataset"] is True and props["training_dataset_tokens"] > 0
    assert f"training tokens ({props['training_dataset_tokens']:,} x 2 epochs)" in capfd.readouterr().err


def test_the_token_count_check_filled_in_stays_while_the_job_is_the_same(provider, write_training_file):
    # The next up of an unchanged job does not read the data again (no job is about to run):
    # the count recorded at create must stay, or every later up would show an update.
    first = checked(provider, by_default(inputs(write_training_file())))
    outs = provider.create(first).outs
    result = provider.check(first, by_default(inputs(first["training_dataset_uri"])))  # olds: the recorded inputs
    assert result.failures == [] and result.inputs["training_dataset_tokens"] == first["training_dataset_tokens"] > 0
    assert not provider.diff(outs["name"], outs, result.inputs).changes


def test_check_by_default_fails_on_a_bad_line_naming_it(provider, write_training_file, sample_examples):
    good = [example_line(q, a) for q, a in sample_examples]
    unanswered = '{"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}'
    train = write_training_file(name="train.jsonl", lines=[good[0], unanswered, *good[1:]])
    val = write_training_file(name="val.jsonl", lines=["{not json"])
    failures = provider.check({}, by_default(inputs(train, validation_dataset_uri=val))).failures
    reasons = {f.property: f.reason for f in failures}
    assert set(reasons) == {"training_dataset_uri", "validation_dataset_uri"}
    assert "line 2: the last turn, contents[0], has role 'user'" in reasons["training_dataset_uri"]
    assert "line 1" in reasons["validation_dataset_uri"]


def test_each_object_version_is_read_once_per_machine_and_a_line_says_so(
    provider, write_training_file, sample_examples, capfd
):
    uri = write_training_file()
    first = checked(provider, by_default(inputs(uri)))
    assert "was checked on this machine before" not in capfd.readouterr().err
    engine_log.reset_shown()  # the next preview: another provider process
    again = checked(provider, by_default(inputs(uri)))
    line = capfd.readouterr().err
    assert again["training_dataset_tokens"] == first["training_dataset_tokens"]
    assert f"training_dataset_uri: {uri} (generation " in line
    assert "was checked on this machine before; reusing that result (12 examples" in line
    # A new version of the object is a new generation and checksum: read again, judged anew.
    write_training_file(lines=[example_line(*sample_examples[0]), "{not json"])
    engine_log.reset_shown()
    (failure,) = provider.check({}, by_default(inputs(uri))).failures
    assert failure.property == "training_dataset_uri" and "line 2" in failure.reason
    assert "was checked on this machine before" not in capfd.readouterr().err


def test_validate_dataset_false_reads_nothing_and_says_why_there_is_no_estimate(provider, capfd):
    assert provider.check({}, inputs("gs://tuning-data/none.jsonl", validate_dataset=False)).failures == []
    assert ("no training-token estimate: the training data's token count is not known (validate_dataset is "
            "off): give training_dataset_tokens") in capfd.readouterr().err
