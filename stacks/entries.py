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
      reviews-more:
        tuneFrom: reviews                                # continuous tuning: from reviews' model
        trainingData: examples/data/more.jsonl
        pre_tuned_model_checkpoint_id: "2"               # optional: that model's default otherwise

`tuneFrom` makes a job tune further from another job's tuned model (its base_model is that
model): a job of this stack by name, or a job of another stack, `{stack: ORG/PROJECT/STACK}`
(a one-job stack's model) or `{stack: ..., job: NAME}`, read through a StackReference. A chain
within the stack is ordered by the engine: a new model of `reviews` replaces `reviews-more` with
one tuned from it, and the old models go only once the new ones serve. A job never tunes from
its own model: each `up` would then replace it with one tuned from the last.

Beside TuningJob inputs a job holds only `trainingData`, `validationData`, `sweep` and `tuneFrom`.
This module holds what a job is once parsed (`JobEntry`, `SweepPlan`, `TuneFrom`), the names of
its parts, and the order jobs are declared in; stacks/job_settings.py parses and judges them.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "DATASET_KEYS",
    "ENTRY_KEYS",
    "JOB_NAME",
    "KEEP_CHOICES",
    "SWEEP_KEYS",
    "TUNE_FROM_STACK_KEYS",
    "JobEntry",
    "SweepPlan",
    "TuneFrom",
    "in_declaration_order",
    "trial_name",
    "tune_from",
]

# A job's own datasets, by the stack setting they stand in for.
DATASET_KEYS = {"trainingData": "training", "validationData": "validation"}
ENTRY_KEYS = frozenset({*DATASET_KEYS, "sweep", "tuneFrom"})
SWEEP_KEYS = frozenset({"grid", "keep"})
TUNE_FROM_STACK_KEYS = frozenset({"stack", "job"})
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
class TuneFrom:
    """The tuned model a job tunes further from: that of `job` in this stack (`stack` None),
    or of another stack (`job` None for a one-job stack)."""

    job: str | None = None
    stack: str | None = None

    def output_path(self) -> tuple[str, ...]:
        """Where the other stack exports the model's name."""
        return ("jobs", self.job, "tunedModelName") if self.job else ("tunedModelName",)


def tune_from(value: Any) -> TuneFrom | None:
    """A `tuneFrom` setting as written (a job name, or {stack, job}); None if it is neither."""
    if isinstance(value, str):
        return TuneFrom(job=value)
    if isinstance(value, Mapping) and isinstance(value.get("stack"), str) and set(value) <= TUNE_FROM_STACK_KEYS:
        job = value.get("job")
        return TuneFrom(job=str(job) if job is not None else None, stack=value["stack"])
    return None


@dataclass(frozen=True)
class JobEntry:
    """One named job of the stack: its TuningJob inputs (shared ones merged in), its dataset
    files by kind, its sweep, if it is one, and the model it tunes from, if any. `name` is
    None for a one-job stack."""

    name: str | None
    inputs: dict[str, Any]
    datasets: dict[str, Path]
    sweep: SweepPlan | None = None
    tune_from: TuneFrom | None = None
    # The Google model at the root of its tuneFrom chain (its own base_model without one): its
    # limits apply along the chain and its data is tokenized for it. None when the chain
    # leaves the stack.
    root_model: str | None = None

    @property
    def key(self) -> str:
        return self.name or "job"


def in_declaration_order(entries: Sequence[JobEntry]) -> list[JobEntry]:
    """`entries` with each job after the job of this stack it tunes from, so that its source is
    declared first; otherwise in the order written. A circle is left as written (the parse
    reports it)."""
    by_key = {entry.key: entry for entry in entries}
    ordered: dict[str, JobEntry] = {}

    def place(entry: JobEntry, seen: frozenset[str]) -> None:
        source = entry.tune_from.job if entry.tune_from and not entry.tune_from.stack else None
        if source in by_key and source not in seen:
            place(by_key[source], seen | {entry.key})
        ordered.setdefault(entry.key, entry)

    for entry in entries:
        place(entry, frozenset())
    return list(ordered.values())
