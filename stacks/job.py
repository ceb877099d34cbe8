"""The stack's TuningJobs and the outputs serving apps read: the same on every stack.

One-job stacks (`tuning:job`) export, as always: tuningJobName, tuningJobState, tunedModelName,
tunedModelEndpoint, checkpoints, experiment, and what the run measured and cost: metrics,
servingCheckpoint, estimatedTrainingTokens, estimatedCostUsd, tuningStateDetail,
completedEpochCount, billableTokens. A stack of several jobs (`tuning:jobs`) exports them per
job under `jobs`: `jobs.reviews.tunedModelEndpoint`, ... A sweep exports the best trial's
outputs in the same place, plus `bestTrial` (its name), `trials` (each trial's settings, job, state, endpoint and
metrics), `sweptTrials` (every trial of the grid) and `sweepKey` (a digest of the sweep's
settings, grid and data: stacks/sweep.py's `keep: best`).

A job with `tuneFrom` (stacks/entries.py) gets as base_model the tuned model name of its source:
another job's `tuned_model_name` output (a sweep's best trial's), or another stack's
`tunedModelName` output through a StackReference.

A sweep with `keep: best` reads the winner the last `up` recorded from the stack's own outputs,
through a StackReference of the stack itself (read by the engine, in previews too; a first up
finds no outputs), and declares its trials once that is read: the winner alone after a
finished sweep, every trial otherwise.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import hashlib
import json
from collections.abc import Mapping
from typing import Any

import pulumi

from stacks.config import StackConfig
from stacks.datasets import dataset_object_name, training_tokens
from stacks.entries import JobEntry, TuneFrom
from stacks.sweep import Sweep, SweepSettings
from tuning_provider import TuningJob, TuningJobArgs
from tuning_provider.spec import Metrics, TuningJobOutputs, property_name

__all__ = ["JOB_OUTPUTS", "SWEEP_OUTPUTS", "declare_tuning_jobs", "sweep_key"]

# The TuningJob outputs a serving app reads, each exported under its name in the spec (its
# camelCase property name: tuningJobName for `name`...): what names the job, its model and
# endpoint, and what the run measured and cost. The other outputs (timestamps, error, the
# evaluations) stay in the resource's state.
_EXPORTED = (
    "name", "state", "tuned_model_name", "tuned_model_endpoint", "checkpoints", "experiment", "metrics",
    "serving_checkpoint", "estimated_training_tokens", "estimated_cost_usd",
    # Where a running job is (waiting for quota, tuning, post-processing...) and how far.
    "tuning_state_detail", "completed_epoch_count",
)
# Stack output -> TuningJob output, for every job; `billableTokens`: what Vertex counted as
# billable in the training data (its tuning_data_stats' tokens).
JOB_OUTPUTS = {
    **{property_name(TuningJobOutputs, field): field for field in _EXPORTED},
    "billableTokens": "tuning_data_stats",
}

# The resource's `metrics` keys (snake_case, as every resource output) -> the stack output's.
_STACK_METRIC_KEYS = {field: property_name(Metrics, field) for field in Metrics.model_fields}


def stack_metrics(metrics: dict[str, Any] | None) -> dict[str, Any] | None:
    """The `metrics` stack output: the resource's final training metrics, camelCase keys."""
    if metrics is None:
        return None
    return {stack_key: metrics.get(key) for key, stack_key in _STACK_METRIC_KEYS.items()}


# Stack outputs whose form differs from the resource output they come from.
_STACK_FORMS: dict[str, Any] = {
    "metrics": stack_metrics,
    "billableTokens": lambda stats: (stats or {}).get("tokens"),
}


def _stack_form(output: str, value: pulumi.Output[Any]) -> pulumi.Output[Any]:
    form = _STACK_FORMS.get(output)
    return value.apply(form) if form else value


# What a sweep's entry exports beside JOB_OUTPUTS (its best trial's).
SWEEP_OUTPUTS = ("bestTrial", "sweptTrials", "sweepKey", "trials")


