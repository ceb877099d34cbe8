"""The stack's configuration, typed: every `tuning:*` key of stacks/Pulumi.<stack>.yaml.

Job settings live under `tuning:job` with TuningJob's own input names (epoch_count,
adapter_size, ...) and are validated by the spec model itself, so no job field is listed here.
A stack of several jobs names them under `tuning:jobs` (`tuning:job` then holds the settings they
share), and a job may be a sweep over a grid of settings: see stacks/entries.py.
Everything wrong is reported at once, as one ConfigError listing each key with its bad value, the
fix (for a misspelt key, the closest valid one) and its line in the stack file.

Whether a stack is the local one is the connection's decision (tuning_provider.connection): an
apiEndpoint on this machine is the emulator; a remote one (a private or regional Vertex
endpoint) is a cloud stack whose jobs go there. The cloud stacks add a few settings of their
own: resource names
(bucketName, keyRingName, keyName; derived from namePrefix when absent) and the deployer, and
their settings are checked against the catalog (region, CMEK support of the base model).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from stacks.config_file import display_path, key_lines, read_stack_file, stack_file
from stacks.entries import (
    DATASET_KEYS,
    ENTRY_KEYS,
    JOB_NAME,
    KEEP_CHOICES,
    SWEEP_KEYS,
    JobEntry,
    SweepPlan,
    job_entries,
    root_base_model,
    trial_name,
    tune_from,
    tune_from_chain,
)
from tuning_provider import catalog
from tuning_provider.connection import connect
from tuning_provider.errors import ConfigError, ConfigProblem
from tuning_provider.names import ModelName
from tuning_provider.spec import TuningJobSpec, base_model_problems, replaces_on_change, spec_problems

__all__ = ["NAMESPACE", "STACK_SET_JOB_FIELDS", "StackConfig", "check_stack_file", "config_problems", "load_config"]

NAMESPACE = "tuning"
# Job inputs the stack program sets itself (from project, region and the uploaded datasets).
STACK_SET_JOB_FIELDS = frozenset(
    {"project", "location", "training_dataset_uri", "validation_dataset_uri", "kms_key_name",
     "service_account", "resource_key", "training_dataset_tokens"}
)
_PROJECT_ROOT = Path(__file__).resolve().parent.parent
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]$")
_KMS_NAME = re.compile(r"^[A-Za-z0-9_-]{1,63}$")
_MEMBER = re.compile(r"^(serviceAccount|user|group|principal|principalSet):\S+$")
# Job inputs the stack fills from its own settings: their problems are those settings' fault.
_STACK_KEYS = {"project": "project", "location": "region"}
# How a fix in the spec's problems names the inputs the stack sets from its own settings.
_STACK_NAMES = {**{field: f"{NAMESPACE}:{key}" for field, key in _STACK_KEYS.items()},
                "validation_dataset_uri": f"{NAMESPACE}:validationData"}
# A stack reference's name, fully qualified: the backend decides what a short one means.
_STACK_NAME = re.compile(r"^[^/\s]+/[^/\s]+/[^/\s]+$")


class StackConfig(BaseModel):
    """One environment: where it runs, which data it tunes on, and the job's settings."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    project: str = Field(alias="project")
    region: str = Field(default="us-central1", alias="region")
    api_endpoint: str | None = Field(default=None, alias="apiEndpoint")
    # Where check reads gs:// data from when not Google's storage host (connection.py).
    storage_endpoint: str | None = Field(default=None, alias="storageEndpoint")
    training_data: Path = Field(alias="trainingData")
    validation_data: Path | None = Field(default=None, alias="validationData")
    name_prefix: str = Field(default="gemini-tuning", alias="namePrefix", pattern=r"^[a-z][a-z0-9-]{2,20}$")
    # Whether the tuning job itself uses the stack's key (the key ring, the key and the bucket's
    # encryption with it are always there): where the base model can take one, always, or never.
    job_cmek: Literal["auto", "required", "off"] = Field(default="auto", alias="jobCmek")
    protect: bool = Field(default=False, alias="protect")
    key_rotation_days: int = Field(default=90, alias="keyRotationDays", ge=1, le=3650)
    # Where the local stack's emulator reads gs:// objects from (its --gcs-dir).
    local_gcs_dir: Path = Field(default=Path(".state/gcs"), alias="localGcsDir")
    job: dict[str, Any] = Field(default_factory=dict, alias="job")
    # Several named jobs; `job` then holds the settings they share (stacks/entries.py).
    jobs: dict[str, dict[str, Any]] = Field(default_factory=dict, alias="jobs")
    # Cloud stacks only: names of what they create (derived from namePrefix when absent), and
    # the principal that runs `pulumi up` (allowed to act as the job's service account).
    bucket_name: str | None = Field(default=None, alias="bucketName")
    key_ring_name: str | None = Field(default=None, alias="keyRingName")
    key_name: str | None = Field(default=None, alias="keyName")
    deployer: str | None = Field(default=None, alias="deployer")

    @property
    def emulated(self) -> bool:
        """Whether the stack runs against the emulator (and so creates no GCP resources), as
        the connection decides it: an apiEndpoint on this machine. A remote apiEndpoint (Private
        Service Connect, regional) is a cloud stack's."""
        return connect(self.project, self.region, self.api_endpoint, storage_endpoint=self.storage_endpoint).emulator

    @property
    def entries(self) -> list[JobEntry]:
        """The stack's jobs by name (one unnamed job when `tuning:jobs` is not set)."""
        datasets = {"training": self.training_data, "validation": self.validation_data}
        return job_entries(self.job, self.jobs or None, datasets, _PROJECT_ROOT)

    @property
    def bucket(self) -> str:
        """The dataset bucket's name: bucketName, or one made unique by the project id."""
        return self.bucket_name or f"{self.project}-{self.name_prefix}-datasets"

    @property
    def key_ring(self) -> str:
        return self.key_ring_name or f"{self.name_prefix}-ring"

    @property
    def key(self) -> str:
        return self.key_name or f"{self.name_prefix}-key"

    @property
    def service_account_id(self) -> str:
        return f"{self.name_prefix}-job"

    @field_validator("bucket_name")
    @classmethod
    def _bucket_name(cls, name: str | None) -> str | None:
        if name is not None and (not _BUCKET_NAME.match(name) or name.startswith("goog")):
            raise ValueError(
                f"{name!r} is not a bucket name: 3-63 lowercase letters, digits, '-' or '_', "
                "starting and ending with a letter or digit, not starting with 'goog'"
            )
        return name

    @field_validator("key_ring_name", "key_name")
    @classmethod
    def _kms_name(cls, name: str | None) -> str | None:
        if name is not None and not _KMS_NAME.match(name):
            raise ValueError(f"{name!r} is not a Cloud KMS name: 1-63 letters, digits, '-' or '_'")
        return name

    @field_validator("deployer")
    @classmethod
    def _member(cls, member: str | None) -> str | None:
        if member is not None and not _MEMBER.match(member):
            raise ValueError(
                f"{member!r} is not an IAM principal: write it as "
                "serviceAccount:EMAIL, user:EMAIL, group:EMAIL or principal://..."
            )
        return member

    @field_validator("training_data", "validation_data", "local_gcs_dir")
    @classmethod
    def _from_project_root(cls, path: Path | None) -> Path | None:
        return path if path is None or path.is_absolute() else _PROJECT_ROOT / path

    @field_validator("training_data", "validation_data")
    @classmethod
    def _exists(cls, path: Path | None) -> Path | None:
        if path is not None and not path.is_file():
            raise ValueError(f"{path} is not a file; give a path relative to the project folder")
        return path


