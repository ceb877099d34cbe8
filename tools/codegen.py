"""Writes the typed SDK and the reference tables from the spec, as Pulumi's codegen writes its
SDKs from a schema, so that neither can drift from `TuningJobSpec` and `TuningJobOutputs`.

    python -m tools.codegen           # rewrite both files (`make sdk`)
    python -m tools.codegen --check   # exit 1 naming each file that is not current

It writes
- tuning_provider/resource.py: `TuningJobArgs` (one typed, documented, keyword-only field per
  input), `TuningJob` (typed overloads taking the Args or the same keywords, one typed property
  per input and output) and a TypedDict per nested output model;
- docs/reference.md: the input table (type, what a change does, default, description) and the
  output tables.
Both are committed; tests/codegen checks that they are what the spec gives. Types come from
each field's annotation; an `Accepts` marker widens what an input takes (adapter_size takes 4),
and a `Serving` marker says an output is never None after a successful up.

A development tool, not part of the distribution: tools/ is left out of the wheel, and the
files it writes are those of the checkout it sits in, never an installed package's.
"""

from __future__ import annotations

import inspect
import json
import sys
import textwrap
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from tools.generated import ROOT, run
from tools.generated import stale_files as _stale_files
from tuning_provider.spec import Accepts, Serving, TuningJobOutputs, TuningJobSpec, replaces_on_change

__all__ = [
    "REFERENCE",
    "RESOURCE",
    "ROOT",
    "CodegenError",
    "generated_files",
    "main",
    "render_reference",
    "render_resource",
    "stale_files",
]

COMMAND = "make sdk (python -m tools.codegen)"
RESOURCE = Path("tuning_provider/resource.py")
REFERENCE = Path("docs/reference.md")
# Set by TuningJob itself (project/stack/name), so not an argument a user passes.
_SET_BY_RESOURCE = frozenset({"resource_key"})
_WIDTH = 100  # docstring lines, within ruff's 120


class CodegenError(Exception):
    """A spec field the generator cannot turn into SDK code or a table line; says the fix."""


# --- reading the spec --------------------------------------------------------------------------


@dataclass
class _Types:
    """Renders spec annotations as Python source, remembering what the module must import and
    which nested output models need a TypedDict."""

    imports: set[str] = field(default_factory=set)
    models: list[type[BaseModel]] = field(default_factory=list)

    def render(self, annotation: Any, *, as_input: bool) -> str:
        """The annotation as source; an input's containers take Inputs in their items."""
        annotation = _unannotated(annotation)
        origin = get_origin(annotation)
        if annotation is type(None):
            return "None"
        if annotation is Any:
            self.imports.add("Any")
            return "Any"
        if annotation in (str, int, float, bool):
            return str(annotation.__name__)
        if origin is Literal:
            self.imports.add("Literal")
            return f"Literal[{', '.join(_literal(value) for value in get_args(annotation))}]"
        if origin in (Union, types.UnionType):
            arms = sorted(get_args(annotation), key=lambda arm: arm is type(None))  # None last
            return " | ".join(self.render(arm, as_input=as_input) for arm in arms)
        if origin in (dict, Mapping):
            key, value = (self.render(arg, as_input=as_input) for arg in get_args(annotation))
            if not as_input:
                return f"dict[{key}, {value}]"
            self.imports.add("Mapping")
            return f"Mapping[{key}, {_input(value)}]"
        if origin in (list, Sequence):
            (item,) = (self.render(arg, as_input=as_input) for arg in get_args(annotation))
            if not as_input:
                return f"list[{item}]"
            self.imports.add("Sequence")
            return f"Sequence[{_input(item)}]"
        if inspect.isclass(annotation) and issubclass(annotation, BaseModel) and not as_input:
            if annotation not in self.models:
                self.models.append(annotation)
            return _typed_dict_name(annotation)
        raise CodegenError(
            f"tools/codegen.py cannot write the type {annotation!r} as "
            f"{'an input' if as_input else 'an output'}: teach _Types.render about it"
        )


def _literal(value: Any) -> str:
    return json.dumps(value) if isinstance(value, str) else repr(value)


