"""TuningJobProvider against the emulator: training metrics as outputs, the cost line and its
ceilings at check, the quality gate at create, and the choice of the serving checkpoint.

Named variants: metrics basic, metrics without validation data, cost line, cost unchanged,
token ceiling, dollar ceiling with and without a price, gate fails and keeps the model, gate
adopts after a threshold change, gate needs validation data, best checkpoint.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.provider.provider_helpers import LOCATION, PROJECT, all_jobs, checked, inputs, make_provider
from tuning_provider import vertex
from tuning_provider.emulator import Emulator
from tuning_provider.errors import JobNotServing, NotFound, QualityGateFailed
from tuning_provider.provider import TuningJobProvider
from tuning_provider.spec import TuningJobSpec
from tuning_provider.vertex import MetricSeries, boundary
from tuning_provider.vertex import client as transport

VALIDATION = "val.jsonl"


@pytest.fixture
def provider(emulator: Emulator) -> TuningJobProvider:
    return make_provider(emulator.url)


@pytest.fixture
def data(write_training_file, sample_examples) -> dict[str, str]:
    """Training and validation data in the emulator's bucket."""
    return {
        "training_dataset_uri": write_training_file(),
        "validation_dataset_uri": write_training_file(VALIDATION, sample_examples[:4]),
    }


def validated(data: dict[str, str], **overrides: Any) -> dict[str, Any]:
    """Inputs with training and validation data."""
    return inputs(data["training_dataset_uri"], validation_dataset_uri=data["validation_dataset_uri"], **overrides)


def conn(provider: TuningJobProvider) -> vertex.Connection:
    return vertex.connect(PROJECT, LOCATION, provider.api_endpoint)


def model_exists(provider: TuningJobProvider, model: str) -> bool:
    try:
        boundary.call("get model", lambda: transport.with_client(
            conn(provider), lambda c: c.models.get(model=model.split("@")[0])))
    except NotFound:
        return False
    return True


# --- metrics ---------------------------------------------------------------------------


def test_metrics_basic_final_figures_and_each_checkpoints_eval_loss(provider, data):
    outs = provider.create(checked(provider, validated(data))).outs
    series = vertex.read_metric_series(conn(provider), vertex.get_tuning_job(conn(provider), outs["name"]))
    metrics = outs["metrics"]
    assert metrics["step"] == outs["tuning_data_stats"]["steps"] and metrics["epoch"] == 2
    assert metrics["train_loss"] == series.points["/train_total_loss"][-1][1]
    assert metrics["train_token_accuracy"] == series.points["/train_fraction_of_correct_next_step_preds"][-1][1]
    assert metrics["eval_loss"] == series.points["/eval_total_loss"][-1][1]
    assert metrics["eval_token_accuracy"] == series.points["/eval_fraction_of_correct_next_step_preds"][-1][1]
    assert [c["eval_loss"] for c in outs["checkpoints"]] == [v for _, v in series.points["/eval_total_loss"]]
    assert outs["serving_checkpoint"] == outs["checkpoints"][-1]["checkpoint_id"]
    assert outs["tuned_model_endpoint"] == outs["checkpoints"][-1]["endpoint"]
    # Deterministic: read again, the same figures.
    assert provider.read(outs["name"], outs).outs["metrics"] == metrics


def test_metrics_without_validation_data_have_train_figures_only(provider, write_training_file):
    outs = provider.create(checked(provider, inputs(write_training_file()))).outs
    metrics = outs["metrics"]
    assert metrics["train_loss"] > 0 and 0 < metrics["train_token_accuracy"] <= 1
    assert metrics["eval_loss"] is None and metrics["eval_token_accuracy"] is None
    assert all(c["eval_loss"] is None for c in outs["checkpoints"])


# --- cost ------------------------------------------------------------------------------


def test_cost_line_at_check_for_a_new_job_from_the_dataset_tokens(provider, capfd):
    checked(provider, inputs("gs://tuning-data/t.jsonl", training_dataset_tokens=8752, epoch_count=3))
    line = capfd.readouterr().err
    assert "~26,300 training tokens (8,752 x 3 epochs); no tuning price on record for gemini-3.5-flash" in line


