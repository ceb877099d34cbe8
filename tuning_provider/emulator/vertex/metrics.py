"""The training metrics a supervised tuning job writes, step by step, as Vertex names them:

    /train_total_loss, /train_fraction_of_correct_next_step_preds, /train_num_predictions
    /eval_total_loss, /eval_fraction_of_correct_next_step_preds, /eval_num_predictions
    (the eval series only with a validation set, one point per epoch)

IMITATED, like the endpoints' answers: no model is trained. The values are a deterministic
function of the job's training examples (the same data gives the same curves): the loss
falls from a data-dependent start towards a floor with a little noise, token accuracy rises,
and num_predictions counts the answer tokens of the examples in each step's batch. A step's
point exists once the job's timeline has reached it (`Timeline.steps_done`), so the series
grow while the job runs and are complete when it has SUCCEEDED.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass

from tuning_provider.catalog import CHARS_PER_TOKEN
from tuning_provider.emulator.vertex.tuning_jobs import BATCH_SIZE, StoredJob

__all__ = ["EVAL_SERIES", "TRAIN_SERIES", "Point", "points", "series_names"]

TRAIN_LOSS = "/train_total_loss"
TRAIN_ACCURACY = "/train_fraction_of_correct_next_step_preds"
TRAIN_PREDICTIONS = "/train_num_predictions"
EVAL_LOSS = "/eval_total_loss"
EVAL_ACCURACY = "/eval_fraction_of_correct_next_step_preds"
EVAL_PREDICTIONS = "/eval_num_predictions"
TRAIN_SERIES = (TRAIN_LOSS, TRAIN_ACCURACY, TRAIN_PREDICTIONS)
EVAL_SERIES = (EVAL_LOSS, EVAL_ACCURACY, EVAL_PREDICTIONS)


@dataclass(frozen=True)
class Point:
    """One value of a series: after training step `step`, written at `wall_time`."""

    step: int
    wall_time: float
    value: float


@dataclass(frozen=True)
class _Curve:
    """The shape of a job's learning curves, drawn from its data."""

    start_loss: float
    floor_loss: float
    rate: float
    start_accuracy: float
    end_accuracy: float
    seed: int

    def progress(self, step: int, total: int) -> float:
        """0 at the first step, close to 1 at the last: how much has been learnt."""
        return 1.0 - math.exp(-self.rate * step / max(total, 1))

    def noise(self, step: int, salt: str) -> float:
        """A reproducible draw around 0 (sd 1) for one step of one series."""
        return random.Random(f"{self.seed}:{salt}:{step}").gauss(0.0, 1.0)


def series_names(record: StoredJob) -> tuple[str, ...]:
    """The series the job writes: eval ones only when it has a validation set."""
    return TRAIN_SERIES + (EVAL_SERIES if record.plan.get("validationAnswers") else ())


def points(record: StoredJob, series: str, now: float) -> list[Point]:
    """The points of `series` the job has written by `now`, in step order."""
    total = record.total_steps
    done = record.timeline.steps_done(now, total)
    curve = _curve(record)
    if series in TRAIN_SERIES:
        steps = range(1, done + 1)
    elif series in series_names(record):
        per_epoch = record.steps_per_epoch
        steps = range(per_epoch, done + 1, per_epoch)
    else:
        return []
    return [
        Point(step, record.timeline.step_time(step, total), _value(record, curve, series, step, total))
        for step in steps
    ]


def _curve(record: StoredJob) -> _Curve:
    digest = hashlib.sha256()
    for example in record.examples:
        digest.update(example.prompt.encode())
        digest.update(b"\0")
        digest.update(example.answer.encode())
        digest.update(b"\n")
    seed = int.from_bytes(digest.digest()[:8], "big")
    draw = random.Random(seed)
    # Longer answers start from a higher loss: more tokens to get wrong.
    mean_answer = sum(len(e.answer) for e in record.examples) / max(len(record.examples), 1)
    return _Curve(
        start_loss=1.4 + min(mean_answer, 400) / 400 + 0.4 * draw.random(),
        floor_loss=0.08 + 0.2 * draw.random(),
        rate=3.0 + 2.0 * draw.random(),
        start_accuracy=0.35 + 0.15 * draw.random(),
        end_accuracy=0.86 + 0.1 * draw.random(),
        seed=seed,
    )


def _value(record: StoredJob, curve: _Curve, series: str, step: int, total: int) -> float:
    learnt = curve.progress(step, total)
    loss = curve.floor_loss + (curve.start_loss - curve.floor_loss) * (1.0 - learnt)
    accuracy = curve.start_accuracy + (curve.end_accuracy - curve.start_accuracy) * learnt
    if series == TRAIN_LOSS:
        return round(max(0.01, loss * (1.0 + 0.04 * curve.noise(step, series))), 6)
    if series == TRAIN_ACCURACY:
        return round(min(1.0, max(0.0, accuracy + 0.01 * curve.noise(step, series))), 6)
    if series == TRAIN_PREDICTIONS:
        return float(_batch_tokens(record, step))
    # Held-out data: a little worse than training, without step-to-step noise.
    if series == EVAL_LOSS:
        return round(loss * 1.08 + 0.02, 6)
    if series == EVAL_ACCURACY:
        return round(min(1.0, max(0.0, accuracy * 0.97)), 6)
    answers: list[str] = record.plan.get("validationAnswers", [])
    return float(sum(_tokens(answer) for answer in answers))


def _batch_tokens(record: StoredJob, step: int) -> int:
    """Answer tokens of the examples in training step `step` (1-based), batch by batch
    through the training file, epoch after epoch."""
    examples = record.examples
    if not examples:
        return 0
    within_epoch = (step - 1) % record.steps_per_epoch
    batch = examples[within_epoch * BATCH_SIZE:(within_epoch + 1) * BATCH_SIZE] or examples[-BATCH_SIZE:]
    return sum(_tokens(e.answer) for e in batch)


def _tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / CHARS_PER_TOKEN))
