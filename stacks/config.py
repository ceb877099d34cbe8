"""The stack's configuration, typed: every `tuning:*` key of stacks/Pulumi.<stack>.yaml.

Parsed once (`parse_config`): the stack's own settings by the `StackConfig` model below, its
jobs (`tuning:job`, `tuning:jobs`, sweeps, tuneFrom) into JobEntry values by
stacks/job_settings.py, whose TuningJob settings the spec itself judges, so no job field is
listed here. Every problem is collected as it is found, each with its key path, the bad value,
the fix (for a misspelt key, the closest valid one) and its line in the stack file, and all are
reported at once, as one ConfigError.

Whether a stack is the local one is the connection's decision (tuning_provider.connection): an
apiEndpoint on this machine is the emulator; a remote one (a private or regional Vertex
endpoint) is a cloud stack whose jobs go there. The cloud stacks add a few settings of their
own: resource names
(bucketName, keyRingName, keyName; derived from namePrefix when absent) and the deployer, and
their settings are checked against the catalog (region, CMEK support of the base model).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SkipValidation, ValidationError, field_validator

from stacks.config_file import Problems, closest, read_stack_file, stack_file
from stacks.entries import JobEntry
from stacks.job_settings import NAMESPACE, STACK_SET_JOB_FIELDS, StackFacts, parse_jobs, project_path
from tuning_provider import catalog
from tuning_provider.connection import connect
from tuning_provider.errors import ConfigError, ConfigProblem

__all__ = ["NAMESPACE", "STACK_SET_JOB_FIELDS", "StackConfig", "check_stack_file", "load_config", "parse_config"]

_PROJECT_ROOT = Path(__file__).resolve().parent.parent
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]$")
_KMS_NAME = re.compile(r"^[A-Za-z0-9_-]{1,63}$")
_MEMBER = re.compile(r"^(serviceAccount|user|group|principal|principalSet):\S+$")
# The settings that hold the jobs: parsed by stacks/job_settings.py.
_JOB_SETTINGS = ("job", "jobs")


class StackConfig(BaseModel):
    """One environment: where it runs, which data it tunes on, and the job's settings."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    project: str = Field(alias="project")
    region: str = Field(default=catalog.DEFAULT_REGION, alias="region")
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
    # tuning:job and tuning:jobs, parsed (stacks/job_settings.py): the stack's jobs, each
    # after the job it tunes from.
    entries: SkipValidation[tuple[JobEntry, ...]] = Field(default=(), exclude=True)
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
    def named_jobs(self) -> bool:
        """Whether the jobs are named (`tuning:jobs`), rather than the one job of `tuning:job`."""
        return any(entry.name is not None for entry in self.entries)

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
        return path if path is None else project_path(path, _PROJECT_ROOT)

    @field_validator("training_data", "validation_data")
    @classmethod
    def _exists(cls, path: Path | None) -> Path | None:
        if path is not None and not path.is_file():
            raise ValueError(f"{path} is not a file; give a path relative to the project folder")
        return path


# The `tuning:*` keys a stack file may hold: StackConfig's aliases, and the jobs'.
_SETTINGS = frozenset(info.alias or name for name, info in StackConfig.model_fields.items()
                      if name != "entries") | set(_JOB_SETTINGS)


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
    problems = Problems(source)
    config = parse_config(raw, problems, today)
    if config is None:
        raise problems.error()
    return config


def check_stack_file(path: Path, namespace: str = NAMESPACE) -> StackConfig:
    """The config in a stack file, judged without the engine: for a check before `pulumi`
    runs, whose own YAML errors name neither the file nor the right line."""
    return load_config(read_stack_file(path, namespace), source=path)


def parse_config(raw: Mapping[str, Any], problems: Problems, today: date | None = None) -> StackConfig | None:
    """The `tuning:*` settings `raw` (keys without the namespace), parsed once; None, with every
    problem in `problems`, when anything is wrong."""
    for name in raw:
        if name not in _SETTINGS:
            renamed = _RENAMED.get(name)
            problems.add(*(renamed or (f"{NAMESPACE}:{name}", closest(name, _SETTINGS, "a setting of this project"))))
    try:
        config: StackConfig | None = StackConfig.model_validate(
            {name: value for name, value in raw.items() if name in _SETTINGS and name not in _JOB_SETTINGS})
    except ValidationError as exc:
        config = None
        for error in exc.errors():
            _add_pydantic(error, problems)
    entries = parse_jobs(raw.get("job", {}), raw.get("jobs", {}), _facts(raw), problems, today)
    if config is not None and not config.emulated:
        _check_job_cmek(config, entries, problems)
    if config is None or problems:
        return None
    return config.model_copy(update={"entries": tuple(entries)})


def _facts(raw: Mapping[str, Any]) -> StackFacts:
    """What the jobs' checks need of the stack's settings, as written (each is judged on its own)."""
    project = raw.get("project")
    return StackFacts(
        project=str(project) if project else None,
        region=str(raw.get("region", StackConfig.model_fields["region"].default)),
        datasets={kind: project_path(raw[key], _PROJECT_ROOT)
                  for key, kind in (("trainingData", "training"), ("validationData", "validation")) if raw.get(key)},
        root=_PROJECT_ROOT,
    )


def _check_job_cmek(config: StackConfig, entries: list[JobEntry], problems: Problems) -> None:
    """`jobCmek: required` with a job whose base model cannot take a key for its tuning job."""
    for entry in entries:
        info = catalog.find_model(entry.root_model or "")
        if config.job_cmek == "required" and info is not None and not info.cmek:
            problems.add(
                f"{NAMESPACE}:jobCmek",
                f"is required, but {info.id} cannot take a customer-managed key for its tuning job "
                "(tuning_provider/catalog.py); set tuning:jobCmek to auto (the job then runs without the "
                "key; the bucket stays encrypted with it) or tune a base_model that supports CMEK",
            )


# Settings that were replaced, and what to write instead.
_RENAMED = {
    "cmek": (
        f"{NAMESPACE}:cmek",
        "is no longer a setting: the key ring, the key and the bucket's encryption with it are always "
        "created; tuning:jobCmek (auto, required or off) says whether the tuning job itself uses the key. "
        "Remove tuning:cmek",
    ),
}


def _add_pydantic(error: Any, problems: Problems) -> None:
    name = str(error["loc"][0]) if error["loc"] else "?"
    key = f"{NAMESPACE}:{name}"
    if error["type"] == "missing":
        problems.add(key, f"is required; set it with `pulumi config set {key} VALUE`")
    else:
        problems.add(key, str(error["msg"]).removeprefix("Value error, "), error.get("input"))


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
