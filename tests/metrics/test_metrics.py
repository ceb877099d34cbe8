"""What the metrics say: final figures, each checkpoint's eval loss, the serving checkpoint and
the quality gate's verdict, as pure functions of hand-made series."""

from __future__ import annotations

from typing import Any

from tuning_provider import metrics
from tuning_provider.spec import Checkpoint, TuningJobSpec
from tuning_provider.vertex import MetricSeries

SERIES = MetricSeries({
    metrics.EVAL_LOSS: [(2, 0.50), (4, 0.31), (6, 0.35)],
    metrics.EVAL_ACCURACY: [(2, 0.70), (4, 0.86), (6, 0.84)],
})
CHECKPOINTS = [Checkpoint(checkpoint_id=str(i), epoch=i, step=2 * i, endpoint=f"endpoints/{i}") for i in (1, 2, 3)]


def spec(**settings: Any) -> TuningJobSpec:
    return TuningJobSpec(project="my-project", base_model="gemini-3.5-flash",
                         training_dataset_uri="gs://b-1/t.jsonl", validation_dataset_uri="gs://b-1/v.jsonl",
                         **settings)


def test_each_checkpoint_gets_the_eval_loss_at_its_step():
    assert [c.eval_loss for c in metrics.with_eval_loss(CHECKPOINTS, SERIES)] == [0.50, 0.31, 0.35]


def test_default_serves_the_last_checkpoint_best_the_lowest_eval_loss():
    measured = metrics.with_eval_loss(CHECKPOINTS, SERIES)
    assert metrics.serving_checkpoint(measured, "default") == measured[2]
    assert metrics.serving_checkpoint(measured, "best_eval_loss") == measured[1]
    tie = [c.model_copy(update={"eval_loss": 0.3}) for c in measured]
    assert metrics.serving_checkpoint(tie, "best_eval_loss") == tie[0]  # the earliest on a tie
    unmeasured = [c.model_copy(update={"eval_loss": None}) for c in measured]
    assert metrics.serving_checkpoint(unmeasured, "best_eval_loss") == unmeasured[2]
    assert metrics.serving_checkpoint([], "best_eval_loss") is None


def test_the_gate_judges_the_serving_checkpoints_figures():
    best = metrics.with_eval_loss(CHECKPOINTS, SERIES)[1]
    assert metrics.judge(spec(max_eval_loss=0.32, min_eval_token_accuracy=0.85), SERIES, best).passed
    last = metrics.judge(spec(max_eval_loss=0.32, min_eval_token_accuracy=0.85), SERIES, CHECKPOINTS[2])
    assert last.misses == ("eval token accuracy 0.84 is below min_eval_token_accuracy 0.85",
                           "eval loss 0.35 is above max_eval_loss 0.32")


def test_an_unmeasured_figure_misses_the_gate_and_no_thresholds_pass_anything():
    assert metrics.judge(spec(max_eval_loss=1.0), MetricSeries(), None).misses == (
        "eval loss unmeasured is above max_eval_loss 1",)
    assert metrics.judge(spec(), MetricSeries(), None).passed
