"""`TuningJob`: the Pulumi resource users declare, backed by `TuningJobProvider`.

Its inputs are exactly `TuningJobSpec`'s fields and its outputs `TuningJobOutputs`'s, both read
from the spec module, so this file lists no field of its own. Every input and output is an
attribute of the resource (`job.tuned_model_endpoint` is a `pulumi.Output[str]`).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import pulumi
from pulumi.dynamic import Resource

from tuning_provider.provider import TuningJobProvider
from tuning_provider.spec import TuningJobOutputs, TuningJobSpec

__all__ = ["TuningJob", "TuningJobArgs"]


def _args_class() -> type:
    # One optional Input per spec field; the spec validates them in the provider's check.
    fields = [
        (name, "pulumi.Input[Any] | None", dataclasses.field(default=None))
        for name in TuningJobSpec.model_fields
        if name != "resource_key"
    ]
    cls = dataclasses.make_dataclass("TuningJobArgs", fields, frozen=True, kw_only=True)
    cls.__module__ = __name__
    cls.__doc__ = "The inputs of a TuningJob: " + ", ".join(f for f, *_ in fields) + "."
    return cls


TuningJobArgs = _args_class()


class TuningJob(Resource, module="vertex", name="TuningJob"):
    """A Vertex AI Gemini supervised tuning job, its tuned model and endpoint.

    Settings sent to Vertex replace the job when changed (jobs are immutable); waiting and
    polling settings update in place. Delete cancels a running job, or removes the tuned
    model and its endpoints of a finished one; use `retain_on_delete` to keep them.
    """

    def __init__(
        self,
        resource_name: str,
        args: Any = None,
        opts: pulumi.ResourceOptions | None = None,
        **kwargs: Any,
    ) -> None:
        given = {f.name: getattr(args, f.name) for f in dataclasses.fields(args)} if args else {}
        given.update(kwargs)
        props: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
        props.setdefault("tuned_model_display_name", resource_name)
        props["resource_key"] = f"{pulumi.get_project()}/{pulumi.get_stack()}/{resource_name}"
        # Outputs are declared as None so Pulumi exposes them as attributes.
        props.update({name: None for name in TuningJobOutputs.model_fields})
        super().__init__(TuningJobProvider(), resource_name, props, opts)

    if TYPE_CHECKING:
        # Every input and output is set as an attribute at run time (see the module docstring);
        # type checkers learn here that each is a pulumi.Output.
        def __getattr__(self, name: str) -> pulumi.Output[Any]: ...