def test_cost_line_from_the_gcs_object_with_validate_dataset(provider, write_training_file, capfd):
    props = checked(provider, inputs(write_training_file(), validate_dataset=True))
    assert props["training_dataset_tokens"] > 0
    assert f"({props['training_dataset_tokens']:,} x 2 epochs)" in capfd.readouterr().err


def test_cost_line_not_repeated_when_nothing_retrains(provider, capfd):
    olds = checked(provider, inputs("gs://tuning-data/t.jsonl", training_dataset_tokens=8752))
    capfd.readouterr()
    provider.check(olds, inputs("gs://tuning-data/t.jsonl", training_dataset_tokens=8752, wait_timeout_seconds=9))
    assert "training tokens" not in capfd.readouterr().err
    news = inputs("gs://tuning-data/t.jsonl", training_dataset_tokens=8752, epoch_count=5)
    provider.check(olds, news)
    provider.check({}, news)  # the engine checks a replacement again, as a create
    assert capfd.readouterr().err.count("(8,752 x 5 epochs)") == 1


def test_token_ceiling_fails_check_naming_both_figures(provider):
    raw = inputs("gs://tuning-data/t.jsonl", training_dataset_tokens=8752, epoch_count=3, max_training_tokens=20_000)
    failures = provider.check({}, raw).failures
    assert [(f.property, f.reason) for f in failures] == [(
        "max_training_tokens",
        "the job would train on ~26,256 tokens, over max_training_tokens 20,000; "
        "lower epoch_count or the training data, or raise the ceiling",
    )]
    assert provider.check({}, {**raw, "max_training_tokens": 30_000}).failures == []


def test_a_ceiling_without_a_token_count_cannot_be_checked_and_fails(provider):
    failures = provider.check({}, inputs("gs://tuning-data/t.jsonl", max_training_tokens=1000)).failures
    assert [f.property for f in failures] == ["max_training_tokens"]
    assert "cannot be checked" in failures[0].reason and "validate_dataset" in failures[0].reason


def test_dollar_ceiling_without_a_price_is_reported_unchecked_not_failed(provider, capfd):
    raw = inputs("gs://tuning-data/t.jsonl", training_dataset_tokens=8752, max_training_cost_usd=0.01)
    assert provider.check({}, raw).failures == []
    err = capfd.readouterr().err
    assert "warning: max_training_cost_usd ($0.01) cannot be checked: no tuning price is on record" in err
    assert "set price_per_million_training_tokens_usd to your price to enforce it" in err


def test_cost_line_in_dollars_with_the_teams_own_price(provider, capfd):
    checked(provider, inputs("gs://tuning-data/t.jsonl", training_dataset_tokens=8752, epoch_count=2,
                             price_per_million_training_tokens_usd=5))
    assert ("~17,500 training tokens (8,752 x 2 epochs) x $5.00 per 1M = ~$0.09 "
            "(price: price_per_million_training_tokens_usd)") in capfd.readouterr().err


def test_dollar_ceiling_with_a_price_fails_check_naming_both_figures_and_the_property(provider):
    raw = inputs("gs://tuning-data/t.jsonl", training_dataset_tokens=8752, epoch_count=3, max_training_cost_usd=0.1,
                 price_per_million_training_tokens_usd=5)
    (failure,) = provider.check({}, raw).failures
    assert failure.property == "max_training_cost_usd"
    assert failure.reason == (
        "the job would cost ~$0.13, over max_training_cost_usd $0.10 (~26,300 training tokens (8,752 x 3 epochs) "
        "x $5.00 per 1M = ~$0.13 (price: price_per_million_training_tokens_usd)); lower epoch_count or the "
        "training data, or raise the ceiling"
    )
    assert provider.check({}, {**raw, "max_training_cost_usd": 0.2}).failures == []