def declare_tuning_jobs(
    config: StackConfig,
    dataset_uris: Mapping[str, Mapping[str, Any]],
    opts: pulumi.ResourceOptions | None = None,
    per_job: Mapping[str, Mapping[str, Any]] | None = None,
    **placement: Any,
) -> dict[str, TuningJob]:
    """Every TuningJob of the stack, with their outputs exported; returns those declared at once,
    by resource name (a sweep with `keep: best` declares its trials once the stack's last
    outputs are read, so they are not among them). `dataset_uris` holds each job's dataset URIs
    by kind, keyed by the job's entry key; `placement` inputs go to every job, `per_job` ones (by
    entry key) to that job only."""
    declared: dict[str, TuningJob] = {}
    outputs: dict[str, Mapping[str, Any]] = {}  # each entry's stack outputs
    references: dict[str, pulumi.StackReference] = {}
    running: list[pulumi.Input[int]] = []  # how many jobs each entry runs
    for entry in config.entries:  # a job's source comes before it (stacks/entries.py)
        tuned_from = {"base_model": _source_model(entry.tune_from, outputs, references)} if entry.tune_from else {}
        inputs = {
            "project": config.project,
            "location": config.region,
            "training_dataset_uri": dataset_uris[entry.key]["training"],
            "validation_dataset_uri": dataset_uris[entry.key].get("validation"),
            # Checked locally before the upload: the preview's cost line and ceilings use it.
            "training_dataset_tokens": training_tokens(entry.datasets["training"]),
            # The uploaded objects are those files, named by their content: nothing to read again
            # at check (and no storage permission for the preview's identity to need).
            "validate_dataset": False,
            **placement,
            **(per_job or {}).get(entry.key, {}),
            **entry.inputs,
            **tuned_from,
        }
        base_name = f"{config.name_prefix}-{entry.key}"
        if entry.sweep is None:
            job = TuningJob(base_name, TuningJobArgs(**inputs), opts=opts)
            declared[base_name] = job
            outputs[entry.key] = {out: _stack_form(out, getattr(job, name)) for out, name in JOB_OUTPUTS.items()}
            running.append(1)
        else:
            settings = SweepSettings(base=inputs, grid=entry.sweep.grid, keep=entry.sweep.keep, opts=opts)
            if entry.sweep.keep == "best":
                outputs[entry.key], count = _sweep_keeping_best(base_name, settings, entry, config, references)
                running.append(count)
            else:
                sweep = Sweep(base_name, settings)
                declared.update(sweep.trials)
                outputs[entry.key] = _sweep_outputs(sweep, entry, config)
                running.append(len(sweep.trials))
    pulumi.Output.all(*running).apply(lambda counts: _say_if_jobs_queue(sum(counts)))
    _export(config, outputs)
    return declared


def _sweep_outputs(sweep: Sweep, entry: JobEntry, config: StackConfig) -> dict[str, Any]:
    """A sweep's stack outputs: its best trial's, and what the sweep ran."""
    return {
        **{output: _stack_form(output, sweep.of_best(name)) for output, name in JOB_OUTPUTS.items()},
        "bestTrial": sweep.best,
        "sweptTrials": sweep.names,
        "sweepKey": sweep_key(entry, config),
        "trials": {
            trial: {"settings": sweep.settings[trial], "tuningJobName": job.name, "tuningJobState": job.state,
                    "tunedModelEndpoint": job.tuned_model_endpoint, "metrics": job.metrics}
            for trial, job in sweep.trials.items()
        },
    }


def _sweep_keeping_best(
    name: str, settings: SweepSettings, entry: JobEntry, config: StackConfig,
    references: dict[str, pulumi.StackReference],
) -> tuple[dict[str, pulumi.Output[Any]], pulumi.Output[int]]:
    """A sweep with `keep: best`: its stack outputs and how many trials run. Which trials are
    declared depends on the winner the last up recorded, an Output: so they are declared once
    it is read (the engine reads a stack reference in previews too, so previews show them)."""
    winner = _recorded_winner(entry, config, references)
    declared = winner.apply(
        lambda won: _sweep_outputs(Sweep(name, dataclasses.replace(settings, winner=won)), entry, config))
    outputs = {output: declared.apply(functools.partial(_pick, output)) for output in [*JOB_OUTPUTS, *SWEEP_OUTPUTS]}
    return outputs, declared.apply(lambda values: len(values["trials"]))


def _pick(key: str, values: Mapping[str, Any]) -> Any:
    return values[key]


def _export(config: StackConfig, outputs: Mapping[str, Mapping[str, Any]]) -> None:
    """The stack outputs: per job under `jobs`, or a one-job stack's at the top."""
    if config.named_jobs:
        pulumi.export("jobs", outputs)
    else:
        for name, value in outputs["job"].items():
            pulumi.export(name, value)


