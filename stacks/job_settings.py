"""The stack's jobs, parsed once from `tuning:job` and `tuning:jobs` into JobEntry values, every
problem collected on the way, each at the key its value is written under.

One pass per job: its settings merged with the shared ones (`merged_settings`, the one place
that merges them), its keys, its own dataset files, its `tuneFrom`, its sweep; then, with every
job known, what needs them all (a source job, a circle, the model at a chain's root, two
resources of one name) and the spec's judgement of each run (the job, or each trial of its
sweep). The spec itself judges the job settings (tuning_provider/spec/), so no job field is
listed here. Values the stack cannot know before the up (the uploaded datasets' URIs, the model a
`tuneFrom` job starts from, a missing project) reach the spec as unknown
(`spec_problems(..., unknown=...)`): it judges the known fields and the rules between them, and
nothing is made up for the others.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from stacks.config_file import Problems, closest
from stacks.entries import (
    DATASET_KEYS,
    ENTRY_KEYS,
    JOB_NAME,
    KEEP_CHOICES,
    SWEEP_KEYS,
    JobEntry,
    SweepPlan,
    TuneFrom,
    in_declaration_order,
    trial_name,
    tune_from,
)
from tuning_provider import catalog
from tuning_provider.spec import TuningJobSpec, base_model_problems, replaces_on_change, spec_problems

__all__ = ["NAMESPACE", "STACK_SET_JOB_FIELDS", "StackFacts", "merged_settings", "parse_jobs", "project_path"]

NAMESPACE = "tuning"
# Job inputs the stack program sets itself (from project, region and the uploaded datasets).
STACK_SET_JOB_FIELDS = frozenset(
    {"project", "location", "training_dataset_uri", "validation_dataset_uri", "kms_key_name",
     "service_account", "resource_key", "training_dataset_tokens"}
)
# Job inputs the stack fills from its own settings: their problems are those settings' fault.
_STACK_KEYS = {"project": "project", "location": "region"}
# How a fix in the spec's problems names the inputs the stack sets from its own settings.
_STACK_NAMES = {**{field: f"{NAMESPACE}:{key}" for field, key in _STACK_KEYS.items()},
                "validation_dataset_uri": f"{NAMESPACE}:validationData"}
# A stack reference's name, fully qualified: the backend decides what a short one means.
_STACK_NAME = re.compile(r"^[^/\s]+/[^/\s]+/[^/\s]+$")
# Keys of tuning:job beside TuningJob inputs: a one-job stack's, and with tuning:jobs (shared).
_ONE_JOB_KEYS = frozenset({"sweep", "tuneFrom"})


@dataclass(frozen=True)
class StackFacts:
    """What judging the jobs needs of the stack's own settings."""

    project: str | None  # None: not set (tuning:project reports it)
    region: str
    datasets: Mapping[str, Path]  # the stack's own dataset files by kind
    root: Path  # the project folder: a job's own dataset paths are relative to it


@dataclass
class _Job:
    """One job as written, while it is parsed: its entry so far, and where its settings are written."""

    entry: JobEntry
    prefix: str  # the key its settings are written under: tuning:job or tuning:jobs.NAME
    own: Mapping[str, Any]
    origin: dict[str, str]  # each input's key


def project_path(value: Any, root: Path) -> Path:
    """A dataset path as written: relative to the project folder `root`, or absolute."""
    path = Path(str(value))
    return path if path.is_absolute() else root / path


def merged_settings(own: Mapping[str, Any], shared: Mapping[str, Any], prefix: str) -> tuple[dict[str, Any],
                                                                                             dict[str, str]]:
    """A job's TuningJob inputs: the shared settings (tuning:job) under its own (`own`, written
    under `prefix`), and the key each value is written under."""
    inputs = {name: value for name, value in {**shared, **own}.items() if name not in ENTRY_KEYS}
    origin = {name: f"{NAMESPACE}:job.{name}" for name in shared}
    origin.update({name: f"{prefix}.{name}" for name in own})
    return inputs, origin


