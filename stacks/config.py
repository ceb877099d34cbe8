"""The stack's configuration, typed: every `tuning:*` key of stacks/Pulumi.<stack>.yaml.

Job settings live under `tuning:job` with TuningJob's own input names (epoch_count,
adapter_size, ...) and are validated by the spec model itself, so no job field is listed here.
Anything wrong raises ConfigError naming the key and the fix.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

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

    @property
    def emulated(self) -> bool:
        """A stack with an apiEndpoint runs against the emulator and creates no GCP resources."""
        return self.api_endpoint is not None

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