def _input(source: str) -> str:
    return source if source == "Any" else f"pulumi.Input[{source}]"


def _unannotated(annotation: Any) -> Any:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _without_none(annotation: Any) -> Any:
    annotation = _unannotated(annotation)
    if get_origin(annotation) in (Union, types.UnionType):
        arms = tuple(arm for arm in get_args(annotation) if arm is not type(None))
        return arms[0] if len(arms) == 1 else Union[arms]  # noqa: UP007 (built from a tuple)
    return annotation


def _nullable(annotation: Any) -> bool:
    annotation = _unannotated(annotation)
    return get_origin(annotation) in (Union, types.UnionType) and type(None) in get_args(annotation)


def _typed_dict_name(model: type[BaseModel]) -> str:
    return f"{model.__name__}Dict"


def _marker(info: FieldInfo, kind: type) -> Any:
    return next((m for m in info.metadata if isinstance(m, kind)), None)


def _description(model: type[BaseModel], name: str, info: FieldInfo) -> str:
    if not info.description:
        raise CodegenError(
            f"{model.__name__}.{name} has no description: add Field(description=...) in "
            "tuning_provider/spec/ (it becomes the field's docstring and its line in docs/reference.md)"
        )
    return _words(info.description)


@dataclass(frozen=True)
class _Input:
    name: str
    accepts: str  # the type a user writes, without the outer pulumi.Input
    shown: str  # the same without None or any pulumi.Input, for the reference
    stored: str  # the normalised type the resource reports back
    required: bool
    default: str
    limits: str
    replaces: bool
    description: str

    def docstring(self) -> str:
        change = "A change replaces the job." if self.replaces else "A change updates in place."
        default = "Required." if self.required else f"Default: {self.default}."
        limits = f" Allowed: {self.limits}." if self.limits else ""
        return f"{self.description}{limits} {default} {change}"


@dataclass(frozen=True)
class _Output:
    name: str
    type: str
    description: str


@dataclass(frozen=True)
class _Key:
    """A key of a nested output model's dict."""

    name: str
    type: str
    optional: bool  # may be None, so may be absent
    description: str


def _inputs(types_: _Types) -> list[_Input]:
    inputs = []
    for name, info in TuningJobSpec.model_fields.items():
        if name in _SET_BY_RESOURCE:
            continue
        accepts = _marker(info, Accepts)
        annotation = accepts.type if accepts else info.annotation
        inputs.append(_Input(
            name=name,
            # None where the spec takes None ("unset"), so another resource's optional Output
            # fits; Pulumi sends no None, and the provider then applies the spec's default.
            accepts=types_.render(_without_none(annotation), as_input=True)
            + (" | None" if _nullable(info.annotation) else ""),
            shown=types_.render(_without_none(annotation), as_input=False),
            stored=types_.render(info.annotation, as_input=False),
            required=info.is_required(),
            default=_default(info),
            limits=_limits(info),
            replaces=replaces_on_change(name),
            description=_description(TuningJobSpec, name, info),
        ))
    return inputs


def _outputs(types_: _Types, model: type[BaseModel]) -> list[_Output]:
    outputs = []
    for name, info in model.model_fields.items():
        annotation = _without_none(info.annotation) if _marker(info, Serving) else info.annotation
        outputs.append(_Output(name, types_.render(annotation, as_input=False), _description(model, name, info)))
    return outputs


def _default(info: FieldInfo) -> str:
    default = info.get_default(call_default_factory=True, validated_data={})
    return "unset" if default is None else _literal(default)


def _limits(info: FieldInfo) -> str:
    limits = []
    for marker in info.metadata:
        if isinstance(marker, annotated_types.Ge):
            limits.append(f">= {marker.ge}")
        elif isinstance(marker, annotated_types.Gt):
            limits.append(f"> {marker.gt}")
        elif isinstance(marker, annotated_types.Le):
            limits.append(f"<= {marker.le}")
        elif isinstance(marker, annotated_types.Lt):
            limits.append(f"< {marker.lt}")
        elif isinstance(marker, annotated_types.MinLen):
            limits.append("not empty" if marker.min_length == 1 else f"at least {marker.min_length} characters")
        elif isinstance(marker, annotated_types.MaxLen):
            limits.append(f"at most {marker.max_length} characters")
    return ", ".join(limits)