def parse_jobs(
    job: Any, jobs: Any, facts: StackFacts, problems: Problems, today: date | None = None
) -> list[JobEntry]:
    """The stack's jobs from `tuning:job` (`job`) and `tuning:jobs` (`jobs`) as written ({} when
    not set), in the order they are declared in; every problem goes to `problems`. Base models are judged retired
    on `today` (None: the real day)."""
    shared = _mapping(job, f"{NAMESPACE}:job", "must be a mapping of TuningJob inputs", problems)
    named = _mapping(jobs, f"{NAMESPACE}:jobs", "must be a mapping of job names to settings", problems)
    if named:
        _check_keys(shared, f"{NAMESPACE}:job", frozenset(), problems)
        parsed = [_parse_job(str(name), own, shared, facts, problems)
                  for name, own in named.items() if _is_job(name, own, problems)]
    else:
        parsed = [_parse_job(None, shared, {}, facts, problems)]
    by_name = {job.entry.name: job for job in parsed}
    for each in parsed:
        each.entry = replace(each.entry, root_model=_root_model(each, by_name))
    for each in parsed:
        if each.entry.tune_from is not None:
            _check_tune_from(each, by_name, facts, problems)
        _judge_runs(each, facts, problems, today)
    _check_resource_names(parsed, problems)
    return in_declaration_order([job.entry for job in parsed])


def _mapping(value: Any, key: str, message: str, problems: Problems) -> dict[str, Any]:
    if not isinstance(value, dict):
        problems.add(key, f"{message}, not {value!r}")
        return {}
    return value


def _is_job(name: Any, own: Any, problems: Problems) -> bool:
    """Whether tuning:jobs.NAME is a mapping to parse; a bad name is reported, and parsed all the same."""
    prefix = f"{NAMESPACE}:jobs.{name}"
    if not JOB_NAME.match(str(name)):
        problems.add(prefix, f"{name!r} is not a job name: 1-31 lowercase letters, digits and '-', starting "
                             "with a letter (it names resources and outputs)")
    if not isinstance(own, dict):
        problems.add(prefix, f"must be a mapping of TuningJob inputs, not {own!r}")
        return False
    return True


def _parse_job(
    name: str | None, own: Mapping[str, Any], shared: Mapping[str, Any], facts: StackFacts, problems: Problems
) -> _Job:
    """One job's own parts (`name` None: the one job of tuning:job, which is then `own`)."""
    prefix = f"{NAMESPACE}:jobs.{name}" if name is not None else f"{NAMESPACE}:job"
    _check_keys(own, prefix, ENTRY_KEYS if name is not None else _ONE_JOB_KEYS, problems)
    inputs, origin = merged_settings(own, shared, prefix)
    datasets = dict(facts.datasets)
    if name is not None:
        datasets.update(_own_datasets(own, prefix, facts.root, problems))
    tune_from = None
    if "tuneFrom" in own:
        inputs.pop("base_model", None)  # the source's tuned model, known only at the up
        tune_from = _parse_tune_from(own["tuneFrom"], name, prefix, problems)
        if name is not None and "base_model" in own:
            problems.add(f"{prefix}.base_model", "is the tuned model of tuneFrom; remove base_model or tuneFrom")
    sweep = _parse_sweep(own["sweep"], f"{prefix}.sweep", problems) if "sweep" in own else None
    job = _Job(JobEntry(name, inputs, datasets, sweep, tune_from), prefix, own, origin)
    return job


def _check_keys(values: Mapping[str, Any], prefix: str, allowed: frozenset[str], problems: Problems) -> None:
    """Keys that are neither TuningJob inputs the stack leaves to its user nor `allowed`."""
    inputs = [name for name in TuningJobSpec.model_fields if name not in STACK_SET_JOB_FIELDS]
    for name in values:
        key = f"{prefix}.{name}"
        if name in allowed:
            continue
        if name in STACK_SET_JOB_FIELDS:
            problems.add(key, f"is set by the stack program; remove it from {prefix}")
        elif name not in TuningJobSpec.model_fields:
            problems.add(key, closest(name, [*inputs, *sorted(allowed)], "a TuningJob input"))