# The `tuning:*` keys a stack file may hold: StackConfig's aliases.
_SETTINGS = frozenset(info.alias or name for name, info in StackConfig.model_fields.items())


def load_config(
    raw: dict[str, Any] | None = None, *, source: Path | None = None, today: date | None = None
) -> StackConfig:
    """The stack's config, from `raw` (keys without the namespace, read from the file `source`
    if given) or from the running stack. Raises ConfigError listing every problem at once, each
    with its key path, the bad value, the fix and, when the stack file is known, its line.
    Base models are judged retired on `today` (None: the real day)."""
    if raw is None:
        raw = _read_stack_config()
        source = _running_stack_file(raw)
    problems = config_problems(raw, today)
    if problems:
        lines = key_lines(source) if source is not None else {}
        located = [replace(p, line=_line_of(p.key, lines)) for p in problems]
        located.sort(key=lambda p: p.line or 0)  # in the file's order, as an editor shows them
        raise ConfigError(located, display_path(source) if source is not None else None)
    return StackConfig.model_validate(raw)


def check_stack_file(path: Path, namespace: str = NAMESPACE) -> StackConfig:
    """The config in a stack file, judged without the engine: for a check before `pulumi`
    runs, whose own YAML errors name neither the file nor the right line."""
    return load_config(read_stack_file(path, namespace), source=path)


