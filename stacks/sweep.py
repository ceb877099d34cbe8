"""A sweep: one declaration that becomes one TuningJob per combination of a grid of settings.

    sweep = Sweep("reviews", SweepSettings(base={...TuningJob inputs...},
                                           grid={"learning_rate_multiplier": [0.5, 1, 2], "adapter_size": [4, 8]}))
    sweep.best        # Output: the name of the trial with the lowest eval loss
    sweep.of_best("tuned_model_endpoint")     # Output: that trial's endpoint

The trials are separate TuningJob resources (`reviews-lr0.5-a4`, ...), so they run in parallel
(the provider runs its creates on a wide pool: tuning_provider/pulumi_internals.py) and each is
created, adopted, replaced and deleted like any other job: a trial whose settings did not change
is untouched by the next `up`. The best trial is read from each trial's `metrics` output
(`eval_loss`, from the job's validation data) once every trial's create has returned, that is
once every trial's model serves: the model the stack serves is the best trial's.

`keep`: "all" keeps every trial's job and model (compare them, ask them). "best" removes the
trials that did not win: the next `pulumi up` after a sweep has finished reads the winner from
the stack's own outputs (`bestTrial`, with `sweepKey`, a digest of the sweep's settings, grid
and data) and declares that trial only, so Pulumi deletes the others (their models and
endpoints) while the winner stays untouched and serving. Changing the settings, the grid or
the data runs every trial again.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi

from stacks.entries import SweepPlan, trial_name
from tuning_provider import TuningJob, TuningJobArgs

__all__ = ["Sweep", "SweepSettings", "best_trial"]


@dataclass(frozen=True)
class SweepSettings:
    """The inputs every trial shares (`base`), the grid, and which trials stay (`keep`)."""

    base: dict[str, Any]
    grid: dict[str, list[Any]]
    keep: str = "all"
    # With keep="best": the winner of the finished sweep, from the stack's last outputs.
    winner: str | None = None
    opts: pulumi.ResourceOptions | None = field(default=None, compare=False)


def best_trial(metrics: Mapping[str, Mapping[str, Any] | None]) -> str | None:
    """The trial with the lowest eval loss; ties go to the first by name. None while no trial
    reports one."""
    scored = [(loss, name) for name, values in metrics.items()
              if values and isinstance(loss := values.get("eval_loss"), (int, float)) and not math.isnan(loss)]
    return min(scored)[1] if scored else None


class Sweep:
    """The trials of a grid of settings as TuningJob resources, and the best of them."""

    def __init__(self, name: str, settings: SweepSettings) -> None:
        plan = SweepPlan(settings.grid, settings.keep)
        every = {trial_name(name, trial): trial for trial in plan.trials()}
        self.names = list(every)
        if settings.keep == "best" and settings.winner in every:
            # The sweep has run and its winner is known: only it stays, the others are deleted.
            every = {settings.winner: every[settings.winner]}
        self.trials: dict[str, TuningJob] = {
            trial: TuningJob(trial, TuningJobArgs(**{**settings.base, **values}), opts=settings.opts)
            for trial, values in every.items()
        }
        self.settings = {trial: every[trial] for trial in self.trials}
        names = list(self.trials)
        self.best: pulumi.Output[str | None] = pulumi.Output.all(
            *(job.metrics for job in self.trials.values())
        ).apply(lambda metrics: best_trial(dict(zip(names, metrics, strict=True))))

    def of_best(self, attribute: str) -> pulumi.Output[Any]:
        """An output of the best trial (None while there is none)."""
        names = list(self.trials)
        values = [getattr(job, attribute) for job in self.trials.values()]
        return pulumi.Output.all(self.best, *values).apply(
            lambda got: dict(zip(names, got[1:], strict=True)).get(got[0]) if got[0] else None
        )
