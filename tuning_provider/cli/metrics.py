"""`jobs metrics`: a job's training metrics in the terminal, and as a picture.

    python -m tuning_provider jobs metrics NAME_OR_ID [--json] [--plot loss.png]

One row per series (points, first, last, lowest, highest value and a sparkline of the curve),
then each checkpoint's eval loss. `--plot` writes the train/eval loss and token accuracy
curves with matplotlib, an optional extra (`pip install 'pulumi-vertex-tuning[plot]'`), not
a dependency of the provider.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from tuning_provider import metrics
from tuning_provider.cli.connection import UsageError
from tuning_provider.records import JobRecord, MetricSeries

__all__ = ["metrics_json", "metrics_table", "plot_metrics", "sparkline"]

_BARS = "▁▂▃▄▅▆▇█"
SPARKLINE_WIDTH = 40
# Series in the order people read them, with a short name.
_NAMES = {
    metrics.TRAIN_LOSS: "train loss",
    metrics.EVAL_LOSS: "eval loss",
    metrics.TRAIN_ACCURACY: "train token accuracy",
    metrics.EVAL_ACCURACY: "eval token accuracy",
    "/train_num_predictions": "train tokens per step",
    "/eval_num_predictions": "eval tokens",
}


def sparkline(values: Sequence[float], width: int = SPARKLINE_WIDTH) -> str:
    """The curve in at most `width` block characters, each the mean of its share of points."""
    if not values:
        return ""
    if len(values) > width:
        edges = [round(i * len(values) / width) for i in range(width + 1)]
        values = [sum(values[a:b]) / (b - a) for a, b in zip(edges, edges[1:], strict=False) if b > a]
    low, high = min(values), max(values)
    span = high - low
    return "".join(_BARS[round((v - low) / span * (len(_BARS) - 1)) if span else 0] for v in values)


def metrics_table(job: JobRecord, series: MetricSeries, width: int = SPARKLINE_WIDTH) -> str:
    """The series as aligned rows and the checkpoints' eval loss below them."""
    if not series.points:
        return f"tuning job {job.name} ({job.state}) has written no metrics yet"
    ordered = [name for name in _NAMES if name in series.points] + sorted(set(series.points) - set(_NAMES))
    rows: list[tuple[str, ...]] = [("SERIES", "POINTS", "FIRST", "LAST", "MIN", "MAX", "CURVE")]
    for name in ordered:
        values = [v for _, v in series.points[name]]
        if not values:
            rows.append((_NAMES.get(name, name), "0", "-", "-", "-", "-", ""))
            continue
        rows.append((_NAMES.get(name, name), str(len(values)), *(_number(v) for v in
                     (values[0], values[-1], min(values), max(values))), sparkline(values, width)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    for checkpoint in metrics.with_eval_loss(job.outputs.checkpoints, series):
        loss = f"eval loss {_number(checkpoint.eval_loss)}" if checkpoint.eval_loss is not None else "no eval loss"
        where = f"epoch {checkpoint.epoch}, step {checkpoint.step}"
        lines.append(f"checkpoint {checkpoint.checkpoint_id} ({where}): {loss}")
    return "\n".join(lines)


def plot_metrics(job: JobRecord, series: MetricSeries, path: Path) -> None:
    """Loss and token accuracy curves, train and eval, side by side, as an image file."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only: no display needed
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise UsageError(
            "--plot needs matplotlib, an optional extra: pip install 'pulumi-vertex-tuning[plot]'"
        ) from exc
    figure, (loss, accuracy) = plt.subplots(1, 2, figsize=(11, 4))
    for axes, pair, title in ((loss, (metrics.TRAIN_LOSS, metrics.EVAL_LOSS), "loss"),
                              (accuracy, (metrics.TRAIN_ACCURACY, metrics.EVAL_ACCURACY), "token accuracy")):
        for name in pair:
            points = series.points.get(name)
            if points:
                steps, values = zip(*points, strict=True)
                axes.plot(steps, values, marker="o" if len(points) < 30 else None, label=_NAMES[name])
        axes.set_title(title)
        axes.set_xlabel("step")
        axes.legend()
        axes.grid(alpha=0.3)
    figure.suptitle(f"{job.display_name or job.name} ({job.state})")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def _number(value: float) -> str:
    # Four significant figures: loss 0.2306, token counts 1234.
    return f"{value:.4g}"


def metrics_json(series: MetricSeries) -> str:
    """{series: [{step, value}, ...]} as indented JSON."""
    return json.dumps({name: [{"step": s, "value": v} for s, v in points] for name, points in series.points.items()},
                      indent=2)
