"""The markers a field of the spec carries in its `Annotated` metadata, and their readers.

An input carries one of `Vertex`, `Identity`, `Steering` (what a change to it does); `Accepts`
widens what a user may write for it. An output may carry `Serving`; any field `PropertyName`.
Everything that needs to know which fields are which reads the markers through `marked`,
never a list of names.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel

__all__ = ["Accepts", "Identity", "PropertyName", "Serving", "Steering", "Vertex", "marked", "property_name"]

Marker = TypeVar("Marker")


@dataclass(frozen=True)
class Vertex:
    """Sent to Vertex at create under google-genai's name `sdk`; a change replaces the job."""

    sdk: str


@dataclass(frozen=True)
class Identity:
    """Names where or which job this is; a change replaces the job."""


@dataclass(frozen=True)
class Steering:
    """Steers the provider only; a change updates in place with no API call."""


@dataclass(frozen=True)
class Accepts:
    """What a user may write for an input when that is more than its normalised type (the typed
    SDK, tools/codegen.py, offers it): adapter_size takes 4 as well as "ADAPTER_SIZE_FOUR"."""

    type: Any


@dataclass(frozen=True)
class PropertyName:
    """The field's name where properties are camelCase (the provider plugin's schema, the YAML,
    TypeScript and Go programs that use it, and the stack outputs of stacks/), when its own
    name in camelCase would not say what it is: an output `name` is the tuning job's, so it is
    `tuningJobName` there."""

    name: str


@dataclass(frozen=True)
class Serving:
    """An output that names what serves: every successful create and update sets it (the serving
    invariant), so a program sees a value, never None (the typed SDK says so)."""


def marked(model: type[BaseModel], kind: type[Marker]) -> Iterator[tuple[str, Marker]]:
    """Each field of `model` that carries a `kind` marker, with that marker, in field order."""
    for name, info in model.model_fields.items():
        for marker in info.metadata:
            if isinstance(marker, kind):
                yield name, marker


def property_name(model: type[BaseModel], field: str) -> str:
    """The camelCase name of a field of `model`: its `PropertyName`, else its own in camelCase."""
    marker = next((m for m in model.model_fields[field].metadata if isinstance(m, PropertyName)), None)
    if marker is not None:
        return marker.name
    head, *rest = field.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)
