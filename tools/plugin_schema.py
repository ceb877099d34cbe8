"""Writes the provider plugin's package schema from the spec, as Pulumi providers generate theirs.

    python -m tools.plugin_schema           # rewrite tuning_provider/plugin/schema.json (`make sdk`)
    python -m tools.plugin_schema --check   # exit 1 when the committed schema is not current

The schema is what `pulumi-resource-vertex-tuning` answers GetSchema with (YAML programs are
type-checked against it; `pulumi import` writes code from it; each language's SDK is generated
from it). Everything in it comes from `TuningJobSpec` and `TuningJobOutputs` (the same source as
tuning_provider/resource.py and docs/reference.md), named as the plugin names them
(tuning_provider/plugin/properties.py): each input's type, description, limits, enum and
default, whether a change replaces the job (`willReplaceOnChanges`), the outputs and their
object types, and the provider's configuration (tuning_provider/plugin/config.py).
tests/plugin/test_schema.py fails when the committed file is not what the spec gives.
"""

from __future__ import annotations

import json
import tomllib
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from tools import generated
from tools.generated import ROOT
from tuning_provider.plugin import config, properties
from tuning_provider.spec import Accepts, Serving, TuningJobOutputs, TuningJobSpec, replaces_on_change

__all__ = ["SCHEMA", "main", "render", "schema"]

SCHEMA = Path("tuning_provider/plugin/schema.json")
COMMAND = "make sdk (python -m tools.plugin_schema)"
_TYPE_PREFIX = f"{properties.PACKAGE}:index:"
_ANY = {"$ref": "pulumi.json#/Any"}


class SchemaError(Exception):
    """A spec field the generator cannot describe in a Pulumi schema; says the fix."""


