"""What a change of a TuningJob's inputs does: which inputs changed, and whether the job is
replaced (a new, paid job) or the resource updated in place.

Whether a changed input replaces the job is the spec's marker on it (`replaces_on_change`);
`InputChanges.replacing` is the one place that reads it for a change, used by diff (what
`pulumi preview` shows) and by check (whether a job is about to run, so its data and cost are
judged). Values are compared normalised, so another spelling of a setting changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pulumi.output import Unknown
from pulumi.runtime.rpc import UNKNOWN

from tuning_provider.errors import SpecError
from tuning_provider.spec import TuningJobSpec, replaces_on_change

__all__ = ["InputChanges", "contains_unknown", "input_changes", "spec_of"]


@dataclass(frozen=True)
class InputChanges:
    """The inputs whose values changed, in the spec's field order."""

    changed: tuple[str, ...]

    @property
    def replacing(self) -> tuple[str, ...]:
        """The changed inputs that need a new job (each field's marker says)."""
        return tuple(field for field in self.changed if replaces_on_change(field))


def input_changes(old_inputs: Mapping[str, Any], new_inputs: Mapping[str, Any]) -> InputChanges:
    """Which inputs differ between the recorded `old_inputs` (valid: they made the job) and
    `new_inputs`, both normalised. In a preview a new value may be unknown (data still to be
    uploaded): an unknown value counts as changed. Raises SpecError if `old_inputs` are invalid."""
    old = spec_of(old_inputs)
    news = {k: v for k, v in new_inputs.items() if not k.startswith("__")}
    new = None if any(map(contains_unknown, news.values())) else spec_of(news)
    changed = []
    for field in TuningJobSpec.model_fields:
        if new is not None:
            differs = getattr(old, field) != getattr(new, field)
        else:  # partly unknown in a preview: an unknown value may differ
            value = news.get(field)
            differs = contains_unknown(value) or field in news and _differs(old, field, value)
        if differs:
            changed.append(field)
    return InputChanges(tuple(changed))


def spec_of(props: Mapping[str, Any]) -> TuningJobSpec:
    """The spec in a resource's inputs or outputs (the outputs hold the inputs too)."""
    return TuningJobSpec.model_validate({k: v for k, v in props.items() if k in TuningJobSpec.model_fields})


def contains_unknown(value: Any) -> bool:
    """Whether a value is, or holds, one a preview does not know yet."""
    # The engine hands check and diff an unknown as a pulumi `Unknown` object; the wire (and
    # the provider tests) as the UNKNOWN sentinel string.
    if isinstance(value, Unknown):
        return True
    if isinstance(value, str):
        return value == UNKNOWN
    if isinstance(value, Mapping):
        return any(contains_unknown(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(contains_unknown(v) for v in value)
    return False


def _differs(old: TuningJobSpec, field: str, value: Any) -> bool:
    """Whether a known new value differs from the old one once both are normalised."""
    try:
        new = TuningJobSpec.model_validate({**old.model_dump(), field: value})
    except SpecError:
        return True
    return bool(getattr(new, field) != getattr(old, field))