def _own_datasets(own: Mapping[str, Any], prefix: str, root: Path, problems: Problems) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for key, kind in DATASET_KEYS.items():
        if key in own:
            files[kind] = path = project_path(own[key], root)
            if not path.is_file():
                problems.add(f"{prefix}.{key}", f"{path} is not a file; give a path relative to the project folder")
    return files


def _parse_tune_from(value: Any, name: str | None, prefix: str, problems: Problems) -> TuneFrom | None:
    """A tuneFrom as written; None, with the problem, when its form is wrong."""
    source = tune_from(value)
    if source is None or (name is None and source.stack is None):
        problems.add(f"{prefix}.tuneFrom", "must be {stack: ORG/PROJECT/STACK} with optionally job: NAME"
                     + (", or name a job of tuning:jobs" if name else " (a one-job stack has no other job to "
                        "tune from)") + f"; not {value!r}")
        return None
    if source.stack is not None and not _STACK_NAME.match(source.stack):
        problems.add(f"{prefix}.tuneFrom.stack", f"{source.stack!r} is not a fully qualified stack name; write "
                                                 "ORG/PROJECT/STACK (see `pulumi stack ls --all`)")
    return source


def _parse_sweep(sweep: Any, key: str, problems: Problems) -> SweepPlan | None:
    """A sweep's plan; None when its grid cannot make trials (the problems say why)."""
    if not isinstance(sweep, dict) or not isinstance(sweep.get("grid"), dict) or not sweep["grid"]:
        problems.add(key, "must be a mapping with grid: {TuningJob input: [values, ...]} "
                          f"and optionally keep: {' or '.join(KEEP_CHOICES)}")
        return None
    _check_keys({k: v for k, v in sweep.items() if k != "grid"}, key, SWEEP_KEYS, problems)
    keep = sweep.get("keep", "all")
    if keep not in KEEP_CHOICES:
        problems.add(f"{key}.keep", f"must be {' or '.join(KEEP_CHOICES)}, not {keep!r}")
        keep = "all"
    grid: dict[str, list[Any]] = {}
    for name, values in sweep["grid"].items():
        if name not in TuningJobSpec.model_fields or name in STACK_SET_JOB_FIELDS or not replaces_on_change(name):
            problems.add(f"{key}.grid.{name}", "is not a TuningJob setting sent to Vertex; sweep settings such "
                                               "as epoch_count, learning_rate_multiplier, adapter_size")
        elif not isinstance(values, list) or not values:
            problems.add(f"{key}.grid.{name}", f"must be a list of values, not {values!r}")
        else:
            grid[name] = values
    return SweepPlan(grid, keep) if len(grid) == len(sweep["grid"]) else None


def _chain(job: _Job, by_name: Mapping[str | None, _Job]) -> list[str | None]:
    """`job` and the jobs of this stack it tunes from, in turn, up to the first one that tunes
    from no job of this stack, or up to a job seen before (a circle)."""
    chain = [job.entry.name]
    while (source := job.entry.tune_from) is not None and source.stack is None and source.job in by_name:
        job = by_name[source.job]
        chain.append(job.entry.name)
        if job.entry.name in chain[:-1]:
            break
    return chain


def _root_model(job: _Job, by_name: Mapping[str | None, _Job]) -> str | None:
    """The base_model at the root of the job's chain; None when the chain leaves the stack,
    circles or names no job of it."""
    chain = _chain(job, by_name)
    root = by_name[chain[-1]]
    if chain[-1] in chain[:-1] or "tuneFrom" in root.own:
        return None
    base = root.entry.inputs.get("base_model")
    return base if isinstance(base, str) else None