def _version() -> str:
    return str(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"])


def _unannotated(annotation: Any) -> Any:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _arms(annotation: Any) -> tuple[Any, bool]:
    """(the annotation without None, whether it allowed None)."""
    annotation = _unannotated(annotation)
    if get_origin(annotation) in (Union, types.UnionType):
        arms = tuple(a for a in get_args(annotation) if a is not type(None))
        optional = len(arms) < len(get_args(annotation))
        return (_unannotated(arms[0]) if len(arms) == 1 else Union[arms]), optional  # noqa: UP007 (built from a tuple)
    return annotation, False


class _Types:
    """Renders annotations as schema type specs, collecting the object and enum types they name."""

    def __init__(self) -> None:
        self.declared: dict[str, dict[str, Any]] = {}

    def spec(self, annotation: Any, enum_name: str) -> dict[str, Any]:
        annotation, _ = _arms(annotation)
        origin = get_origin(annotation)
        simple = {str: "string", int: "integer", float: "number", bool: "boolean"}
        if annotation in simple:
            return {"type": simple[annotation]}
        if annotation is Any:
            return dict(_ANY)
        if origin is Literal:
            return self._enum(enum_name, get_args(annotation))
        if origin in (Union, types.UnionType):
            return {"oneOf": [self.spec(arm, enum_name) for arm in get_args(annotation)]}
        if origin is dict:
            return {"type": "object", "additionalProperties": self.spec(get_args(annotation)[1], enum_name)}
        if origin is list:
            return {"type": "array", "items": self.spec(get_args(annotation)[0], enum_name)}
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            return self._object(annotation)
        raise SchemaError(f"tools/plugin_schema.py cannot describe the type {annotation!r} ({enum_name}): "
                          "teach _Types.spec about it")

    def _enum(self, name: str, values: tuple[Any, ...]) -> dict[str, Any]:
        token = _TYPE_PREFIX + name
        kinds = {type(v) for v in values}
        if kinds != {str}:
            raise SchemaError(f"{name}: only string enums are described; got {values!r}")
        # A name per value: what the generated SDKs call it (ServeCheckpoint.BestEvalLoss in TypeScript).
        self.declared[token] = {"type": "string", "enum": [{"name": _pascal(v), "value": v} for v in values]}
        return {"$ref": f"#/types/{token}"}

    def _object(self, model: type[BaseModel]) -> dict[str, Any]:
        token = _TYPE_PREFIX + model.__name__
        if token not in self.declared:
            self.declared[token] = {}  # declared before its fields, so a model may name itself
            props = {properties.property_name(model, name): self._field(model, name, info)
                     for name, info in model.model_fields.items()}
            self.declared[token] = {
                "type": "object",
                "description": _words(model.__doc__ or ""),
                "properties": props,
                "required": [properties.property_name(model, name) for name, info in model.model_fields.items()
                             if not _arms(info.annotation)[1]],
            }
        return {"$ref": f"#/types/{token}"}

    def _field(self, model: type[BaseModel], name: str, info: FieldInfo) -> dict[str, Any]:
        spec = self.spec(info.annotation, _pascal(name))
        if info.description:
            spec["description"] = _words(info.description)
        return spec


def _pascal(name: str) -> str:
    return "".join(word[:1].upper() + word[1:] for word in name.split("_"))


def _words(text: str) -> str:
    """A description as one line, naming fields as the plugin's properties (epochCount)."""
    return properties.worded(" ".join(text.split()))


def _limits(info: FieldInfo) -> str:
    found = []
    for marker in info.metadata:
        for kind, attribute, words in (("Ge", "ge", "at least"), ("Gt", "gt", "more than"),
                                       ("Le", "le", "at most"), ("Lt", "lt", "less than")):
            if isinstance(marker, getattr(annotated_types, kind)):
                found.append(f"{words} {getattr(marker, attribute)}")
        if isinstance(marker, annotated_types.MaxLen):
            found.append(f"at most {marker.max_length} characters")
    return f" Allowed: {', '.join(found)}." if found else ""


def _default(name: str, info: FieldInfo) -> Any:
    """The default a schema can state (a plain value), or None. The inputs a provider's
    configuration defaults state none: the configuration, then the spec, decide."""
    if name in config.DEFAULTED_INPUTS:
        return None
    default = info.get_default(call_default_factory=True)
    return default if isinstance(default, (str, int, float, bool)) else None


def _input(types_: _Types, name: str, info: FieldInfo) -> dict[str, Any]:
    accepts = next((m for m in info.metadata if isinstance(m, Accepts)), None)
    spec = types_.spec(accepts.type if accepts else info.annotation, _pascal(name))
    change = "A change replaces the job (a new, paid tuning job)." if replaces_on_change(name) \
        else "A change updates the resource in place, with no call to Vertex."
    if name in config.DEFAULTED_INPUTS:
        change += f" Unset: the provider's {properties.PACKAGE}:{properties.property_name(TuningJobSpec, name)}" + \
            (f", else {info.default}." if isinstance(info.default, str) else ".")
    spec["description"] = f"{_words(info.description or '')}{_limits(info)} {change}"
    default = _default(name, info)
    if default is not None:
        spec["default"] = default
    if replaces_on_change(name):
        spec["willReplaceOnChanges"] = True
    return spec


def _resource(types_: _Types) -> dict[str, Any]:
    inputs: dict[str, Any] = {}
    stored: dict[str, Any] = {}
    always: list[str] = []
    for prop in properties.input_properties():
        info = TuningJobSpec.model_fields[prop.field]
        if not info.description:
            raise SchemaError(f"TuningJobSpec.{prop.field} has no description: "
                              "add Field(description=...) in tuning_provider/spec/")
        inputs[prop.name] = _input(types_, prop.field, info)
        # As recorded (normalised): the field's own type, whatever the input accepts.
        kept = ("description", "willReplaceOnChanges")
        stored[prop.name] = {**types_.spec(info.annotation, _pascal(prop.field)),
                             **{k: v for k, v in inputs[prop.name].items() if k in kept}}
        if not _arms(info.annotation)[1]:
            always.append(prop.name)
    for prop in properties.output_properties():
        info = TuningJobOutputs.model_fields[prop.field]
        stored[prop.name] = types_._field(TuningJobOutputs, prop.field, info)
        if not _arms(info.annotation)[1] or any(isinstance(m, Serving) for m in info.metadata):
            always.append(prop.name)
    required_inputs = [p.name for p in properties.input_properties()
                       if TuningJobSpec.model_fields[p.field].is_required() and p.field not in config.DEFAULTED_INPUTS]
    return {
        "description": _RESOURCE_DESCRIPTION,
        "inputProperties": inputs,
        "requiredInputs": required_inputs,
        "properties": stored,
        "required": always,
    }


_RESOURCE_DESCRIPTION = (
    "A Vertex AI supervised tuning job of a Gemini model, and the tuned model it serves. A create returns only "
    "once the tuned model's endpoint answers (or fails, leaving the model served before in place); a job with "
    "this resource's settings that is already running or serving is adopted, never paid for twice. Settings sent "
    "to Vertex replace the job when changed (jobs are immutable); waiting and polling settings update in place. "
    "Delete cancels a running job, or removes the tuned model and its endpoints. Import an existing job with "
    f"`pulumi import {properties.TOKEN} NAME projects/PROJECT/locations/REGION/tuningJobs/ID`."
)


# What the TypeScript and Go SDKs generated from this schema (tools/sdkgen, into sdk/) are named.
# Neither is published: the npm package is installed from the checkout's sdk/nodejs, and the Go
# module path names no host (a program's go.mod replaces it with the checkout's sdk/go).
# supportPack: the SDKs carry the schema's version, and the Go SDK its own go.mod.
_SDK_NAMES = {
    "nodejs": {"packageName": "pulumi-vertex-tuning"},
    "go": {"importBasePath": "pulumi-vertex-tuning/sdk/go/vertextuning"},
}


def schema() -> dict[str, Any]:
    """The package schema, as a JSON document."""
    types_ = _Types()
    resource = _resource(types_)
    variables = {key: {"type": "string", "description": text} for key, text in config.variables().items()}
    return {
        "name": properties.PACKAGE,
        "displayName": "Vertex AI Gemini tuning",
        "version": _version(),
        "description": "Vertex AI Gemini supervised tuning jobs as a Pulumi resource (TuningJob), with the "
        "fingerprint adoption, quality gate and serving guarantee of the pulumi-vertex-tuning distribution.",
        "keywords": ["pulumi", "vertex-ai", "gemini", "fine-tuning", "category/cloud", "kind/native"],
        "license": "Apache-2.0",
        "config": {"variables": variables},
        "provider": {"description": "The vertex-tuning provider: where Vertex AI is, and the project and location "
                     "of TuningJobs that set none.", "inputProperties": variables, "properties": variables},
        "resources": {properties.TOKEN: resource},
        "types": dict(sorted(types_.declared.items())),
        "language": _SDK_NAMES,
        "meta": {"supportPack": True},
    }


def render() -> str:
    """The schema file's text."""
    return json.dumps(schema(), indent=2, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    return generated.run(argv, prog="tools.plugin_schema", description=__doc__.splitlines()[0],
                         render=lambda: {SCHEMA: render()}, error=SchemaError, command=COMMAND)


if __name__ == "__main__":
    raise SystemExit(main())