def config_problems(raw: Mapping[str, Any], today: date | None = None) -> list[ConfigProblem]:
    """Every problem with the `tuning:*` settings `raw` (keys without the namespace)."""
    settings = {name: value for name, value in raw.items() if name in _SETTINGS}
    problems = [_RENAMED[name] if name in _RENAMED else
                _unknown(f"{NAMESPACE}:{name}", name, _SETTINGS, "a setting of this project")
                for name in raw if name not in _SETTINGS]
    job = settings.get("job", {})
    if not isinstance(job, dict):
        problems.append(ConfigProblem(f"{NAMESPACE}:job", f"must be a mapping of TuningJob inputs, not {job!r}"))
        job = {}
    jobs = settings.get("jobs", {})
    if not isinstance(jobs, dict):
        problems.append(ConfigProblem(f"{NAMESPACE}:jobs", f"must be a mapping of job names to settings, not {jobs!r}"))
        jobs = {}
    try:
        config = StackConfig.model_validate({**settings, "job": {}, "jobs": {}})
    except ValidationError as exc:
        config = None
        problems += [_from_pydantic(error) for error in exc.errors()]
    known = {p.key for p in problems}
    if jobs:
        problems += _jobs_problems(job, jobs, settings, known, today)
    else:
        problems += _job_problems(job, settings, known, today)
    if config is not None and not config.emulated:
        for merged in [job] if not jobs else [{**job, **own} for own in jobs.values() if isinstance(own, dict)]:
            problems += [p for p in _cloud_problems(config, merged) if p not in problems]
    return problems


def _jobs_problems(
    shared: dict[str, Any], jobs: dict[str, Any], settings: Mapping[str, Any], known_keys: set[str],
    today: date | None,
) -> list[ConfigProblem]:
    """tuning:jobs, each job judged by the spec with the shared settings (tuning:job) merged
    in; each problem is reported at the key its value came from, once."""
    problems = _name_problems(shared, f"{NAMESPACE}:job", allowed=frozenset())
    for name, own in jobs.items():
        prefix = f"{NAMESPACE}:jobs.{name}"
        if not JOB_NAME.match(str(name)):
            problems.append(ConfigProblem(prefix, f"{name!r} is not a job name: 1-31 lowercase letters, digits "
                                                  "and '-', starting with a letter (it names resources and outputs)"))
        if not isinstance(own, dict):
            problems.append(ConfigProblem(prefix, f"must be a mapping of TuningJob inputs, not {own!r}"))
            continue
        problems += _name_problems(own, prefix, allowed=ENTRY_KEYS)
        problems += _dataset_problems(own, prefix)
        origin = {field: f"{NAMESPACE}:job.{field}" for field in shared}
        origin.update({field: f"{prefix}.{field}" for field in own})
        merged = {**shared, **{k: v for k, v in own.items() if k not in ENTRY_KEYS}}
        if "tuneFrom" in own:
            tune_problems, merged = _tune_from_problems(name, jobs, shared, settings)
            problems += tune_problems
            origin["base_model"] = f"{prefix}.tuneFrom"
        problems += _sweep_runs_problems(own.get("sweep"), prefix, merged, origin, settings, known_keys, today)
    problems += _resource_name_problems(jobs)
    unique: list[ConfigProblem] = []
    for problem in problems:
        if problem not in unique:
            unique.append(problem)
    return unique


def _resource_name_problems(jobs: Mapping[str, Any], one_job: bool = False) -> list[ConfigProblem]:
    """Two jobs or trials with one resource name: a sweep's trial named like another job
    (`tone` with epoch_count 2 is `tone-e2`), or two grid values written alike (1 and 1.0).
    `one_job`: `jobs` is {"job": tuning:job} of a one-job stack."""
    owners: dict[str, str] = {}
    problems: list[ConfigProblem] = []
    for name, own in jobs.items():
        sweep = own.get("sweep") if isinstance(own, Mapping) else None
        plan: list[dict[str, Any] | None] = [*_sweep_problems(sweep, "")[1]] if sweep is not None else [None]
        for trial in plan:
            resource = trial_name(str(name), trial) if trial is not None else str(name)
            where = f"{NAMESPACE}:job" if one_job else f"{NAMESPACE}:jobs.{name}"
            key = where + (".sweep.grid" if trial is not None else "")
            if resource in owners:
                clash = owners[resource]
                problems.append(ConfigProblem(key, f"makes a second resource named {resource!r}, as "
                                                   f"{clash} does; rename a job or give the grid "
                                                   "values that differ"))
            else:
                owners[resource] = key
    return problems