def _nested_models(types_: _Types) -> list[tuple[type[BaseModel], list[_Key]]]:
    """Each nested model the rendered outputs named, with its keys; a model's keys may name
    further models, which join the list."""
    nested: list[tuple[type[BaseModel], list[_Key]]] = []
    while len(nested) < len(types_.models):
        model = types_.models[len(nested)]
        keys = [_Key(name, types_.render(info.annotation, as_input=False), _nullable(info.annotation),
                     _words(info.description or "")) for name, info in model.model_fields.items()]
        nested.append((model, keys))
    return nested


def _words(text: str) -> str:
    return " ".join(text.split())


def _check_names(inputs: Sequence[_Input], outputs: Sequence[_Output]) -> None:
    from pulumi.dynamic import Resource

    for name in [*(i.name for i in inputs), *(o.name for o in outputs), *_SET_BY_RESOURCE]:
        if hasattr(Resource, name):
            raise CodegenError(f"{name!r} would hide pulumi.dynamic.Resource.{name}: rename the spec field")
    both = {i.name for i in inputs} & {o.name for o in outputs}
    if both:
        raise CodegenError(f"{sorted(both)} are both an input and an output: rename one in tuning_provider/spec/")


# --- tuning_provider/resource.py ---------------------------------------------------------------


def _docstring(text: str, indent: str) -> str:
    """A docstring block: the text wrapped at _WIDTH, its quotes escaped."""
    text = _words(text).replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    width = _WIDTH - len(indent)
    lines = textwrap.wrap(text, width - 3, break_on_hyphens=False, break_long_words=False)
    if len(lines) == 1 and len(lines[0]) + 6 <= width:
        return f'{indent}"""{lines[0]}"""\n'
    rest = "".join(f"{indent}{line}\n" for line in lines[1:])
    return f'{indent}"""{lines[0]}\n{rest}{indent}"""\n'


_RESOURCE_HEAD = '''\
# Generated by {command} from tuning_provider/spec/: do not edit by hand.
# Change TuningJobSpec or TuningJobOutputs there and regenerate.
"""`TuningJob`: the Pulumi resource users declare, backed by `TuningJobProvider`.

`TuningJobArgs` has one typed field per `TuningJobSpec` input and `TuningJob` one typed property
per input and `TuningJobOutputs` output (`job.tuned_model_endpoint` is a `pulumi.Output[str]`),
all generated from the spec so that a type checker and an IDE know every field. The reference
tables of the same fields are in docs/reference.md.
"""

from __future__ import annotations

import dataclasses
{collections}from typing import {typing}

import pulumi
from pulumi.dynamic import Resource

from tuning_provider.preview_outputs import declared_output
from tuning_provider.provider import TuningJobProvider

__all__ = [
{all}]

# Every input and output name, written out by the generator so that a program importing this
# module does not import the spec (and pydantic): the provider validates, the program declares.
_INPUT_NAMES = (
{input_names})
_OUTPUT_NAMES = (
{output_names})
# An output every job in the state has (the first required one): known in a preview only where
# the engine answered with the state's outputs (tuning_provider.preview_outputs).
_ALWAYS_RECORDED = {always_recorded}
'''

_ARGS_HEAD = '''

@dataclasses.dataclass(frozen=True, kw_only=True)
class TuningJobArgs:
    """The inputs of a TuningJob. Each takes a plain value or another resource's Output; the
    provider validates them all at preview. Settings sent to Vertex replace the job when changed
    (jobs are immutable); waiting and polling settings update in place."""

'''

