"""What a job's training metrics say: the final figures, each checkpoint's eval loss, which
checkpoint serves, and whether the quality gate lets the model serve. `measured_outputs` puts
the first three into a job's outputs: the one place both the provider (serving.measured) and
the command line's `--json` measure a job.

Pure functions of what `vertex.read_metric_series` read and the job's record; nothing here
calls Vertex. Vertex's series names: loss is `*_total_loss`, token accuracy is
`*_fraction_of_correct_next_step_preds`; the eval series exist only with validation data and
have one point per epoch (at the steps where checkpoints are taken).
"""

from __future__ import annotations

from dataclasses import dataclass

from tuning_provider.records import JobRecord, MetricSeries
from tuning_provider.spec import Checkpoint, Metrics, ServeCheckpoint, TuningJobOutputs, TuningJobSpec

__all__ = [
    "EVAL_ACCURACY",
    "EVAL_LOSS",
    "TRAIN_ACCURACY",
    "TRAIN_LOSS",
    "Judged",
    "final_metrics",
    "judge",
    "measured_outputs",
    "serving_checkpoint",
    "with_eval_loss",
]

TRAIN_LOSS = "/train_total_loss"
TRAIN_ACCURACY = "/train_fraction_of_correct_next_step_preds"
EVAL_LOSS = "/eval_total_loss"
EVAL_ACCURACY = "/eval_fraction_of_correct_next_step_preds"


def final_metrics(series: MetricSeries, job: JobRecord) -> Metrics | None:
    """The last value of each series, the step reached and the epochs completed; None before
    the job has written any metric."""
    if not series.points:
        return None
    last_train = series.last(TRAIN_LOSS)
    step = last_train[0] if last_train else None
    epoch = job.completed_epochs
    total_steps = job.outputs.tuning_data_stats.steps if job.outputs.tuning_data_stats else None
    epochs = job.hyper_parameters.get("epoch_count")
    if epoch is None and step is not None and total_steps and epochs:
        epoch = step // max(1, total_steps // epochs)
    return Metrics(
        train_loss=_value(series.last(TRAIN_LOSS)),
        train_token_accuracy=_value(series.last(TRAIN_ACCURACY)),
        eval_loss=_value(series.last(EVAL_LOSS)),
        eval_token_accuracy=_value(series.last(EVAL_ACCURACY)),
        step=step,
        epoch=epoch,
    )


def with_eval_loss(checkpoints: list[Checkpoint], series: MetricSeries) -> list[Checkpoint]:
    """The checkpoints, each with the eval loss measured at its step (None without one)."""
    return [
        c.model_copy(update={"eval_loss": series.at(EVAL_LOSS, c.step) if c.step is not None else None})
        for c in checkpoints
    ]


def serving_checkpoint(checkpoints: list[Checkpoint], how: ServeCheckpoint) -> Checkpoint | None:
    """The checkpoint whose endpoint serves. "default" is Vertex's choice, the last one (its
    endpoint is the tuned model's); "best_eval_loss" the one with the lowest eval loss (the
    earliest on a tie: fewer epochs, less overfitting). None when there are no checkpoints."""
    served = [c for c in checkpoints if c.endpoint]
    if not served:
        return None
    if how == "best_eval_loss":
        measured = [c for c in served if c.eval_loss is not None]
        if measured:
            return min(measured, key=lambda c: (c.eval_loss, c.step or 0))
    return served[-1]


def measured_outputs(job: JobRecord, series: MetricSeries, how: ServeCheckpoint = "default") -> TuningJobOutputs:
    """The job's outputs with what `series` says in them: the final figures, each checkpoint's
    eval loss, the checkpoint that serves (chosen `how`) and its endpoint as the tuned model's."""
    checkpoints = with_eval_loss(job.outputs.checkpoints, series)
    served = serving_checkpoint(checkpoints, how)
    outputs = job.outputs.model_copy(update={
        "metrics": final_metrics(series, job),
        "checkpoints": checkpoints,
        "serving_checkpoint": served.checkpoint_id if served else None,
    })
    if served is not None and job.outputs.tuned_model_endpoint:
        outputs = outputs.model_copy(update={"tuned_model_endpoint": served.endpoint})
    return outputs


@dataclass(frozen=True)
class Judged:
    """The quality gate's verdict on the checkpoint that would serve."""

    misses: tuple[str, ...]
    """One phrase per threshold missed, with both figures; empty when the gate passes."""

    @property
    def passed(self) -> bool:
        return not self.misses


def judge(spec: TuningJobSpec, series: MetricSeries, served: Checkpoint | None) -> Judged:
    """Whether the eval figures of the serving checkpoint (the last eval point when no
    checkpoint is known) meet `min_eval_token_accuracy` and `max_eval_loss`. A threshold
    with no figure to judge (no eval series written) is a miss: unmeasured is not good."""
    step = served.step if served is not None and served.step is not None else None
    loss = series.at(EVAL_LOSS, step) if step is not None else _value(series.last(EVAL_LOSS))
    accuracy = series.at(EVAL_ACCURACY, step) if step is not None else _value(series.last(EVAL_ACCURACY))
    misses: list[str] = []
    if spec.min_eval_token_accuracy is not None and (accuracy is None or accuracy < spec.min_eval_token_accuracy):
        misses.append(f"eval token accuracy {_figure(accuracy)} is below min_eval_token_accuracy "
                      f"{spec.min_eval_token_accuracy:g}")
    if spec.max_eval_loss is not None and (loss is None or loss > spec.max_eval_loss):
        misses.append(f"eval loss {_figure(loss)} is above max_eval_loss {spec.max_eval_loss:g}")
    return Judged(tuple(misses))


def _value(point: tuple[int, float] | None) -> float | None:
    return point[1] if point is not None else None


def _figure(value: float | None) -> str:
    return "unmeasured" if value is None else f"{value:.4g}"