def test_changing_the_price_updates_in_place_and_is_never_sent_to_vertex(provider):
    olds = checked(provider, inputs("gs://tuning-data/t.jsonl", training_dataset_tokens=8752))
    news = checked(provider, {**olds, "price_per_million_training_tokens_usd": 5})
    diff = provider.diff("id", olds, news)
    assert diff.changes and diff.replaces == []
    assert "price_per_million_training_tokens_usd" not in str(TuningJobSpec.model_validate(news).vertex_settings())


def test_cost_outputs_after_create(provider, write_training_file):
    outs = provider.create(checked(provider, inputs(write_training_file(), training_dataset_tokens=211))).outs
    assert outs["estimated_training_tokens"] == 422 and outs["estimated_cost_usd"] is None  # no price on record
    assert outs["tuning_data_stats"]["tokens"] > 0  # what Vertex counted as billable
    priced = checked(provider, inputs(write_training_file(), training_dataset_tokens=211,
                                      price_per_million_training_tokens_usd=5))
    assert provider.create(priced).outs["estimated_cost_usd"] == pytest.approx(422 * 5 / 1_000_000)


# --- quality gate ----------------------------------------------------------------------


def test_gate_fails_the_create_with_the_figures_and_keeps_the_model(provider, data, emulator):
    with pytest.raises(QualityGateFailed) as info:
        provider.create(checked(provider, validated(data, min_eval_token_accuracy=0.99, max_eval_loss=0.01)))
    error = info.value
    assert len(error.misses) == 2
    assert error.misses[0].startswith("eval token accuracy 0.") and error.misses[0].endswith(
        "is below min_eval_token_accuracy 0.99")
    assert error.misses[1].startswith("eval loss 0.") and error.misses[1].endswith("is above max_eval_loss 0.01")
    assert "keeps serving" in error.message and "is kept, not deleted" in error.message
    assert f"jobs delete-model {error.job_name}" in error.message
    (job,) = all_jobs(emulator.url)
    assert job.state == "SUCCEEDED" and model_exists(provider, job.outputs.tuned_model_name or "")


def test_gate_adopts_the_same_job_until_the_thresholds_change(provider, data, emulator):
    strict = checked(provider, validated(data, max_eval_loss=0.01))
    for _ in range(2):  # every `pulumi up` adopts the job and judges it again: never a second job
        with pytest.raises(QualityGateFailed):
            provider.create(strict)
    outs = provider.create(checked(provider, validated(data, max_eval_loss=5.0))).outs
    assert outs["state"] == "SUCCEEDED" and len(all_jobs(emulator.url)) == 1


def test_gate_and_best_checkpoint_need_validation_data(provider):
    for override in ({"min_eval_token_accuracy": 0.8}, {"max_eval_loss": 0.5}, {"serve_checkpoint": "best_eval_loss"}):
        failures = provider.check({}, inputs("gs://tuning-data/t.jsonl", **override)).failures
        field = next(iter(override))
        assert [(f.property, "set validation_dataset_uri" in f.reason) for f in failures] == [(field, True)]
    raw = inputs("gs://tuning-data/t.jsonl", validation_dataset_uri="gs://tuning-data/v.jsonl",
                 serve_checkpoint="best_eval_loss", export_last_checkpoint_only=True)
    failures = provider.check({}, raw).failures
    assert [f.property for f in failures] == ["serve_checkpoint"]
    assert "export_last_checkpoint_only" in failures[0].reason


# --- the serving checkpoint ------------------------------------------------------------


def first_epoch_best(
    conn: vertex.Connection, job: vertex.JobRecord, retry: vertex.RetryPolicy = vertex.DEFAULT_RETRY
) -> MetricSeries:
    """The metrics as the emulator wrote them, but with the first epoch's eval loss the lowest
    (the emulator's falls every epoch)."""
    series = vertex.read_metric_series(conn, job, retry)
    evals = series.points.get("/eval_total_loss", [])
    return MetricSeries({**series.points, "/eval_total_loss": [(s, 0.1 if i == 0 else 0.9) for i, (s, _) in
                                                               enumerate(evals)]})


