"""The tuning policy pack: the rules of policy/rules.py as Pulumi resource policies.

Run by `pulumi preview|up --policy-pack policy` in the pack's own virtualenv (policy/.venv,
pulumi-policy needs a protobuf the program's venv does not have); docs/policy.md says how.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyPack,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

# The pack reads the model catalog of the repository it lives in (tuning_provider/catalog.py).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from policy import rules  # noqa: E402


def plain(value: Any) -> Any:
    """The SDK's property view as plain data, values not known yet as rules.UNKNOWN (the view
    raises on them, which would skip every other check of the policy)."""
    if isinstance(value, Mapping):
        out = {}
        for key in value:
            try:
                out[key] = plain(value[key])
            except UnknownValueError:
                out[key] = rules.UNKNOWN
        return out
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        items = []
        for index in range(len(value)):
            try:
                items.append(plain(value[index]))
            except UnknownValueError:
                items.append(rules.UNKNOWN)
        return items
    return value


def resource_policy(policy: rules.Policy) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        resource = rules.Resource(args.resource_type, args.name, plain(args.props))
        for message in policy.violations(resource, args.get_config()):
            report_violation(message, None)

    return ResourceValidationPolicy(
        name=policy.name,
        description=policy.description,
        validate=validate,
        enforcement_level=EnforcementLevel(policy.level),
        config_schema=PolicyConfigSchema(properties=policy.options) if policy.options else None,
    )


PolicyPack(
    name="tuning-guardrails",
    policies=[resource_policy(policy) for policy in rules.POLICIES],
)