_RESOURCE_CLASS = '''

class TuningJob(Resource, module="vertex", name="TuningJob"):
    """A Vertex AI Gemini supervised tuning job, its tuned model and endpoint.

    Settings sent to Vertex replace the job when changed (jobs are immutable); waiting and
    polling settings update in place. Delete cancels a running job, or removes the tuned
    model and its endpoints of a finished one; use `retain_on_delete` to keep them.
    """

    @overload
    def __init__(
        self, resource_name: str, args: TuningJobArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        """A TuningJob with its inputs in a TuningJobArgs."""

    @overload
    def __init__(
        self,
        resource_name: str,
        args: None = None,
        opts: pulumi.ResourceOptions | None = None,
        *,
{keywords}    ) -> None:
        """A TuningJob with its inputs as keywords (those of TuningJobArgs).

{params}        """

    def __init__(
        self,
        resource_name: str,
        args: TuningJobArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
        **kwargs: Any,
    ) -> None:
        given = {{f.name: getattr(args, f.name) for f in dataclasses.fields(args)}} if args else {{}}
        given.update(kwargs)
        props: dict[str, Any] = {{k: v for k, v in given.items() if v is not None}}
        props.setdefault("tuned_model_display_name", resource_name)
        props["resource_key"] = f"{{pulumi.get_project()}}/{{pulumi.get_stack()}}/{{resource_name}}"
        # Outputs, and inputs not given, are declared as None: Pulumi sends no None value to the
        # provider, but makes every declared name an attribute, which the properties below read.
        props.update(dict.fromkeys(_OUTPUT_NAMES))
        for name in _INPUT_NAMES:
            props.setdefault(name, None)
        super().__init__(TuningJobProvider(), resource_name, props, opts)
'''

_PROPERTY = '''
    @property
    def {name}(self) -> pulumi.Output[{type}]:
{doc}        return _output(self, "{name}")
'''

_TAIL = '''

def _output(resource: Resource, name: str) -> pulumi.Output[Any]:
    return declared_output(resource, name, _ALWAYS_RECORDED)
'''


def render_resource(outputs_model: type[BaseModel] = TuningJobOutputs) -> str:
    """The source of tuning_provider/resource.py."""
    types_ = _Types(imports={"Any", "overload"})
    inputs = _inputs(types_)
    stored = [_Output(i.name, i.stored, i.description) for i in inputs]
    outputs = _outputs(types_, outputs_model)
    _check_names(inputs, outputs)
    typed_dicts = _typed_dicts(types_)  # after the outputs: they name the nested models

    args = "\n".join(
        f"    {i.name}: {_input(i.accepts)}{'' if i.required else ' | None = None'}\n"
        + _docstring(i.docstring(), "    ")
        for i in inputs
    )
    keywords = "".join(
        f"        {i.name}: {_input(i.accepts)}{'' if i.required else ' | None = None'},\n" for i in inputs
    )
    params = "".join(
        textwrap.indent(textwrap.fill(f":param {i.name}: {i.docstring()}", _WIDTH - 8, break_on_hyphens=False,
                                      subsequent_indent="    "), " " * 8) + "\n"
        for i in inputs
    )
    properties = "".join(
        _PROPERTY.format(name=o.name, type=o.type, doc=_docstring(o.description, "        "))
        for o in [*stored, *outputs]
    )
    names = sorted([*(_typed_dict_name(m) for m in types_.models), "TuningJob", "TuningJobArgs"])
    collections = sorted(types_.imports & {"Mapping", "Sequence"})
    head = _RESOURCE_HEAD.format(
        command=COMMAND,
        collections=f"from collections.abc import {', '.join(collections)}\n" if collections else "",
        typing=", ".join(sorted(types_.imports - {"Mapping", "Sequence"}, key=lambda n: (n[0].islower(), n))),
        all="".join(f"    {json.dumps(n)},\n" for n in names),
        input_names="".join(f"    {json.dumps(n)},\n" for n in TuningJobSpec.model_fields),
        output_names="".join(f"    {json.dumps(n)},\n" for n in outputs_model.model_fields),
        always_recorded=json.dumps(next(n for n, f in outputs_model.model_fields.items() if f.is_required())),
    )
    return head + typed_dicts + _ARGS_HEAD + args + _RESOURCE_CLASS.format(keywords=keywords, params=params) \
        + properties + _TAIL