def _source_model(
    source: TuneFrom, outputs: Mapping[str, Mapping[str, Any]], references: dict[str, pulumi.StackReference]
) -> pulumi.Output[Any]:
    """The tuned model name a job tunes from: a job of this stack's (declared before it), or
    another stack's, read through one StackReference per stack."""
    if source.stack is None:
        return pulumi.Output.from_input(outputs[str(source.job)]["tunedModelName"])
    path = source.output_path()

    def pick(exported: Any) -> str:
        value = exported
        for key in path[1:]:
            value = value.get(key) if isinstance(value, Mapping) else None
        if not isinstance(value, str) or not value:
            raise ValueError(f"tuneFrom: stack {source.stack} exports no {'.'.join(path)} (a tuned model's name); "
                             "run its `pulumi up` first, or fix tuneFrom's stack or job")
        return value

    return _reference(source.stack, references).get_output(path[0]).apply(pick)


def _reference(stack: str, references: dict[str, pulumi.StackReference]) -> pulumi.StackReference:
    """One StackReference per stack (fully qualified name) the program reads."""
    if stack not in references:
        references[stack] = pulumi.StackReference(stack)
    return references[stack]



def _say_if_jobs_queue(jobs: int) -> None:
    """Say so when the engine will not run every job at once: `pulumi up` runs at most
    --parallel resource operations at a time (4 per CPU by default), and a TuningJob's create
    is one operation until its model serves. The provider runs any number at once beyond
    that (tuning_provider/pulumi_internals.py)."""
    from pulumi.runtime.settings import SETTINGS

    parallel = SETTINGS.parallel
    if isinstance(parallel, int) and 1 <= parallel < jobs:
        pulumi.log.info(
            f"{jobs} tuning jobs, but pulumi runs at most {parallel} resource operations at once "
            f"(--parallel), so {jobs - parallel} of them wait for others to end; run "
            f"`pulumi up --parallel {jobs}` to wait on them all at once"
        )


def sweep_key(entry: JobEntry, config: StackConfig) -> str:
    """A digest of what a sweep's trials are trained from: its settings, its grid, its data's
    content, project and region, and the same of the job it tunes from (another stack's: its
    name only). A finished sweep with the same key needs no trial again."""
    assert entry.sweep is not None
    payload = {"project": config.project, "region": config.region, **_lineage(entry, config)}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _lineage(entry: JobEntry, config: StackConfig) -> dict[str, Any]:
    """What a job's model is trained from: its settings, grid and data, then its source's."""
    payload: dict[str, Any] = {
        "inputs": entry.inputs, "grid": entry.sweep.grid if entry.sweep else None,
        "datasets": {kind: dataset_object_name(path) for kind, path in sorted(entry.datasets.items())},
    }
    source = entry.tune_from
    if source is not None:
        entries = {e.key: e for e in config.entries}
        payload["tuneFrom"] = (
            _lineage(entries[source.job], config) if source.stack is None and source.job in entries
            else {"stack": source.stack, "job": source.job}
        )
    return payload


def _recorded_winner(
    entry: JobEntry, config: StackConfig, references: dict[str, pulumi.StackReference]
) -> pulumi.Output[str | None]:
    """The winner the last `up` recorded for this sweep (read from the stack's own outputs,
    through a StackReference of the stack itself), if it swept the same settings, grid and data;
    otherwise None, and every trial runs. On a stack's first up there are no outputs: None."""
    reference = _reference(_this_stack(), references)

    async def last_outputs() -> dict[str, Any]:
        # future() is None for a value not known yet: then every trial is declared, none deleted.
        return dict(await reference.outputs.future() or {})

    last: pulumi.Output[dict[str, Any]] = pulumi.Output.from_input(asyncio.ensure_future(last_outputs()))
    return last.apply(lambda outputs: _finished_winner(outputs, entry, config))


def _this_stack() -> str:
    """This stack's fully qualified name on the backend in use: organization/project/stack.
    Where the language host passes no organization, a file backend's applies: `organization`."""
    return f"{pulumi.get_organization() or 'organization'}/{pulumi.get_project()}/{pulumi.get_stack()}"


def _finished_winner(previous: Mapping[str, Any], entry: JobEntry, config: StackConfig) -> str | None:
    """The winner the last `up` recorded for this sweep, if it swept the same settings, grid
    and data; otherwise None."""
    recorded = previous.get("jobs", {}).get(entry.name, {}) if entry.name else previous
    if not isinstance(recorded, Mapping) or recorded.get("sweepKey") != sweep_key(entry, config):
        return None
    winner = recorded.get("bestTrial")
    return winner if isinstance(winner, str) else None
