"""AIP-160 list filters, the subset the emulator's list methods answer: clauses joined by AND,
each `FIELD OP VALUE` with OP one of `=`, `!=` and `:` (has), the value quoted or bare.

    matches = parse_filter('labels.team="ml" AND state=JOB_STATE_SUCCEEDED', JOB_FIELDS, ...)
    [job for job in jobs if matches(job)]

Each list method names the fields it takes (`Field`: where the field is in its resource's JSON,
which operators it allows, which values). `labels.KEY` is a label's value, and `labels.KEY:*`
asks that the label be set, wherever labels are allowed. A clause outside that subset is a 400
naming what the method understands, as Vertex refuses a filter it cannot parse.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tuning_provider.emulator.formats import snake_name
from tuning_provider.errors import InvalidRequest

__all__ = ["Field", "Predicate", "parse_filter"]

Predicate = Callable[[Mapping[str, Any]], bool]

_AND = re.compile(r"\s+AND\s+")
_CLAUSE = re.compile(
    r'(?P<field>[A-Za-z_][A-Za-z0-9_]*(?:\.[a-z][a-z0-9_-]*)?)\s*(?P<op>!=|=|:)\s*'
    r'(?:"(?P<quoted>[^"]*)"|(?P<bare>[^\s"]*))'
)
_LABEL = re.compile(r"labels\.(?P<key>[a-z][a-z0-9_-]*)")


@dataclass(frozen=True)
class Field:
    """A filterable field: its key in the resource's JSON, the operators it takes (`:` is
    membership in a list), and the values it takes (None: any)."""

    key: str
    ops: frozenset[str] = frozenset({"=", "!="})
    values: re.Pattern[str] | None = None


def parse_filter(text: str, fields: Mapping[str, Field], *, labels: bool, understands: str) -> Predicate:
    """A predicate on a resource's JSON for `text` (empty: every resource). `fields` by their
    snake_case name (camelCase is read as the same field); `understands` says, in the error,
    what the method takes."""
    clauses = [_clause(c.strip(), fields, labels, understands) for c in _AND.split(text.strip()) if text.strip()]
    return lambda resource: all(clause(resource) for clause in clauses)


def _clause(clause: str, fields: Mapping[str, Field], labels: bool, understands: str) -> Predicate:
    match = _CLAUSE.fullmatch(clause)
    name = snake_name(match["field"]) if match else ""
    value = (match["quoted"] if match["quoted"] is not None else match["bare"]) if match else ""
    op = match["op"] if match else ""
    label = _LABEL.fullmatch(name) if labels else None
    if label is not None:
        key = label["key"]
        if op == ":" and value == "*":
            return lambda resource: key in (resource.get("labels") or {})
        if op in ("=", "!="):
            return lambda resource: ((resource.get("labels") or {}).get(key) == value) == (op == "=")
    field = fields.get(name)
    if field is not None and op in field.ops and (field.values is None or field.values.fullmatch(value)):
        if op == ":":
            return lambda resource: value in (resource.get(field.key) or [])
        return lambda resource: (resource.get(field.key) == value) == (op == "=")
    raise InvalidRequest(f"Unsupported filter {clause!r}: the emulator understands {understands}, joined by AND.")