def _tune_from_problems(
    name: str | None, jobs: Mapping[str, Any], shared: Mapping[str, Any], settings: Mapping[str, Any]
) -> tuple[list[ConfigProblem], dict[str, Any]]:
    """What is wrong with the `tuneFrom` of job `name` (None: a one-job stack's tuning:job), and
    the job's settings as the spec is to judge them: its base_model a tuned model in the stack's
    region. When the source is a job of this stack, the catalog's rules of the Google model at
    the root of the chain apply as well."""
    prefix = f"{NAMESPACE}:jobs.{name}" if name else f"{NAMESPACE}:job"
    own = jobs[name] if name else shared
    key = f"{prefix}.tuneFrom"
    source = tune_from(own["tuneFrom"])
    region = settings.get("region", StackConfig.model_fields["region"].default)
    merged = {**shared, **{k: v for k, v in own.items() if k not in ENTRY_KEYS},
              "base_model": str(ModelName(settings.get("project", "placeholder-project"), region, "0"))}
    if source is None or (name is None and source.stack is None):
        return [ConfigProblem(key, "must be {stack: ORG/PROJECT/STACK} with optionally job: NAME"
                                   + (", or name a job of tuning:jobs" if name else " (a one-job stack has no "
                                      "other job to tune from)") + f"; not {own['tuneFrom']!r}")], merged
    problems: list[ConfigProblem] = []
    if name and "base_model" in own:
        problems.append(ConfigProblem(f"{prefix}.base_model", "is the tuned model of tuneFrom; remove base_model "
                                                              "or tuneFrom"))
    if source.stack is not None:
        if not _STACK_NAME.match(source.stack):
            problems.append(ConfigProblem(f"{key}.stack", f"{source.stack!r} is not a fully qualified stack "
                                                          "name; write ORG/PROJECT/STACK (see `pulumi stack ls "
                                                          "--all`)"))
        return problems, merged
    assert name is not None
    chain = tune_from_chain(name, jobs)
    if source.job == name:
        problems.append(ConfigProblem(key, "a job cannot tune from its own model: each up would replace it "
                                           "with one tuned from the last. Add a job with tuneFrom: "
                                           f"{name} to tune further"))
    elif source.job not in jobs:
        problems.append(_unknown(key, str(source.job), [n for n in jobs if n != name], "a job of tuning:jobs"))
    elif chain[-1] == name:
        problems.append(ConfigProblem(key, f"tunes in a circle ({' -> '.join(chain)}): each job's model would "
                                           "replace the other's on every up; start one of them from a base_model"))
    else:  # a circle further on is reported at its own jobs, and has no root model
        root = root_base_model(name, shared, jobs)
        info = catalog.find_model(root) if root is not None else None
        if info is not None:
            problems += [ConfigProblem(f"{prefix}.{field}" if field in own else f"{NAMESPACE}:job.{field}",
                                       f"the model it tunes from is a {info.id} model: {message}")
                         for field, message in base_model_problems({**merged, "location": region}, info.id)
                         if field in own or field in shared]
    return problems, merged



def _name_problems(values: Mapping[str, Any], prefix: str, allowed: frozenset[str]) -> list[ConfigProblem]:
    """Keys that are neither TuningJob inputs the stack leaves to its user nor `allowed`."""
    problems: list[ConfigProblem] = []
    inputs = [name for name in TuningJobSpec.model_fields if name not in STACK_SET_JOB_FIELDS]
    for name in values:
        key = f"{prefix}.{name}"
        if name in allowed:
            continue
        if name in STACK_SET_JOB_FIELDS:
            problems.append(ConfigProblem(key, f"is set by the stack program; remove it from {prefix}"))
        elif name not in TuningJobSpec.model_fields:
            problems.append(_unknown(key, name, [*inputs, *sorted(allowed)], "a TuningJob input"))
    return problems


