"""TuningJobProvider against the emulator over HTTP, through google-genai, as in production.

Named variants after the resource's behaviours: basic, check failures, diff decisions,
faults, wait bound and adoption, disappears, external cancel, delete (running and finished),
failed job, pickling.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import date
from typing import Any

import dill
import pytest
from pulumi.dynamic import ConfigureRequest
from pulumi.dynamic.config import Config
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime.rpc import UNKNOWN

from tests.conftest import example_line
from tuning_provider import cancellation, engine_log, vertex
from tuning_provider.emulator import Emulator
from tuning_provider.emulator.http.app import Request, Response
from tuning_provider.errors import JobFailed, JobNotServing, NotFound
from tuning_provider.provider import API_ENDPOINT_KEY, TuningJobProvider
from tuning_provider.spec import FINGERPRINT_LABEL, TuningJobSpec
from tuning_provider.vertex import boundary
from tuning_provider.vertex import client as transport

PROJECT, LOCATION = "test-project", "us-central1"


# Days to judge base models on: before the gemini-2.5 models retired (one took a CMEK key) and after.
BEFORE_THE_2_5_RETIREMENT, AFTER_THE_2_5_RETIREMENT = date(2026, 9, 1), date(2026, 11, 30)


def make_provider(url: str, **seams: Any) -> TuningJobProvider:
    """A configured provider; `seams` (today, read_metric_series) go to its constructor."""
    provider = TuningJobProvider(**seams)
    provider.configure(ConfigureRequest(Config({API_ENDPOINT_KEY: url}, "tuning")))
    return provider


def inputs(train_uri: str, **overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "project": PROJECT,
        "location": LOCATION,
        "base_model": "gemini-3.5-flash",
        "training_dataset_uri": train_uri,
        "epoch_count": 2,
        "adapter_size": 4,
        "tuned_model_display_name": "reviews",
        "labels": {"team": "ml"},
        "poll_interval_seconds": 0.2,
        "wait_timeout_seconds": 60,
        "resource_key": "tuning/test/reviews",
        # Most tests name data that is not in the emulator's bucket: they turn the data check
        # (on by default) off, and the tests of that check turn it on.
        "validate_dataset": False,
    }
    base.update(overrides)
    return base


def checked(provider: TuningJobProvider, raw: dict[str, Any]) -> dict[str, Any]:
    result = provider.check({}, raw)
    assert result.failures == [], [(f.property, f.reason) for f in result.failures]
    return result.inputs


def normalised(raw: dict[str, Any]) -> dict[str, Any]:
    """Inputs as check normalises them, without check's look-ups (existing_job_name's job)."""
    return TuningJobSpec.model_validate(raw).model_dump()


def all_jobs(url: str) -> list[vertex.JobRecord]:
    return list(vertex.list_tuning_jobs(vertex.connect(PROJECT, LOCATION, url)))


def submitted(provider: TuningJobProvider, raw: dict[str, Any]) -> dict[str, Any]:
    """A job submitted and recorded while still live, as an older provider version did: the
    state the update and delete paths still meet in existing stacks."""
    spec = TuningJobSpec.model_validate(checked(provider, raw))
    job, _ = vertex.submit_or_adopt(vertex.connect(spec.project, spec.location, provider.api_endpoint), spec)
    assert job.live
    return {**spec.model_dump(), **job.outputs.model_dump()}


@pytest.fixture
def provider(emulator: Emulator) -> TuningJobProvider:
    return make_provider(emulator.url, today=AFTER_THE_2_5_RETIREMENT)


@pytest.fixture
def provider_before_the_2_5_retirement(emulator: Emulator) -> TuningJobProvider:
    return make_provider(emulator.url, today=BEFORE_THE_2_5_RETIREMENT)


@pytest.fixture
def slow_provider(emulator_factory) -> TuningJobProvider:
    """Against an emulator whose jobs run long enough for a test to act on them."""
    return make_provider(emulator_factory(job_duration=60.0).url)


@pytest.fixture
def train_uri(write_training_file) -> str:
    return write_training_file()


# --- basic -----------------------------------------------------------------------------


def test_basic_create_waits_to_succeeded_with_all_outputs(provider, train_uri, emulator, capfd, sample_examples):
    props = checked(provider, inputs(train_uri))
    result = provider.create(props)
    outs = result.outs
    assert result.id == outs["name"]
    assert outs["name"].startswith(f"projects/{PROJECT}/locations/{LOCATION}/tuningJobs/")
    assert outs["state"] == "SUCCEEDED"
    assert outs["tuned_model_name"].startswith(f"projects/{PROJECT}/locations/{LOCATION}/models/")
    assert outs["tuned_model_endpoint"].startswith(f"projects/{PROJECT}/locations/{LOCATION}/endpoints/")
    assert [c["epoch"] for c in outs["checkpoints"]] == [1, 2]
    assert outs["checkpoints"][-1]["endpoint"] == outs["tuned_model_endpoint"]
    assert outs["experiment"]
    assert outs["error"] is None
    stats = outs["tuning_data_stats"]
    assert stats["examples"] == len(sample_examples)
    assert stats["characters"] > 0 and stats["tokens"] > 0 and stats["steps"] > 0
    assert outs["create_time"] and outs["start_time"] and outs["end_time"]
    # Inputs are kept, normalised, beside the outputs: diff compares against them.
    assert outs["adapter_size"] == "ADAPTER_SIZE_FOUR" and outs["epoch_count"] == 2
    progress = capfd.readouterr().err
    assert "submitted tuning job" in progress and "reviews: SUCCEEDED epoch 2/2, step 4/4, train loss" in progress
    # The fingerprint label is on the job in Vertex, not among the resource's labels.
    (job,) = all_jobs(emulator.url)
    assert job.labels[FINGERPRINT_LABEL] and outs["labels"] == {"team": "ml"}


def test_without_waiting_create_fails_and_the_next_create_adopts_the_job(provider, train_uri, emulator, capfd):
    props = checked(provider, inputs(train_uri, wait_for_completion=False))
    with pytest.raises(JobNotServing, match="wait_for_completion is false") as info:
        provider.create(props)
    assert "keeps serving" in str(info.value)
    (job,) = all_jobs(emulator.url)
    outs = provider.create(checked(provider, inputs(train_uri))).outs  # the next `pulumi up`
    assert (outs["name"], outs["state"]) == (job.name, "SUCCEEDED") and outs["tuned_model_endpoint"]
    assert len(all_jobs(emulator.url)) == 1


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


def succeeded_outs(provider: TuningJobProvider, **overrides: Any) -> dict[str, Any]:
    """Old outputs as create leaves them, without running a job."""
    outs = checked(provider, inputs("gs://tuning-data/data/train.jsonl", **overrides))
    outs.update(name="projects/p/locations/l/tuningJobs/1", state="SUCCEEDED", __provider="x",
                tuned_model_name="projects/p/locations/l/models/2@1",
                tuned_model_endpoint="projects/p/locations/l/endpoints/3")
    return outs


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


# --- faults ----------------------------------------------------------------------------


def test_faults_thirty_percent_still_create_exactly_one_job(tmp_path, gcs_dir, write_training_file):
    uri = write_training_file()
    state = tmp_path / "faulty-state"
    with Emulator(state, gcs_dir, job_duration=1.0, fault_rate=0.3, fault_seed=7) as emu:
        provider = make_provider(emu.url)
        outs = provider.create(checked(provider, inputs(uri))).outs
        assert outs["state"] == "SUCCEEDED"
    with Emulator(state, gcs_dir, job_duration=1.0) as calm:  # same state, no faults
        assert [j.name for j in all_jobs(calm.url)] == [outs["name"]]


# --- wait bound and adoption -----------------------------------------------------------


def test_wait_bound_fails_the_create_and_the_next_create_adopts_the_job(
    tmp_path, gcs_dir, write_training_file, capfd
):
    uri = write_training_file()
    with Emulator(tmp_path / "state", gcs_dir, job_duration=6.0) as emu:
        provider = make_provider(emu.url)
        with pytest.raises(JobNotServing, match=r"wait_timeout_seconds \(0.5s\) was reached") as info:
            provider.create(checked(provider, inputs(uri, wait_timeout_seconds=0.5)))
        assert "keeps running in Vertex" in str(info.value) and "keeps serving" in str(info.value)
        # The failed `pulumi up` recorded nothing; the next create must not pay twice.
        second = provider.create(checked(provider, inputs(uri, wait_timeout_seconds=30))).outs
        assert second["name"] == info.value.job_name and second["state"] == "SUCCEEDED"
        assert "adopted tuning job" in capfd.readouterr().err
        assert len(all_jobs(emu.url)) == 1


def after_submit(emulator_factory, act: Callable[[Emulator, str], None], **settings: Any) -> Emulator:
    """An emulator that calls `act(emulator, job name)` as it answers each job's submission,
    before the submitter hears of it: what happens to a job between its submit and the wait."""
    started: list[Emulator] = []

    def watch(request: Request, response: Response) -> None:
        if request.method == "POST" and request.path.endswith("/tuningJobs") and response.status == 200:
            assert isinstance(response.body, bytes)
            act(started[0], json.loads(response.body)["name"])

    started.append(emulator_factory(on_answer=watch, **settings))
    return started[0]


def test_a_job_cancelled_while_waited_for_fails_the_create(emulator_factory, train_uri):
    def cancel(emulator: Emulator, name: str) -> None:
        assert emulator.state is not None
        emulator.state.tuning_jobs.cancel_tuning_job(name)  # as someone else's `jobs cancel` would

    provider = make_provider(after_submit(emulator_factory, cancel, job_duration=60.0).url)
    with pytest.raises(JobFailed) as info:
        provider.create(checked(provider, inputs(train_uri)))
    assert info.value.state == "CANCELLED" and "keeps serving" in info.value.message


def test_pulumi_cancelling_names_the_state_the_job_was_last_seen_in(emulator_factory, manual_clock, train_uri):
    # Submitted PENDING; half way through its 100 s on the clock when the wait first polls it.
    emulator = after_submit(emulator_factory, lambda emulator, name: manual_clock.advance(50),
                            clock=manual_clock, job_duration=100.0)
    provider = make_provider(emulator.url)
    cancellation.REQUESTED.set()  # Ctrl-C: the wait stops after its first poll
    try:
        with pytest.raises(JobNotServing) as info:
            provider.create(checked(provider, inputs(train_uri)))
    finally:
        cancellation.REQUESTED.clear()
    assert info.value.state == "TUNING"
    assert str(info.value).startswith(f"tuning job {info.value.job_name} (TUNING) has no serving model: pulumi is "
                                      "cancelling (Ctrl-C)")


def test_pulumi_cancelling_stops_the_wait_at_once_and_leaves_the_job_running(slow_provider, train_uri):
    cancellation.REQUESTED.set()  # what the engine's Cancel call does in the provider process
    try:
        with pytest.raises(JobNotServing, match=r"pulumi is cancelling \(Ctrl-C\)") as info:
            slow_provider.create(checked(slow_provider, inputs(train_uri)))
    finally:
        cancellation.REQUESTED.clear()
    assert "keeps running in Vertex" in str(info.value) and "jobs cancel" in str(info.value)
    job = vertex.get_tuning_job(vertex.connect(PROJECT, LOCATION, slow_provider.api_endpoint),
                                info.value.job_name)
    assert job.live


def test_of_several_jobs_with_the_fingerprint_the_newest_that_can_serve_is_adopted(
    emulator_factory, manual_clock, make_genai_client, start_tuning_job, train_uri
):
    # Interrupted `pulumi up`s (of a provider that submitted before looking up) left several
    # live jobs with one fingerprint; the newest of them is adopted, and a newer failed one is not.
    emulator = emulator_factory(clock=manual_clock, job_duration=100.0)
    provider = make_provider(emulator.url)
    spec = TuningJobSpec.model_validate(checked(provider, inputs(train_uri)))
    client = make_genai_client(emulator)
    label = {FINGERPRINT_LABEL: spec.fingerprint()}
    submitted_jobs = []
    for config in ({}, {}, {"adapter_size": "ADAPTER_SIZE_THIRTY_TWO"}):  # the last fails as it starts
        submitted_jobs.append(start_tuning_job(client, train_uri, labels=label, **config))
        manual_clock.advance(1)
    older, newer, failed = submitted_jobs
    manual_clock.advance(10)  # all started; the last has failed
    conn = vertex.connect(PROJECT, LOCATION, emulator.url)
    assert vertex.get_tuning_job(conn, failed.name).state == "FAILED"

    job, adopted = vertex.submit_or_adopt(conn, spec)

    assert (job.name, adopted) == (newer.name, True)
    assert job.state == "RUNNING" and older.name != newer.name
    assert len(all_jobs(emulator.url)) == 3  # nothing submitted


def test_a_succeeded_job_whose_model_was_deleted_is_not_adopted(provider, train_uri, emulator, capfd):
    first = provider.create(checked(provider, inputs(train_uri))).outs
    conn = vertex.connect(PROJECT, LOCATION, emulator.url)
    assert vertex.delete_tuned_model(conn, vertex.get_tuning_job(conn, first["name"])).problems == ()
    second = provider.create(checked(provider, inputs(train_uri))).outs
    assert second["name"] != first["name"] and second["state"] == "SUCCEEDED"
    assert f"not adopting tuning job {first['name']}" in capfd.readouterr().err
    assert len(all_jobs(emulator.url)) == 2


def test_existing_job_name_of_a_job_whose_model_is_gone_fails_check(provider, train_uri, emulator):
    first = provider.create(checked(provider, inputs(train_uri))).outs
    conn = vertex.connect(PROJECT, LOCATION, emulator.url)
    vertex.delete_tuned_model(conn, vertex.get_tuning_job(conn, first["name"]))
    failures = provider.check({}, inputs(train_uri, existing_job_name=first["name"])).failures
    assert [f.property for f in failures] == ["existing_job_name"]
    assert "cannot be adopted" in failures[0].reason and "was deleted" in failures[0].reason


def test_an_update_of_a_job_recorded_running_waits_for_it(train_uri, emulator_factory):
    provider = make_provider(emulator_factory(job_duration=1.0).url)
    olds = submitted(provider, inputs(train_uri))
    outs = provider.update(olds["name"], olds, checked(provider, inputs(train_uri, wait_timeout_seconds=30))).outs
    assert outs["state"] == "SUCCEEDED" and outs["tuned_model_endpoint"]


def test_same_settings_in_another_resource_are_not_adopted(provider, train_uri, emulator):
    a = provider.create(checked(provider, inputs(train_uri, resource_key="tuning/test/a"))).outs
    b = provider.create(checked(provider, inputs(train_uri, resource_key="tuning/test/b"))).outs
    assert a["name"] != b["name"] and len(all_jobs(emulator.url)) == 2


def test_existing_job_name_adopts_that_job(provider, train_uri, emulator):
    first = provider.create(checked(provider, inputs(train_uri))).outs
    adopted = provider.create(checked(provider, inputs(train_uri, existing_job_name=first["name"],
                                                       resource_key="tuning/test/other"))).outs
    assert adopted["name"] == first["name"] and len(all_jobs(emulator.url)) == 1
    with pytest.raises(Exception, match="there is no tuning job"):
        provider.create(checked(provider, inputs(
            train_uri, existing_job_name=f"projects/{PROJECT}/locations/{LOCATION}/tuningJobs/999")))


# --- failures --------------------------------------------------------------------------


def test_failed_job_raises_with_vertex_message(provider, write_training_file):
    uri = write_training_file(name="broken.jsonl", lines=[
        '{"contents": [{"role": "user", "parts": [{"text": "hi"}]}, {"role": "model", "parts": [{"text": "yo"}]}]}',
        "not json",
    ])
    with pytest.raises(JobFailed) as info:
        provider.create(checked(provider, inputs(uri)))
    assert info.value.state == "FAILED" and "line 2" in info.value.message


def test_update_raises_only_for_a_failure_it_sees_happen(provider, write_training_file):
    uri = write_training_file(name="broken.jsonl", lines=["not json"])
    outs = submitted(provider, inputs(uri))
    news = checked(provider, inputs(uri, wait_timeout_seconds=30))
    with pytest.raises(JobFailed, match="line 1"):
        provider.update(outs["name"], outs, news)  # recorded live: the failure is news
    refreshed = provider.read(outs["name"], outs).outs
    assert refreshed["state"] == "FAILED" and "line 1" in refreshed["error"]
    # Recorded FAILED already (by that refresh): steering changes apply without raising again.
    assert provider.update(outs["name"], refreshed, news).outs["state"] == "FAILED"


def test_an_update_of_a_job_gone_from_vertex_fails_naming_it(provider, train_uri):
    # Recorded in state, but Vertex no longer has it (another project's, a region deleted...).
    olds = {**succeeded_outs(provider), "name": f"projects/{PROJECT}/locations/{LOCATION}/tuningJobs/404"}
    news = checked(provider, inputs("gs://tuning-data/data/train.jsonl", wait_timeout_seconds=30))
    with pytest.raises(NotFound, match=f"reading tuning job {olds['name']}"):
        provider.update(olds["name"], olds, news)
    # What `pulumi refresh` then does: drops it from state, and the next up runs the job again.
    assert provider.read(olds["name"], olds).id == ""


def test_missing_dataset_fails_the_job_with_vertex_message(provider):
    with pytest.raises(JobFailed, match="does not exist"):
        provider.create(checked(provider, inputs("gs://tuning-data/absent.jsonl")))


# --- read ------------------------------------------------------------------------------


def test_read_sees_a_cancel_made_outside_pulumi(slow_provider, train_uri):
    outs = submitted(slow_provider, inputs(train_uri))
    conn = vertex.connect(PROJECT, LOCATION, slow_provider.api_endpoint)
    vertex.request_cancel(conn, vertex.get_tuning_job(conn, outs["name"]))
    refreshed = slow_provider.read(outs["name"], outs)
    assert refreshed.id == outs["name"]
    assert refreshed.outs["state"] in {"CANCELLING", "CANCELLED"}
    assert refreshed.outs["epoch_count"] == 2  # inputs kept for later diffs


def test_read_reports_a_model_deleted_outside_pulumi_as_drift(provider, train_uri, emulator):
    outs = provider.create(checked(provider, inputs(train_uri))).outs
    assert provider.read(outs["name"], outs).outs == outs  # serving: nothing to report
    conn = vertex.connect(PROJECT, LOCATION, emulator.url)
    vertex.delete_tuned_model(conn, vertex.get_tuning_job(conn, outs["name"]))
    refreshed = provider.read(outs["name"], outs).outs
    assert refreshed["state"] == "SUCCEEDED"
    assert refreshed["tuned_model_name"] is None and refreshed["tuned_model_endpoint"] is None
    assert "deleted outside Pulumi" in refreshed["error"]
    # ... which the next diff turns into a replacement.
    assert provider.diff(outs["name"], refreshed, checked(provider, inputs(train_uri))).replaces == [
        "tuned_model_name", "tuned_model_endpoint"
    ]


def test_read_of_a_vanished_job_drops_it(provider):
    olds = succeeded_outs(provider)
    gone = f"projects/{PROJECT}/locations/{LOCATION}/tuningJobs/123456789"
    result = provider.read(gone, {**olds, "name": gone})
    assert (result.id, result.outs) == ("", {})


# --- delete ----------------------------------------------------------------------------


def test_delete_cancels_a_running_job(slow_provider, train_uri):
    outs = submitted(slow_provider, inputs(train_uri))
    slow_provider.delete(outs["name"], outs)
    job = vertex.get_tuning_job(vertex.connect(PROJECT, LOCATION, slow_provider.api_endpoint), outs["name"])
    assert job.state == "CANCELLED"


def test_delete_of_a_finished_job_removes_endpoints_and_model(provider, train_uri, emulator, genai_client, capfd):
    outs = provider.create(checked(provider, inputs(train_uri))).outs
    capfd.readouterr()
    provider.delete(outs["name"], outs)
    said = capfd.readouterr().err
    assert f"deleted endpoint {outs['tuned_model_endpoint']}" in said
    assert f"deleted tuned model {outs['tuned_model_name']}" in said
    conn = vertex.connect(PROJECT, LOCATION, emulator.url)
    for endpoint in {outs["tuned_model_endpoint"], *(c["endpoint"] for c in outs["checkpoints"])}:
        with pytest.raises(NotFound):
            boundary.call("get endpoint", lambda e=endpoint: transport.rest(conn, "get", e))
    with pytest.raises(Exception) as info:
        genai_client.models.get(model=outs["tuned_model_name"].split("@")[0])
    assert "404" in str(info.value)
    provider.delete(outs["name"], outs)  # again: gone is done, and said so
    again = capfd.readouterr().err
    assert "deleted " not in again
    assert f"endpoint {outs['tuned_model_endpoint']} was already gone" in again
    assert f"tuned model {outs['tuned_model_name']} was already gone" in again


# --- pickling --------------------------------------------------------------------------


def test_serialized_provider_round_trips_and_holds_no_endpoint_or_token(emulator):
    provider = make_provider(emulator.url)
    fresh = serialize_provider(TuningJobProvider())
    raw = base64.b64decode(fresh)
    restored = dill.loads(raw)
    assert isinstance(restored, TuningJobProvider) and restored.api_endpoint is None
    assert b"tuning_provider.provider" in raw  # pickled by reference, not by value
    assert len(raw) < 512
    # Configured in the provider process only: what the program pickled never saw it.
    assert provider.api_endpoint == emulator.url
    for secret in (b"local-emulator", b"Bearer", b"token", emulator.url.encode()):
        assert secret not in raw
