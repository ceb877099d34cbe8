"""The emulator's one JSON reading layer and one writing layer, following the proto3 JSON
mapping the way Vertex's REST front end applies it.

Reading (`read`): a request body is checked against a small declaration of the proto
messages it may hold (`Message`, below) and returned in canonical proto3 JSON, whatever
spelling the client used:
- field names in lowerCamelCase or the proto's snake_case (`generation_config`);
- numbers as JSON numbers or strings (`"epochCount": "3"`, `"learningRateMultiplier": "1.0"`);
  int64 fields come back as strings, as proto3 JSON writes them; 32-bit ints and floats as
  numbers;
- enums by name or by number (`"adapterSize": 2` is `"ADAPTER_SIZE_FOUR"`): the GAPIC REST
  transport sends numbers;
- a single object where a list is expected, for the repeated fields Vertex accepts that way
  (`Field.single_ok`: the seed's generateContent body sends `"parts": {"text": ...}`);
- map keys and opaque values (Struct, schemas, function arguments) kept exactly as sent;
- an unknown name is 400 with Vertex's wording.

Writing (`for_version`): responses are built in v1 spelling, as canonical proto3 JSON
(int64 as strings, enums by name, default values left out); the writer moves the `@type`
URLs of Vertex messages (operation metadata, responses) to the API version the client asked
for, so a v1beta1 client can unpack them, and writes enums as numbers for a client that asks
`$alt=json;enum-encoding=int` (the GAPIC REST transport always does). The tests parse every response with
google-cloud-aiplatform's generated types of that version (`from_json(...,
ignore_unknown_fields=False)`). `REST_ONLY_FIELDS` lists the fields Vertex's REST surface
has (its discovery document; google-genai reads them) that the published protos lack.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from tuning_provider.emulator.formats import camel_name, snake_name
from tuning_provider.errors import InvalidRequest

__all__ = [
    "REST_ONLY_FIELDS",
    "Field",
    "Message",
    "for_version",
    "read",
]

Kind = Literal["string", "bool", "int32", "int64", "double", "enum", "message", "map", "any", "bytes", "timestamp"]

_VERTEX_TYPE = re.compile(r"(type\.googleapis\.com/google\.cloud\.aiplatform\.)v1(?:beta1)?\.")
_INTEGER = re.compile(r"-?\d+")
_INT32_RANGE = (-(2**31), 2**31 - 1)
_INT64_RANGE = (-(2**63), 2**63 - 1)
# Fields of Vertex's REST TuningJob that google-cloud-aiplatform's protos (2.7.0) do not have.
REST_ONLY_FIELDS: Mapping[str, tuple[str, ...]] = {"TuningJob": ("tuningJobState", "tuningJobMetadata")}


@dataclass(frozen=True)
class Field:
    """One field of a proto message as JSON sees it."""

    kind: Kind
    repeated: bool = False
    # Vertex also accepts one object where this repeated field expects a list.
    single_ok: bool = False
    # enum: name -> number; message: a callable returning the Message (allows recursion).
    enum: Mapping[str, int] | None = None
    enum_type: str = ""  # the enum's full proto name, for Vertex's error message
    message: Callable[[], Message] | None = None


@dataclass(frozen=True)
class Message:
    """A proto message: its full name (for errors) and its fields by lowerCamelCase name."""

    name: str
    fields: Mapping[str, Field] = field(default_factory=dict)


def read(value: Any, message: Message, where: str) -> dict[str, Any]:
    """`value` (parsed JSON) as canonical proto3 JSON of `message`; InvalidRequest if it is
    not one. `where` names the message in errors, snake_case as Vertex writes it."""
    if not isinstance(value, dict):
        raise InvalidRequest(
            f"Invalid JSON payload received. Expected an object for '{where}' ({message.name})."
        )
    result: dict[str, Any] = {}
    for key, item in value.items():
        name = camel_name(key) if isinstance(key, str) else str(key)
        spec = message.fields.get(name)
        if spec is None:
            raise InvalidRequest(
                f'Invalid JSON payload received. Unknown name "{key}" at \'{where}\': Cannot find field.'
            )
        if item is None:  # JSON null is the field's default: absent
            continue
        path = f"{where}.{snake_name(name)}"
        result[name] = _read_field(item, spec, path)
    return result


def for_version(value: Any, version: str, enum_numbers: Mapping[str, Mapping[str, int]] | None = None) -> Any:
    """`value` (a response built in v1 spelling) with its Vertex `@type` URLs in `version`,
    and, given `enum_numbers` (the enums of responses by the field holding them), every enum
    written as its number, as Vertex answers `$alt=json;enum-encoding=int`."""
    if enum_numbers:
        value = _enums_as_numbers(value, enum_numbers)
    if version == "v1":
        return value
    text = _VERTEX_TYPE.sub(rf"\g<1>{version}.", json.dumps(value))
    return json.loads(text)


def _enums_as_numbers(value: Any, enum_numbers: Mapping[str, Mapping[str, int]]) -> Any:
    # Keyed by field name and by value: user data (label values, Struct metadata, texts)
    # never holds an enum's upper-case name under one of these field names.
    if isinstance(value, list):
        return [_enums_as_numbers(item, enum_numbers) for item in value]
    if not isinstance(value, dict):
        return value
    written = {}
    for key, item in value.items():
        names = enum_numbers.get(key)
        if names is not None and isinstance(item, str) and item in names:
            written[key] = names[item]
        else:
            written[key] = _enums_as_numbers(item, enum_numbers)
    return written



def _read_field(value: Any, spec: Field, path: str) -> Any:
    if spec.kind == "map":
        if not isinstance(value, dict):
            raise InvalidRequest(f"Invalid JSON payload received. '{path}' must be an object of key/value pairs.")
        return {str(k): v for k, v in value.items()}  # keys are data: never renamed
    if spec.repeated:
        if isinstance(value, dict) and spec.single_ok:
            value = [value]
        if not isinstance(value, list):
            raise InvalidRequest(f"Invalid JSON payload received. '{path}' must be a list (repeated field).")
        return [_read_single(item, spec, f"{path}[{index}]") for index, item in enumerate(value)]
    return _read_single(value, spec, path)


def _read_single(value: Any, spec: Field, path: str) -> Any:
    kind = spec.kind
    if kind == "any":
        return value  # opaque to the emulator: Struct, Value, messages it does not look into
    if kind == "message":
        assert spec.message is not None
        return read(value, spec.message(), path)
    if kind in ("string", "bytes", "timestamp"):
        if not isinstance(value, str):
            raise _invalid(path, value, f"a {kind} is a JSON string")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise _invalid(path, value, "a bool is true or false")
        return value
    if kind == "enum":
        return _read_enum(value, spec, path)
    if kind == "double":
        return _read_double(value, path)
    return _read_integer(value, kind, path)


def _read_integer(value: Any, kind: Kind, path: str) -> int | str:
    """int32 as a JSON number, int64 as a string (proto3 JSON); both read from either form."""
    number: int | None = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        number = int(value.strip())
    low, high = _INT64_RANGE if kind == "int64" else _INT32_RANGE
    if number is None or not low <= number <= high:
        raise _invalid(path, value, f"an {kind} is a whole number, as a JSON number or string")
    return str(number) if kind == "int64" else number


def _read_double(value: Any, path: str) -> float | str:
    if isinstance(value, bool):
        raise _invalid(path, value, "a number is a JSON number or string")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        if value in ("NaN", "Infinity", "-Infinity"):
            return value  # proto3 JSON's spelling of the non-finite values
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if math.isfinite(number):
            return number
    raise _invalid(path, value, "a number is a JSON number or string")


def _read_enum(value: Any, spec: Field, path: str) -> str:
    names = spec.enum or {}
    if isinstance(value, str) and value in names:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        for name, number in names.items():
            if number == value:
                return name
    raise InvalidRequest(
        f"Invalid value at '{path}' (type.googleapis.com/{spec.enum_type}), {json.dumps(value)}: "
        f"use one of {', '.join(n for n in names if not n.endswith('_UNSPECIFIED'))} (or its number)."
    )


def _invalid(path: str, value: Any, rule: str) -> InvalidRequest:
    return InvalidRequest(f"Invalid value at '{path}', {json.dumps(value)}: {rule}.")