def _dataset_problems(own: Mapping[str, Any], prefix: str) -> list[ConfigProblem]:
    problems = []
    for key in DATASET_KEYS:
        if key in own:
            path = Path(str(own[key]))
            path = path if path.is_absolute() else _PROJECT_ROOT / path
            if not path.is_file():
                problems.append(ConfigProblem(
                    f"{prefix}.{key}", f"{path} is not a file; give a path relative to the project folder"))
    return problems


def _sweep_runs_problems(
    sweep: Any, prefix: str, merged: dict[str, Any], origin: dict[str, str],
    settings: Mapping[str, Any], known_keys: set[str], today: date | None,
) -> list[ConfigProblem]:
    """The spec's problems with a job, or with each trial of its sweep."""
    runs: list[dict[str, Any]] = [{}]
    problems: list[ConfigProblem] = []
    if sweep is not None:
        problems, runs = _sweep_problems(sweep, f"{prefix}.sweep")
        if not settings.get("validationData") and "validationData" not in origin:
            problems.append(ConfigProblem(f"{prefix}.sweep", "picks its best trial by eval loss, which needs "
                                                             "validation data: set tuning:validationData"
                                                             + ("" if prefix.endswith(":job") else
                                                                f" or {prefix}.validationData")))
    for trial in runs:
        where = {**origin, **{field: f"{prefix}.sweep.grid.{field}" for field in trial}}
        # Trials share most values: each problem once, at the key that holds it.
        problems += [p for p in _spec_problems_at({**merged, **trial}, where, settings, known_keys, today)
                     if p not in problems]
    return problems


def _sweep_problems(sweep: Any, key: str) -> tuple[list[ConfigProblem], list[dict[str, Any]]]:
    """A sweep's own shape, and its trials (none when the shape is wrong)."""
    if not isinstance(sweep, dict) or not isinstance(sweep.get("grid"), dict) or not sweep["grid"]:
        return [ConfigProblem(key, "must be a mapping with grid: {TuningJob input: [values, ...]} "
                                   f"and optionally keep: {' or '.join(KEEP_CHOICES)}")], []
    problems = _name_problems({k: v for k, v in sweep.items() if k != "grid"}, key, allowed=SWEEP_KEYS)
    if sweep.get("keep", "all") not in KEEP_CHOICES:
        problems.append(ConfigProblem(f"{key}.keep", f"must be {' or '.join(KEEP_CHOICES)}, not {sweep['keep']!r}"))
    grid: dict[str, list[Any]] = {}
    for field, values in sweep["grid"].items():
        if field not in TuningJobSpec.model_fields or field in STACK_SET_JOB_FIELDS or not replaces_on_change(field):
            problems.append(ConfigProblem(f"{key}.grid.{field}", "is not a TuningJob setting sent to Vertex; "
                                                                 "sweep settings such as epoch_count, "
                                                                 "learning_rate_multiplier, adapter_size"))
        elif not isinstance(values, list) or not values:
            problems.append(ConfigProblem(f"{key}.grid.{field}", f"must be a list of values, not {values!r}"))
        else:
            grid[field] = values
    if problems:
        return problems, []
    return [], SweepPlan(grid).trials()


def _spec_problems_at(
    inputs: dict[str, Any], origin: Mapping[str, str], settings: Mapping[str, Any], known_keys: set[str],
    today: date | None,
) -> list[ConfigProblem]:
    """The spec's problems with one job's inputs, each at the key its value came from."""
    trial = {
        "project": settings.get("project", "placeholder-project"),
        "location": settings.get("region", StackConfig.model_fields["region"].default),
        "training_dataset_uri": "gs://placeholder/x.jsonl",
        # The uploaded validation data, when the job has some (eval settings need it).
        **({"validation_dataset_uri": "gs://placeholder/v.jsonl"}
           if settings.get("validationData") or inputs.get("validationData") else {}),
        **{name: value for name, value in inputs.items()
           if name in TuningJobSpec.model_fields and name not in STACK_SET_JOB_FIELDS},
    }
    problems = []
    for problem in spec_problems(trial, today=today, names=_STACK_NAMES):
        setting = _STACK_KEYS.get(problem.field)
        key = f"{NAMESPACE}:{setting}" if setting else origin.get(problem.field, f"{NAMESPACE}:job.{problem.field}")
        if key not in known_keys:  # a stack setting pydantic already reported
            problems.append(ConfigProblem(key, _with_value(problem.message, problem.value)))
    return problems


