"""The provider's folder on this machine, for what it learns once and reuses across runs.

Two things live there: the verdicts of dataset checks, by the object version they read
(tuning_provider/dataset_cache.py), and which check lines a running `pulumi` command has shown
already (tuning_provider/engine_log.py). Nothing in it is needed: deleting it only costs a
dataset read at the next preview. It holds no credential and no dataset content.

The folder is $PULUMI_VERTEX_TUNING_CACHE if set, else pulumi-vertex-tuning in the user's
cache folder ($XDG_CACHE_HOME, or ~/.cache).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["CACHE_ENV", "directory"]

CACHE_ENV = "PULUMI_VERTEX_TUNING_CACHE"


def directory(*parts: str) -> Path:
    """The cache folder (or the sub-folder `parts` of it), created if missing."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        base = Path(configured)
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pulumi-vertex-tuning"
    path = base.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