def _typed_dicts(types_: _Types) -> str:
    """A TypedDict per nested output model (a dict at run time, as Pulumi delivers it). Keys
    whose value may be None may also be absent."""
    out = []
    for model, keys in _nested_models(types_):
        lines = [f"\n\nclass {_typed_dict_name(model)}(TypedDict):\n", _docstring(model.__doc__ or "", "    "), "\n"]
        for key in keys:
            if key.optional:
                types_.imports.add("NotRequired")
            lines.append(f"    {key.name}: {f'NotRequired[{key.type}]' if key.optional else key.type}\n")
            if key.description:
                lines.append(_docstring(key.description, "    "))
        out.append("".join(lines))
    if out:
        types_.imports.add("TypedDict")
    return "".join(out)


# --- docs/reference.md -------------------------------------------------------------------------


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_reference(outputs_model: type[BaseModel] = TuningJobOutputs) -> str:
    """The text of docs/reference.md."""
    types_ = _Types()
    inputs = _inputs(types_)
    outputs = _outputs(types_, outputs_model)
    nested = _nested_models(types_)

    lines = [
        f"<!-- Generated by {COMMAND} from tuning_provider/spec/: do not edit by hand. -->",
        "# TuningJob reference",
        "",
        "```python",
        "TuningJob(resource_name: str, args: TuningJobArgs, opts: pulumi.ResourceOptions | None = None)",
        "TuningJob(resource_name: str, opts: pulumi.ResourceOptions | None = None, *, project=..., ...)",
        "```",
        "",
        "The inputs are the fields of `TuningJobArgs`, or the same keywords. Each takes a plain value or",
        "another resource's `pulumi.Output`; the provider checks them all at preview. A change to one",
        "marked *replace* makes a new tuning job (jobs are immutable in Vertex: it is paid for again);",
        "one marked *in place* only steers the provider. Every input is also a property of the",
        "resource, holding its normalised value (`adapter_size` reads back as `ADAPTER_SIZE_FOUR`).",
        "",
        "## Inputs",
        "",
        "| input | type | a change | default | description |",
        "|---|---|---|---|---|",
    ]
    for i in inputs:
        kind = f"`{i.shown}`" + (f" ({i.limits})" if i.limits else "")
        default = "required" if i.required else f"`{i.default}`" if i.default != "unset" else "unset"
        change = "replace" if i.replaces else "in place"
        lines.append(f"| `{i.name}` | {_cell(kind)} | {change} | {_cell(default)} | {_cell(i.description)} |")
    lines += [
        "",
        "## Outputs",
        "",
        "Each is a `pulumi.Output` property of the resource (`job.tuned_model_endpoint` is a",
        "`pulumi.Output[str]`). Nested values are plain dicts, typed by the TypedDicts below",
        "(`from tuning_provider.resource import MetricsDict`). Pulumi carries every number as a",
        "float, so an `int` output reaches the program as, say, `2.0`: apply `int()` where it matters.",
        "",
        "| output | type | description |",
        "|---|---|---|",
        *(f"| `{o.name}` | {_cell(f'`{o.type}`')} | {_cell(o.description)} |" for o in outputs),
    ]
    for model, keys in nested:
        described = any(k.description for k in keys)  # a column only where the spec says something
        lines += [
            "",
            f"### {_typed_dict_name(model)}",
            "",
            _words(model.__doc__ or ""),
            "",
            "| key | type | description |" if described else "| key | type |",
            "|---|---|---|" if described else "|---|---|",
            *(f"| `{k.name}` | {_cell(f'`{k.type}`')} |" + (f" {_cell(k.description)} |" if described else "")
              for k in keys),
        ]
    return "\n".join(lines) + "\n"


# --- the command -------------------------------------------------------------------------------


def generated_files() -> dict[Path, str]:
    """Each generated file (relative to the repository) and the text the spec gives for it."""
    return {RESOURCE: render_resource(), REFERENCE: render_reference()}


def stale_files(root: Path = ROOT, generated: Mapping[Path, str] | None = None) -> list[Path]:
    """The generated files under `root` that differ from what the spec gives now (or from
    `generated`, when rendered already)."""
    return _stale_files(generated_files() if generated is None else generated, root)


def main(argv: Sequence[str] | None = None) -> int:
    return run(argv, prog="tools.codegen", description=__doc__.splitlines()[0],
               render=generated_files, error=CodegenError, command=COMMAND)


if __name__ == "__main__":
    sys.exit(main())
