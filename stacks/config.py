"""The stack's configuration, typed: every `tuning:*` key of stacks/Pulumi.<stack>.yaml.

Job settings live under `tuning:job` with TuningJob's own input names (epoch_count,
adapter_size, ...) and are validated by the spec model itself, so no job field is listed here.
Anything wrong raises ConfigError naming the key and the fix.

The cloud stacks (no apiEndpoint) add a few settings of their own: resource names
(bucketName, keyRingName, keyName; derived from namePrefix when absent) and the deployer, and
their settings are checked against the catalog (region, CMEK support of the base model).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tuning_provider import catalog
from tuning_provider.errors import ConfigError
from tuning_provider.spec import TuningJobSpec, spec_problems

__all__ = ["NAMESPACE", "STACK_SET_JOB_FIELDS", "StackConfig", "load_config"]

NAMESPACE = "tuning"
# Job inputs the stack program sets itself (from project, region and the uploaded datasets).
STACK_SET_JOB_FIELDS = frozenset(
    {"project", "location", "training_dataset_uri", "validation_dataset_uri", "kms_key_name",
     "service_account", "resource_key"}
)
_PROJECT_ROOT = Path(__file__).resolve().parent.parent
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]$")
_KMS_NAME = re.compile(r"^[A-Za-z0-9_-]{1,63}$")
_MEMBER = re.compile(r"^(serviceAccount|user|group|principal|principalSet):\S+$")
# Job inputs whose problems are a cloud setting's fault rather than tuning:job's.
_JOB_FIELD_KEYS = {"project": "project", "location": "region"}


class StackConfig(BaseModel):
    """One environment: where it runs, which data it tunes on, and the job's settings."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    project: str = Field(alias="project")
    region: str = Field(default="us-central1", alias="region")
    api_endpoint: str | None = Field(default=None, alias="apiEndpoint")
    training_data: Path = Field(alias="trainingData")
    validation_data: Path | None = Field(default=None, alias="validationData")
    name_prefix: str = Field(default="gemini-tuning", alias="namePrefix", pattern=r"^[a-z][a-z0-9-]{2,20}$")
    cmek: bool = Field(default=True, alias="cmek")
    protect: bool = Field(default=False, alias="protect")
    key_rotation_days: int = Field(default=90, alias="keyRotationDays", ge=1, le=3650)
    # Where the local stack's emulator reads gs:// objects from (its --gcs-dir).
    local_gcs_dir: Path = Field(default=Path(".state/gcs"), alias="localGcsDir")
    job: dict[str, Any] = Field(default_factory=dict, alias="job")
    # Cloud stacks only: names of what they create (derived from namePrefix when absent), and
    # the principal that runs `pulumi up` (allowed to act as the job's service account).
    bucket_name: str | None = Field(default=None, alias="bucketName")
    key_ring_name: str | None = Field(default=None, alias="keyRingName")
    key_name: str | None = Field(default=None, alias="keyName")
    deployer: str | None = Field(default=None, alias="deployer")

    @property
    def emulated(self) -> bool:
        """A stack with an apiEndpoint runs against the emulator and creates no GCP resources."""
        return self.api_endpoint is not None

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

    @field_validator("job")
    @classmethod
    def _job_settings(cls, job: dict[str, Any]) -> dict[str, Any]:
        for name in job:
            if name in STACK_SET_JOB_FIELDS:
                raise ValueError(f"{name} is set by the stack program; remove it from tuning:job")
            if name not in TuningJobSpec.model_fields:
                raise ValueError(
                    f"{name!r} is not a TuningJob input; use one of "
                    + ", ".join(f for f in TuningJobSpec.model_fields if f not in STACK_SET_JOB_FIELDS)
                )
        # Judge the settings with placeholders for what the stack fills in.
        trial = {"project": "placeholder-project", "training_dataset_uri": "gs://placeholder/x.jsonl", **job}
        for problem in spec_problems(trial):
            raise ValueError(f"{problem.field}: {problem.message}")
        return job

    @model_validator(mode="after")
    def _cloud_settings(self) -> StackConfig:
        # Raised as ConfigError directly: a model-level error has no key of its own to report.
        if self.emulated:
            return self
        info = catalog.find_model(str(self.job.get("base_model", "")))
        if self.cmek and info is not None and not info.cmek:
            raise ConfigError(
                f"{NAMESPACE}:cmek",
                f"{info.id} does not support customer-managed keys; set tuning:cmek to false "
                "or tune another base_model",
            )
        trial = {"project": self.project, "location": self.region,
                 "training_dataset_uri": "gs://placeholder/x.jsonl", **self.job}
        for problem in spec_problems(trial):
            key = _JOB_FIELD_KEYS.get(problem.field, "job")
            message = problem.message if key != "job" else f"{problem.field}: {problem.message}"
            raise ConfigError(f"{NAMESPACE}:{key}", f"{message} (set it in stacks/Pulumi.<stack>.yaml)")
        return self


def load_config(raw: dict[str, Any] | None = None) -> StackConfig:
    """The stack's config, from `raw` (keys without the namespace) or the running stack."""
    if raw is None:
        raw = _read_stack_config()
    try:
        return StackConfig.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(p) for p in error["loc"]) or "?"
        message = "is required" if error["type"] == "missing" else str(error["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{NAMESPACE}:{key}", f"{message} (set it in stacks/Pulumi.<stack>.yaml)") from None


def _read_stack_config() -> dict[str, Any]:
    # Every key of the namespace, so that a misspelt key is reported rather than ignored.
    from pulumi.runtime import config as runtime_config

    values = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    out: dict[str, Any] = {}
    for full_key, value in values.items():
        namespace, _, key = full_key.partition(":")
        if namespace != NAMESPACE:
            continue
        if key == "job" and isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                raise ConfigError(f"{NAMESPACE}:job", "must be a mapping of TuningJob inputs") from None
        out[key] = value
    return out
