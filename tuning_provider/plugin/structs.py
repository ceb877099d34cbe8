"""Protobuf Structs, as the ResourceProvider protocol carries properties, to and from plain values.

Reading uses pulumi's public `pulumi.runtime.rpc.deserialize_properties`, keeping a preview's
unknowns as `pulumi.output.Unknown` (what `changes.contains_unknown` recognises). Secrets do not
arrive wrapped: the plugin tells the engine it does not accept them (ConfigureResponse), so the
engine sends their plain values and marks an output secret when the input of the same name was
(pulumi's annotateSecrets); a wrapper that comes anyway is unwrapped, never kept as data.
Writing turns an unknown back into the protocol's sentinel string.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from google.protobuf import struct_pb2  # type: ignore[import-untyped]
from pulumi.output import Unknown
from pulumi.runtime import rpc

__all__ = ["from_struct", "to_struct"]


def from_struct(struct: struct_pb2.Struct | None) -> dict[str, Any]:
    """The properties in `struct` as plain values (absent and null properties left out)."""
    if struct is None:
        return {}
    values = rpc.deserialize_properties(struct, keep_unknowns=True)
    return {k: _unwrapped(v) for k, v in values.items()} if isinstance(values, dict) else {}


def to_struct(values: Mapping[str, Any]) -> struct_pb2.Struct:
    """Plain values (a preview's unknowns included) as a protobuf Struct."""
    struct = struct_pb2.Struct()
    struct.update({k: _wire_value(v) for k, v in values.items()})
    return struct


def _unwrapped(value: Any) -> Any:
    if rpc.is_rpc_secret(value):
        return _unwrapped(rpc.unwrap_rpc_secret(value))
    if isinstance(value, dict):
        return {k: _unwrapped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrapped(v) for v in value]
    return value


def _wire_value(value: Any) -> Any:
    if isinstance(value, Unknown):
        return rpc.UNKNOWN
    if isinstance(value, Mapping):
        return {k: _wire_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_wire_value(v) for v in value]
    return value
