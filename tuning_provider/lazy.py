"""Modules imported on first use, for the paths that must start fast.

google-genai takes about 0.4 s to import, and most runs of this package never call Vertex:
`pulumi preview` (the provider's check and diff), the CLI's `validate`. `lazy_module(name)`
stands for a module and imports it when one of its attributes is first read.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["lazy_module"]


class _LazyModule:
    """A stand-in for the module `name`, imported on the first attribute read."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        # Only reached for names not on the stand-in itself; sys.modules caches the import.
        return getattr(importlib.import_module(self._name), attribute)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"


def lazy_module(name: str) -> Any:
    return _LazyModule(name)
