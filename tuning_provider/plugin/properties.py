"""The plugin's property names and values: camelCase on the wire, the spec's field names inside.

Pulumi packages name properties in camelCase (`epochCount`), the spec in snake_case
(`epoch_count`); every name here is derived from the spec's models, in one place, and used both
by the server (each request's properties in, each answer's out) and by the schema generator
(tools/plugin_schema.py). A field's camelCase name is its own, unless its `PropertyName` marker
says otherwise (`name` -> `tuningJobName`). Nested output models (`checkpoints`, `metrics`) are
translated key by key through their own fields; free-form maps (`labels`, `evaluation_config`)
keep their keys as written.

A few inputs are not the plugin's: `FACE_SET` names them and says why.
"""

from __future__ import annotations

import re
import types
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel

from tuning_provider.spec import TuningJobOutputs, TuningJobSpec, property_name

__all__ = [
    "FACE_SET",
    "PACKAGE",
    "TOKEN",
    "Property",
    "field_of",
    "input_properties",
    "inputs_from_wire",
    "is_input",
    "name_of",
    "nested_models",
    "output_properties",
    "outputs_from_wire",
    "property_name",
    "to_wire",
    "worded",
]

# The package and the resource's type token (what programs and `pulumi import` name).
PACKAGE = "vertex-tuning"
TOKEN = f"{PACKAGE}:index:TuningJob"

# Inputs of the spec that are not properties of the plugin's TuningJob, and why.
FACE_SET = {
    # The face sets it: the dynamic TuningJob from its program, the plugin from the resource's URN.
    "resource_key": "derived from the resource's URN (project/stack/name), as the dynamic TuningJob sets it",
    # The dynamic face's way to adopt a job; the plugin's is `pulumi import`, which records the job.
    "existing_job_name": "the plugin adopts a job with `pulumi import`",
}


@dataclass(frozen=True)
class Property:
    """One property: its camelCase name, the spec field it is, and that field's annotation."""

    name: str
    field: str
    annotation: Any


def _properties(model: type[BaseModel], skip: Mapping[str, str] | None = None) -> tuple[Property, ...]:
    skip = skip or {}
    return tuple(Property(property_name(model, name), name, info.annotation)
                 for name, info in model.model_fields.items() if name not in skip)


@cache
def input_properties() -> tuple[Property, ...]:
    """The TuningJob's inputs, in the spec's order."""
    return _properties(TuningJobSpec, FACE_SET)


@cache
def output_properties() -> tuple[Property, ...]:
    """What the TuningJob reports besides its inputs (TuningJobOutputs), in the spec's order."""
    return _properties(TuningJobOutputs)


@cache
def _by_name() -> dict[str, Property]:
    found: dict[str, Property] = {}
    for prop in (*input_properties(), *output_properties()):
        if prop.name in found:
            raise ValueError(f"two fields are the property {prop.name!r}: {found[prop.name].field} and {prop.field}; "
                             "give one a PropertyName marker in tuning_provider/spec/")
        found[prop.name] = prop
    return found


@cache
def _by_field() -> dict[str, Property]:
    return {p.field: p for p in (*input_properties(), *output_properties())}


def field_of(name: str) -> str:
    """The spec field a property name stands for (a name that is none stays as it is)."""
    prop = _by_name().get(name)
    return prop.field if prop else name


def name_of(field: str) -> str:
    """The property name of a spec field (a name that is no field stays as it is)."""
    prop = _by_field().get(field)
    return prop.name if prop else field


def is_input(field: str) -> bool:
    """Whether a spec field is an input (TuningJobSpec), not only an output."""
    return field in TuningJobSpec.model_fields


def inputs_from_wire(props: Mapping[str, Any]) -> dict[str, Any]:
    """A request's inputs (or outputs: they hold the inputs) keyed by the spec's field names.
    A name that is no property stays as written, so that the spec reports it as unknown."""
    out = {}
    for name, value in props.items():
        prop = _by_name().get(name)
        out[prop.field if prop else name] = _value_from_wire(prop.annotation, value) if prop else value
    return out


outputs_from_wire = inputs_from_wire  # outputs hold the inputs: one translation reads both


def to_wire(values: Mapping[str, Any]) -> dict[str, Any]:
    """Inputs or outputs keyed by the spec's field names, as properties. Fields the plugin's
    TuningJob does not have as properties (FACE_SET) are left out."""
    return {
        prop.name: _value_to_wire(prop.annotation, value)
        for field, value in values.items()
        if field not in FACE_SET and (prop := _by_field().get(field)) is not None
    }


def worded(text: str) -> str:
    """A message of the core's, with every spec field it names written as the plugin's property
    (`epoch_count` -> `epochCount`), so that it reads in the words of the user's program."""
    return _field_words().sub(lambda m: name_of(m.group(0)), text)


@cache
def _field_words() -> re.Pattern[str]:
    # Only names that differ in camelCase (those with an underscore); longest first.
    fields = sorted((f for f in _by_field() if "_" in f), key=len, reverse=True)
    return re.compile(r"(?<![\w.])(" + "|".join(map(re.escape, fields)) + r")(?![\w])")


# --- values -----------------------------------------------------------------------------


def nested_models(annotation: Any) -> Iterator[type[BaseModel]]:
    """The pydantic models an annotation holds (in a list, an optional): what is translated key
    by key, and what the schema declares as object types."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        for info in annotation.model_fields.values():
            yield from nested_models(info.annotation)
    elif get_origin(annotation) in (list, Union, types.UnionType):
        for arm in get_args(annotation):
            yield from nested_models(arm)


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The model a value of this annotation is (directly, or as an optional), or None."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) in (Union, types.UnionType):
        arms = [arm for arm in get_args(annotation) if arm is not type(None)]
        return _model_of(arms[0]) if len(arms) == 1 else None
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _item_of(annotation: Any) -> Any:
    """The item annotation of a list (directly, or as an optional), or None."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) in (Union, types.UnionType):
        arms = [arm for arm in get_args(annotation) if arm is not type(None)]
        return _item_of(arms[0]) if len(arms) == 1 else None
    return get_args(annotation)[0] if get_origin(annotation) is list else None


def _value_to_wire(annotation: Any, value: Any) -> Any:
    model = _model_of(annotation)
    if model is not None and isinstance(value, Mapping):
        return {property_name(model, k): _value_to_wire(model.model_fields[k].annotation, v)
                for k, v in value.items() if k in model.model_fields}
    item = _item_of(annotation)
    if item is not None and isinstance(value, (list, tuple)):
        return [_value_to_wire(item, v) for v in value]
    return value


def _value_from_wire(annotation: Any, value: Any) -> Any:
    model = _model_of(annotation)
    if model is not None and isinstance(value, Mapping):
        fields = {property_name(model, name): name for name in model.model_fields}
        return {fields.get(k, k): _value_from_wire(model.model_fields[fields[k]].annotation, v) if k in fields else v
                for k, v in value.items()}
    item = _item_of(annotation)
    if item is not None and isinstance(value, (list, tuple)):
        return [_value_from_wire(item, v) for v in value]
    return value