def test_best_checkpoint_serves_the_lowest_eval_loss_and_answers(emulator, data):
    provider = make_provider(emulator.url, read_metric_series=first_epoch_best)
    outs = provider.create(checked(provider, validated(data, serve_checkpoint="best_eval_loss"))).outs
    first = outs["checkpoints"][0]
    assert outs["serving_checkpoint"] == first["checkpoint_id"] and first["eval_loss"] == 0.1
    assert outs["tuned_model_endpoint"] == first["endpoint"] != outs["checkpoints"][-1]["endpoint"]
    assert vertex.generate_content(conn(provider), outs["tuned_model_endpoint"], "What is the capital of France?")
    # A refresh keeps the choice.
    assert provider.read(outs["name"], outs).outs["tuned_model_endpoint"] == first["endpoint"]


def test_an_unreadable_metrics_store_fails_the_create_only_where_metrics_decide(emulator, data, capfd):
    from tuning_provider.errors import PermissionDenied

    def denied(*_args: Any) -> MetricSeries:
        raise PermissionDenied("reading experiment: denied (HTTP 403)", status=403)

    provider = make_provider(emulator.url, read_metric_series=denied)
    outs = provider.create(checked(provider, validated(data))).outs
    assert outs["state"] == "SUCCEEDED" and outs["metrics"] is None
    assert "warning: the training metrics could not be read" in capfd.readouterr().err
    with pytest.raises(PermissionDenied):
        provider.create(checked(provider, validated(data, max_eval_loss=5.0)))


def test_changing_serve_checkpoint_updates_the_endpoint_in_place(provider, emulator, data):
    outs = provider.create(checked(provider, validated(data))).outs
    # The next up's provider process reads metrics in which the first epoch is best.
    provider = make_provider(emulator.url, read_metric_series=first_epoch_best)
    news = checked(provider, validated(data, serve_checkpoint="best_eval_loss"))
    assert provider.diff(outs["name"], outs, news).replaces == []
    updated = provider.update(outs["name"], outs, news).outs
    assert updated["name"] == outs["name"] and updated["serving_checkpoint"] == outs["checkpoints"][0]["checkpoint_id"]
    assert updated["tuned_model_endpoint"] == outs["checkpoints"][0]["endpoint"]


def test_a_new_serving_checkpoint_that_does_not_answer_fails_the_update_and_keeps_the_old(
    provider, emulator, data, vertex_http
):
    outs = provider.create(checked(provider, validated(data))).outs
    first = outs["checkpoints"][0]["endpoint"]
    _, _, endpoint = vertex_http("GET", f"/v1/{first}", emulator=emulator)
    (deployed,) = endpoint["deployedModels"]
    status, _, _ = vertex_http("POST", f"/v1/{first}:undeployModel", {"deployedModelId": deployed["id"]},
                               emulator=emulator)  # someone undeployed the first checkpoint's model
    assert status == 200
    provider = make_provider(emulator.url, read_metric_series=first_epoch_best)
    news = checked(provider, validated(data, serve_checkpoint="best_eval_loss"))
    with pytest.raises(JobNotServing, match=f"its endpoint {first} serves no model \\(undeployed\\); the stack "
                                            "keeps serving the endpoint it had"):
        provider.update(outs["name"], outs, news)
    # The old endpoint still answers: the failed update recorded nothing.
    assert vertex.serving_problem(conn(provider), vertex.get_tuning_job(conn(provider), outs["name"])) is None


def test_preview_with_data_still_to_upload_shows_the_cost_and_enforces_the_ceiling(provider, capfd):
    from pulumi.runtime.rpc import UNKNOWN

    raw = inputs(UNKNOWN, validation_dataset_uri=UNKNOWN, training_dataset_tokens=8752, epoch_count=3)
    assert provider.check({}, raw).failures == []
    assert "~26,300 training tokens (8,752 x 3 epochs)" in capfd.readouterr().err
    (failure,) = provider.check({}, {**raw, "max_training_tokens": 10_000}).failures
    assert failure.property == "max_training_tokens" and "~26,256 tokens" in failure.reason
