"""`spec_problems`: every problem with a job's raw inputs, when some may not be known yet.

Check judges the inputs of a preview, where a value computed from another resource is still
unknown; the stack config judges each job's settings before the stack is run. Both want every
problem at once, one per field at fault, each naming the fix: the spec's own validation on what
is known, the rules between fields on each known value alone, and a retired base model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Annotated, Any, cast

from pydantic import ValidationError

from tuning_provider import catalog
from tuning_provider.errors import SpecError, SpecProblem
from tuning_provider.spec.inputs import CROSS_FIELD_RULES, TuningJobSpec
from tuning_provider.spec.rules import cross_field_problems

__all__ = ["spec_problems"]


def spec_problems(
    raw: Mapping[str, Any], unknown: frozenset[str] = frozenset(), *, today: date | None = None,
    names: Mapping[str, str] | None = None,
) -> list[SpecProblem]:
    """Every problem with raw inputs, at most one per field at fault.

    Fields in `unknown` (values a preview does not know yet) are not judged, and neither are
    the cross-field rules that need them. A base model is judged retired or not on `today`
    (None: the real today). `names`: how the caller's user names inputs in a fix (see
    cross_field_problems)."""
    known = {k: v for k, v in raw.items() if k not in unknown}
    problems: list[SpecProblem] = []
    try:
        spec = TuningJobSpec.model_validate(known, context={"today": today, CROSS_FIELD_RULES: False})
    except SpecError as exc:
        problems = [p for p in exc.problems if p.field not in unknown]
    else:
        if next(cross_field_problems(spec.model_dump()), None) is None:
            return _retirement_problems(known, today)
    # The rules between fields on each valid known value alone (no defaults for unknown ones).
    seen = {p.field for p in problems}
    problems += [SpecProblem((f,), known.get(f), m)
                 for f, m in cross_field_problems(_normalised_known(known), unknown, names) if f not in seen]
    return problems + [p for p in _retirement_problems(known, today) if p.field not in seen]


def _retirement_problems(known: Mapping[str, Any], today: date | None) -> list[SpecProblem]:
    """A retired base model, refused at preview rather than as a 404 from Vertex at create."""
    base_model = known.get("base_model")
    retired = catalog.retirement_error(base_model, today) if isinstance(base_model, str) else None
    return [SpecProblem(("base_model",), base_model, retired)] if retired else []


def _normalised_known(known: Mapping[str, Any]) -> dict[str, Any]:
    """Each known field validated on its own, for the cross rules; invalid ones left out."""
    out: dict[str, Any] = {}
    for name, value in known.items():
        if name not in TuningJobSpec.model_fields:
            continue
        try:
            out[name] = _field_adapter(name)(value)
        except ValidationError:
            continue
    return out


def _field_adapter(name: str) -> Callable[[Any], Any]:
    from pydantic import TypeAdapter

    info = TuningJobSpec.model_fields[name]
    # The field's type with its validators and constraints, built at run time.
    annotated: Any = cast(Any, Annotated)[(info.annotation, *info.metadata)]
    adapter: TypeAdapter[Any] = TypeAdapter(annotated)
    return adapter.validate_python
