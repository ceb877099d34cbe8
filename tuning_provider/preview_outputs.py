"""The Output a generated resource class gives for one of its declared properties: the one
piece of logic resource.py runs, written here once rather than in the generator's template.

A preview of an unchanged stack must show no output as changing. But in a preview, Pulumi's
Python SDK resolves a property missing from the engine's answer as unknown, and a None output
never reaches the engine (serialize_properties drops it, so the dynamic provider's state leaves
it out): a property null in the state would be unknown in every preview, and stack outputs made
from it would show as changing. `declared_output` settles those to None, with public APIs only.
"""

from __future__ import annotations

from typing import Any

import pulumi

__all__ = ["declared_output"]


def declared_output(resource: pulumi.Resource, name: str, always_recorded: str) -> pulumi.Output[Any]:
    """The Output Pulumi set on `resource` for its declared property `name`, settled in a preview.

    `always_recorded` names a property every resource of the type has in the state (for a
    TuningJob, its job's name).
    """
    output: pulumi.Output[Any] = pulumi.get(resource, name)
    if name == always_recorded:
        return output
    return _settled(output, pulumi.get(resource, always_recorded))


def _settled(output: pulumi.Output[Any], recorded: pulumi.Output[Any]) -> pulumi.Output[Any]:
    """`output`, or None where a preview shows it null in the state.

    The engine answers a preview of an unchanged resource with its outputs in the state,
    `recorded` among them; a preview of an update or a replacement with its new inputs, where
    `recorded` is not (it is unknown). So where `recorded` is known and `output` is not, the
    state holds `output` as null. Outside previews every property is known, and this is `output`.
    """

    async def null_in_state() -> bool:
        return not await output.is_known() and await recorded.is_known()

    null: pulumi.Output[bool] = pulumi.Output.from_input(null_in_state())
    return null.apply(lambda is_null: recorded.apply(lambda _: None) if is_null else output)
