"""Gemini supervised tuning on Vertex AI as Pulumi infrastructure.

    from tuning_provider import TuningJob, TuningJobArgs
"""

from tuning_provider.errors import (
    ApiError,
    ConfigError,
    DatasetError,
    JobFailed,
    NotFound,
    PermissionDenied,
    SpecError,
    Transient,
    TuningError,
    WaitTimeout,
)
from tuning_provider.provider import TuningJobProvider
from tuning_provider.resource import TuningJob, TuningJobArgs
from tuning_provider.spec import TuningJobOutputs, TuningJobSpec

__all__ = [
    "ApiError",
    "ConfigError",
    "DatasetError",
    "JobFailed",
    "NotFound",
    "PermissionDenied",
    "SpecError",
    "Transient",
    "TuningError",
    "TuningJob",
    "TuningJobArgs",
    "TuningJobOutputs",
    "TuningJobProvider",
    "TuningJobSpec",
    "WaitTimeout",
]
