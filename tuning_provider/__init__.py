"""Gemini supervised tuning on Vertex AI as Pulumi infrastructure.

    from tuning_provider import TuningJob, TuningJobArgs

Names are imported on first use, so that the command line (dataset validation, the
emulator) does not pay for importing Pulumi and google-genai.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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

_HOMES = {
    **dict.fromkeys(
        ["ApiError", "ConfigError", "DatasetError", "JobFailed", "NotFound", "PermissionDenied",
         "SpecError", "Transient", "TuningError", "WaitTimeout"],
        "tuning_provider.errors",
    ),
    "TuningJob": "tuning_provider.resource",
    "TuningJobArgs": "tuning_provider.resource",
    "TuningJobProvider": "tuning_provider.provider",
    "TuningJobOutputs": "tuning_provider.spec",
    "TuningJobSpec": "tuning_provider.spec",
}

if TYPE_CHECKING:
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


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'tuning_provider' has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOMES[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