def _check_tune_from(job: _Job, by_name: Mapping[str | None, _Job], facts: StackFacts, problems: Problems) -> None:
    """A source in this stack: it exists, it is not the job itself nor tunes back to it, and the
    limits of the Google model at the root of the chain hold for this job's settings."""
    source = job.entry.tune_from
    if source is None or source.stack is not None:
        return
    key = f"{job.prefix}.tuneFrom"
    chain = _chain(job, by_name)
    if source.job == job.entry.name:
        problems.add(key, "a job cannot tune from its own model: each up would replace it with one tuned from "
                          f"the last. Add a job with tuneFrom: {job.entry.name} to tune further")
    elif source.job not in by_name:
        others = [str(name) for name in by_name if name != job.entry.name]
        problems.add(key, closest(str(source.job), others, "a job of tuning:jobs"))
    elif chain[-1] == job.entry.name:
        problems.add(key, f"tunes in a circle ({' -> '.join(map(str, chain))}): each job's model would replace "
                          "the other's on every up; start one of them from a base_model")
    else:  # a circle further on is reported at its own jobs, and has no root model
        info = catalog.find_model(job.entry.root_model) if job.entry.root_model is not None else None
        if info is not None:
            for name, message in base_model_problems({**job.entry.inputs, "location": facts.region}, info.id):
                if name in job.origin:
                    problems.add(job.origin[name], f"the model it tunes from is a {info.id} model: {message}")


def _judge_runs(job: _Job, facts: StackFacts, problems: Problems, today: date | None) -> None:
    """The spec's problems with the job, or with each trial of its sweep: each once, at the key
    that holds its value."""
    has_validation = "validation" in job.entry.datasets
    if "sweep" in job.own and not has_validation:
        problems.add(f"{job.prefix}.sweep", "picks its best trial by eval loss, which needs validation data: "
                                            f"set {NAMESPACE}:validationData"
                     + ("" if job.entry.name is None else f" or {job.prefix}.validationData"))
    unknown = {"training_dataset_uri"}  # the uploaded data, named at the up
    unknown |= {"validation_dataset_uri"} if has_validation else set()
    unknown |= {"base_model"} if "tuneFrom" in job.own else set()
    unknown |= {"project"} if facts.project is None else set()
    stack = {"location": facts.region, **({"project": facts.project} if facts.project else {})}
    for trial in job.entry.sweep.trials() if job.entry.sweep is not None else [{}]:
        origin = {**job.origin, **{name: f"{job.prefix}.sweep.grid.{name}" for name in trial}}
        inputs = {name: value for name, value in {**job.entry.inputs, **trial}.items()
                  if name in TuningJobSpec.model_fields and name not in STACK_SET_JOB_FIELDS}
        for problem in spec_problems({**stack, **inputs}, frozenset(unknown), today=today, names=_STACK_NAMES):
            setting = _STACK_KEYS.get(problem.field)
            key = f"{NAMESPACE}:{setting}" if setting else origin.get(problem.field, f"{NAMESPACE}:job.{problem.field}")
            problems.add(key, problem.message, problem.value)


def _check_resource_names(jobs: list[_Job], problems: Problems) -> None:
    """Two jobs or trials with one resource name: a sweep's trial named like another job
    (`tone` with epoch_count 2 is `tone-e2`), or two grid values written alike (1 and 1.0)."""
    owners: dict[str, str] = {}
    for job in jobs:
        if "sweep" in job.own and job.entry.sweep is None:
            continue  # a grid that makes no trials: reported as such
        trials: list[dict[str, Any] | None] = [*job.entry.sweep.trials()] if job.entry.sweep is not None else [None]
        for trial in trials:
            resource = trial_name(job.entry.key, trial) if trial is not None else job.entry.key
            key = job.prefix + (".sweep.grid" if trial is not None else "")
            if resource in owners:
                problems.add(key, f"makes a second resource named {resource!r}, as {owners[resource]} does; "
                                  "rename a job or give the grid values that differ")
            else:
                owners[resource] = key