def _job_problems(
    job: dict[str, Any], settings: Mapping[str, Any], known_keys: set[str], today: date | None
) -> list[ConfigProblem]:
    """tuning:job of a one-job stack judged by the spec itself, with the stack's own project and
    region in it (so a bad region is reported once, as tuning:region) and a placeholder for the
    uploaded data; a sweep's trials each judged the same way."""
    prefix = f"{NAMESPACE}:job"
    origin = {field: f"{prefix}.{field}" for field in job}
    merged = {k: v for k, v in job.items() if k not in ENTRY_KEYS}
    problems = _name_problems(job, prefix, allowed=frozenset({"sweep", "tuneFrom"}))
    if job.get("sweep") is not None:
        problems += _resource_name_problems({"job": job}, one_job=True)
    if "tuneFrom" in job:
        tune_problems, merged = _tune_from_problems(None, {}, job, settings)
        problems += tune_problems
        origin["base_model"] = f"{prefix}.tuneFrom"
    return problems + _sweep_runs_problems(job.get("sweep"), prefix, merged, origin, settings, known_keys, today)


def _cloud_problems(config: StackConfig, job: Mapping[str, Any]) -> list[ConfigProblem]:
    info = catalog.find_model(str(job.get("base_model", "")))
    if config.job_cmek == "required" and info is not None and not info.cmek:
        return [ConfigProblem(
            f"{NAMESPACE}:jobCmek",
            f"is required, but {info.id} cannot take a customer-managed key for its tuning job "
            "(tuning_provider/catalog.py); set tuning:jobCmek to auto (the job then runs without the "
            "key; the bucket stays encrypted with it) or tune a base_model that supports CMEK",
        )]
    return []


# Settings that were replaced, and what to write instead.
_RENAMED = {
    "cmek": ConfigProblem(
        f"{NAMESPACE}:cmek",
        "is no longer a setting: the key ring, the key and the bucket's encryption with it are always "
        "created; tuning:jobCmek (auto, required or off) says whether the tuning job itself uses the key. "
        "Remove tuning:cmek",
    ),
}


def _unknown(key: str, name: str, valid: Iterable[str], what: str) -> ConfigProblem:
    valid = sorted(valid)
    guess = difflib.get_close_matches(name, valid, n=1, cutoff=0.6)
    hint = f"did you mean {guess[0]}? " if guess else ""
    return ConfigProblem(key, f"{name!r} is not {what}; {hint}valid keys: {', '.join(valid)}")


def _from_pydantic(error: Any) -> ConfigProblem:
    name = str(error["loc"][0]) if error["loc"] else "?"
    key = f"{NAMESPACE}:{name}"
    if error["type"] == "missing":
        return ConfigProblem(key, f"is required; set it with `pulumi config set {key} VALUE`")
    message = str(error["msg"]).removeprefix("Value error, ")
    return ConfigProblem(key, _with_value(message, error.get("input")))


def _with_value(message: str, value: Any) -> str:
    # Every problem shows the bad value, unless its sentence already quotes it.
    return message if value is None or repr(value) in message else f"{message} (got {value!r})"


def _line_of(key: str, lines: Mapping[str, int]) -> int | None:
    # A key that is not in the file (a missing one) points at its parent, if that is there.
    while key:
        if key in lines:
            return lines[key]
        key = key.rpartition(".")[0]
    return None


def _running_stack_file(raw: Mapping[str, Any]) -> Path | None:
    """The stack file the running config came from, if it can be told: the engine's project
    folder, else (inline programs) this repository's. A file whose settings
    differ from the running ones (another folder's, or overridden) is not named."""
    import pulumi

    root = pulumi.runtime.get_root_directory()
    path = stack_file(pulumi.get_stack(), Path(root) if root else _PROJECT_ROOT)
    try:
        return path if path.is_file() and read_stack_file(path, NAMESPACE) == raw else None
    except (ConfigError, OSError):
        return None


def _read_stack_config() -> dict[str, Any]:
    # Every key of the namespace, so that a misspelt key is reported rather than ignored.
    from pulumi.runtime import config as runtime_config

    values = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    out: dict[str, Any] = {}
    for full_key, value in values.items():
        namespace, _, key = full_key.partition(":")
        if namespace != NAMESPACE:
            continue
        if key in ("job", "jobs") and isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                problem = ConfigProblem(f"{NAMESPACE}:{key}", "must be a mapping")
                raise ConfigError([problem]) from None
        out[key] = value
    return out
