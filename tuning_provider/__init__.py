"""Gemini supervised tuning on Vertex AI as Pulumi infrastructure.

    from tuning_provider import TuningJob, TuningJobArgs

Names are imported on first use, so that the command line (dataset validation, the
emulator) does not pay for importing Pulumi and google-genai.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from tuning_provider import errors as _errors

# Where each public name lives: every error of the hierarchy, and the resource's pieces.
_HOMES = {
    **dict.fromkeys(_errors.__all__, "tuning_provider.errors"),
    "TuningJob": "tuning_provider.resource",
    "TuningJobArgs": "tuning_provider.resource",
    "TuningJobProvider": "tuning_provider.provider",
    "TuningJobOutputs": "tuning_provider.spec",
    "TuningJobSpec": "tuning_provider.spec",
}
__all__ = sorted(_HOMES)

if TYPE_CHECKING:  # what type checkers see; at run time names load on first use
    from tuning_provider.errors import *  # noqa: F403
    from tuning_provider.provider import TuningJobProvider as TuningJobProvider
    from tuning_provider.resource import TuningJob as TuningJob
    from tuning_provider.resource import TuningJobArgs as TuningJobArgs
    from tuning_provider.spec import TuningJobOutputs as TuningJobOutputs
    from tuning_provider.spec import TuningJobSpec as TuningJobSpec


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'tuning_provider' has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOMES[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
