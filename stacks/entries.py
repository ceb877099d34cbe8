"""The stack's tuning jobs, by name: what `tuning:job` and `tuning:jobs` declare.

A one-job stack sets `tuning:job` (TuningJob inputs) and nothing else, as always. A stack of
several jobs names them under `tuning:jobs`; `tuning:job` then holds the settings they share:

    tuning:trainingData: examples/data/train.jsonl      # every job's data, unless it has its own
    tuning:job: {base_model: gemini-3.5-flash, epoch_count: 3}     # shared by every job
    tuning:jobs:
      reviews: {}                                        # the shared settings as they are
      support:
        trainingData: examples/data/support.jsonl        # its own data
        epoch_count: 5                                   # its own settings win
        sweep:                                           # a grid of trials; the best one serves
          grid: {learning_rate_multiplier: [0.5, 1, 2], adapter_size: [4, 8]}
          keep: all                                      # or best: see stacks/sweep.py

Beside TuningJob inputs a job holds only `trainingData`, `validationData` and `sweep`. This
module turns the (already judged) settings into `JobEntry`s; stacks/config.py judges them.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "DATASET_KEYS",
    "ENTRY_KEYS",
    "JOB_NAME",
    "KEEP_CHOICES",
    "SWEEP_KEYS",
    "JobEntry",
    "SweepPlan",
    "job_entries",
    "trial_name",
]

# A job's own datasets, by the stack setting they stand in for.
DATASET_KEYS = {"trainingData": "training", "validationData": "validation"}
ENTRY_KEYS = frozenset({*DATASET_KEYS, "sweep"})
SWEEP_KEYS = frozenset({"grid", "keep"})
KEEP_CHOICES = ("all", "best")
# A job's name is part of resource names and output keys.
JOB_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
# Short names of the usual sweep settings, for trial names: reviews-e3-lr0.5-a4.
_SHORT = {"epoch_count": "e", "learning_rate_multiplier": "lr", "adapter_size": "a"}


@dataclass(frozen=True)
class SweepPlan:
    """A grid of settings (every combination is one trial) and which trials stay afterwards."""

    grid: dict[str, list[Any]]
    keep: str = "all"

    def trials(self) -> list[dict[str, Any]]:
        """Every combination of the grid's values, in the grid's order."""
        fields = list(self.grid)
        return [dict(zip(fields, values, strict=True)) for values in itertools.product(*self.grid.values())]


def trial_name(job: str, settings: Mapping[str, Any]) -> str:
    """`reviews-e3-lr0.5-a4`: the job's name and the trial's settings, short."""
    return "-".join([job, *(f"{_SHORT.get(field, field)}{_number(value)}" for field, value in settings.items())])


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class JobEntry:
    """One named job of the stack: its TuningJob inputs (shared ones merged in), its dataset
    files by kind, and its sweep, if it is one. `name` is None for a one-job stack."""

    name: str | None
    inputs: dict[str, Any]
    datasets: dict[str, Path]
    sweep: SweepPlan | None = None

    @property
    def key(self) -> str:
        return self.name or "job"


def job_entries(
    shared: Mapping[str, Any],
    jobs: Mapping[str, Mapping[str, Any]] | None,
    datasets: Mapping[str, Path | None],
    root: Path,
) -> list[JobEntry]:
    """The stack's jobs from `tuning:job` (`shared`), `tuning:jobs` and the stack's datasets;
    a job's own dataset paths are relative to `root`, the project folder."""
    if not jobs:
        return [_entry(None, {}, shared, datasets, root)]
    return [_entry(name, settings, shared, datasets, root) for name, settings in jobs.items()]


def _entry(
    name: str | None, own: Mapping[str, Any], shared: Mapping[str, Any], datasets: Mapping[str, Path | None],
    root: Path,
) -> JobEntry:
    merged = {**shared, **own}
    files = dict(datasets)
    for key, kind in DATASET_KEYS.items():
        if key in merged:
            files[kind] = root / Path(merged[key])
    sweep = merged.get("sweep")
    plan = SweepPlan(grid={k: list(v) for k, v in sweep["grid"].items()}, keep=sweep.get("keep", "all")) \
        if isinstance(sweep, Mapping) else None
    inputs = {k: v for k, v in merged.items() if k not in ENTRY_KEYS}
    return JobEntry(name, inputs, {kind: path for kind, path in files.items() if path is not None}, plan)
