"""The rules of the tuning policy pack, as plain functions of a resource and its policy's config.

Each rule returns the violations it finds, one sentence each, naming the resource, the property
at fault and the fix. Nothing here imports pulumi_policy: `__main__.py` wires these rules into the
pack (which runs in its own virtualenv, policy/.venv), and the project's own test suite calls them
directly. A value the engine does not know yet (a key id at the first preview) is `UNKNOWN`:
rules pass it, and judge the real value when `pulumi up` registers the resource.

Facts about base models come from tuning_provider/catalog.py (imported, never copied).

A TuningJob comes in two types: the dynamic provider's (Python programs; snake_case properties)
and the provider plugin's `vertex-tuning:index:TuningJob` (YAML, TypeScript, Go; camelCase).
The rules are written once, for the first: a plugin TuningJob is seen under the Python names
(`python_names`: camelCase to snake_case, the inverse of the plugin's own naming, no field list),
and its violations name its properties back in camelCase.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from tuning_provider import catalog

__all__ = [
    "BUCKET_TYPE",
    "PLUGIN_TUNING_JOB_TYPE",
    "COST_CEILINGS",
    "POLICIES",
    "QUALITY_GATES",
    "TUNING_JOB_TYPE",
    "UNKNOWN",
    "Policy",
    "Resource",
    "policy",
    "python_name",
]

# The type Pulumi records for `tuning_provider.TuningJob` (a dynamic resource of module "vertex"),
# and the same resource through the provider plugin (camelCase properties). Copies, as are the
# input names below: the pack's venv cannot import the provider (engine_log.RESOURCE_TYPE,
# plugin/properties.TOKEN, the spec); tests/policy/test_rules.py proves each copy the same.
TUNING_JOB_TYPE = "pulumi-python:dynamic/vertex:TuningJob"
PLUGIN_TUNING_JOB_TYPE = "vertex-tuning:index:TuningJob"
BUCKET_TYPE = "gcp:storage/bucket:Bucket"

# The TuningJob inputs the rules read besides labels, base_model and location.
COST_CEILINGS = ("max_training_tokens", "max_training_cost_usd")
QUALITY_GATES = ("min_eval_token_accuracy", "max_eval_loss")

# Where a TuningJob's settings usually come from, for the fix: the stack file's job entry.
_IN_STACK_FILE = "under tuning:job or tuning:jobs.NAME in the stack file"
_IN_PROPERTIES = "in the TuningJob's properties"
_REGION_FIX = "set tuning:region in the stack file (or the job's location)"
_PLUGIN_REGION_FIX = "set the TuningJob's location (or the provider's vertex-tuning:location)"
_UPPER = re.compile(r"(?<=[a-z0-9])([A-Z])")
_SNAKE_WORD = re.compile(r"(?<![\w.])([a-z][a-z0-9]*(?:_[a-z0-9]+)+)(?![\w])")


def python_name(name: str) -> str:
    """A plugin TuningJob's property as the Python name the rules read (epochCount -> epoch_count)."""
    return _UPPER.sub(lambda m: "_" + m.group(1).lower(), name)


def _property_name(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word.capitalize() for word in rest)


def _as_python(resource: Resource) -> Resource:
    """A plugin TuningJob as the dynamic one the rules are written for; any other resource as is."""
    if resource.type != PLUGIN_TUNING_JOB_TYPE:
        return resource
    return Resource(TUNING_JOB_TYPE, resource.name, {python_name(k): v for k, v in resource.props.items()})


def _worded_for(resource: Resource, message: str) -> str:
    """A violation in the words of the resource's own program: camelCase for a plugin TuningJob."""
    if resource.type != PLUGIN_TUNING_JOB_TYPE:
        return message
    message = message.replace(_IN_STACK_FILE, _IN_PROPERTIES).replace(_REGION_FIX, _PLUGIN_REGION_FIX)
    return _SNAKE_WORD.sub(lambda m: _property_name(m.group(1)), message)


class _Unknown:
    """A value the engine does not know yet (computed from another resource's outputs)."""

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = _Unknown()

Level = Literal["advisory", "mandatory", "remediate", "disabled"]


@dataclass(frozen=True)
class Resource:
    """A resource as a policy sees it: its type token, its name and its input properties
    (TuningJob inputs snake_case, as in Python; pulumi-gcp inputs camelCase, as on the wire)."""

    type: str
    name: str
    props: Mapping[str, Any]


Check = Callable[[Resource, Mapping[str, Any], date], list[str]]


@dataclass(frozen=True)
class Policy:
    """One policy: its name (what users write in a policy config file), what it asks, its
    default enforcement level, the options it reads (a JSON schema with defaults) and its rule."""

    name: str
    description: str
    level: Level
    check: Check
    options: dict[str, dict[str, Any]] = field(default_factory=dict)

    def defaults(self) -> dict[str, Any]:
        return {key: schema["default"] for key, schema in self.options.items() if "default" in schema}

    def violations(self, resource: Resource, config: Mapping[str, Any] | None = None,
                   today: date | None = None) -> list[str]:
        """The rule's violations, with the options in `config` over their defaults."""
        found = self.check(_as_python(resource), {**self.defaults(), **(config or {})}, today or date.today())
        return [_worded_for(resource, message) for message in found]


def _known(value: Any) -> bool:
    return value is not UNKNOWN


def _is_set(value: Any) -> bool:
    return value is not None and value != ""


def _job(resource: Resource) -> str:
    return f"TuningJob {resource.name!r}"


def _labels(resource: Resource) -> Mapping[str, Any] | None:
    """The job's labels, or None when they are not known yet."""
    labels = resource.props.get("labels")
    if not _known(labels):
        return None
    return labels if isinstance(labels, Mapping) else {}


# --- TuningJob ---------------------------------------------------------------------------------

def _tuning_job_labels(resource: Resource, config: Mapping[str, Any], today: date) -> list[str]:
    if resource.type != TUNING_JOB_TYPE:
        return []
    labels = _labels(resource)
    if labels is None:
        return []
    found = []
    for key in config["labels"]:
        value = labels.get(key)
        if _known(value) and not _is_set(value):
            found.append(
                f"{_job(resource)}: labels has no {key!r} label; add labels.{key} "
                f"(labels: {{{key}: ...}} {_IN_STACK_FILE})"
            )
    return found


def _tuning_job_cost_ceiling(resource: Resource, config: Mapping[str, Any], today: date) -> list[str]:
    if resource.type != TUNING_JOB_TYPE:
        return []
    values = [resource.props.get(name) for name in COST_CEILINGS]
    if any(not _known(v) or _is_set(v) for v in values):
        return []
    return [
        f"{_job(resource)}: neither max_training_tokens nor max_training_cost_usd is set, so nothing "
        f"caps what the job costs; set one of them ({_IN_STACK_FILE})"
    ]


def _tuning_job_quality_gate(resource: Resource, config: Mapping[str, Any], today: date) -> list[str]:
    if resource.type != TUNING_JOB_TYPE:
        return []
    labels = _labels(resource)
    env = labels.get("env") if labels is not None else None
    if not _known(env) or env not in config["environments"]:
        return []
    values = [resource.props.get(name) for name in QUALITY_GATES]
    if any(not _known(v) or _is_set(v) for v in values):
        return []
    return [
        f"{_job(resource)}: labelled env: {env} but sets no quality gate, so any tuned model would "
        f"serve; set min_eval_token_accuracy or max_eval_loss ({_IN_STACK_FILE})"
    ]


def _tuning_job_base_model(resource: Resource, config: Mapping[str, Any], today: date) -> list[str]:
    if resource.type != TUNING_JOB_TYPE:
        return []
    base_model = resource.props.get("base_model")
    if not isinstance(base_model, str):
        return []  # not known yet: a tuned model another job produces (continuous tuning)
    found = catalog.retirement_error(base_model, today) or catalog.deprecation_warning(base_model, today)
    if found is None:
        return []
    return [f"{_job(resource)}: base_model {found} (set base_model {_IN_STACK_FILE})"]


# --- regions -----------------------------------------------------------------------------------

def _allowed_regions(resource: Resource, config: Mapping[str, Any], today: date) -> list[str]:
    allowed = [str(region).lower() for region in config["regions"]]
    if resource.type == TUNING_JOB_TYPE:
        what, prop, fix = _job(resource), "location", _REGION_FIX
    elif resource.type == BUCKET_TYPE:
        what, prop, fix = f"Bucket {resource.name!r}", "location", "create the bucket in one of them"
    else:
        return []
    location = resource.props.get(prop, catalog.DEFAULT_REGION if resource.type == TUNING_JOB_TYPE else None)
    if not isinstance(location, str) or location.lower() in allowed:
        return []
    return [
        f"{what}: {prop} {location} is not an allowed region ({', '.join(allowed)}); {fix}, "
        "or add the region to the allowed-regions policy's `regions`"
    ]


# --- Cloud Storage -----------------------------------------------------------------------------

def _bucket_hardening(resource: Resource, config: Mapping[str, Any], today: date) -> list[str]:
    if resource.type != BUCKET_TYPE:
        return []
    props = resource.props
    what = f"Bucket {resource.name!r}"
    found = []
    if _known(props.get("uniformBucketLevelAccess")) and props.get("uniformBucketLevelAccess") is not True:
        found.append(f"{what}: uniform_bucket_level_access is not on, so object ACLs can grant access; "
                     "set uniform_bucket_level_access=True")
    prevention = props.get("publicAccessPrevention")
    if _known(prevention) and prevention != "enforced":
        found.append(f"{what}: public_access_prevention is {prevention or 'not set'}, so the data could be "
                     'made public; set public_access_prevention="enforced"')
    versioning = props.get("versioning")
    enabled = versioning.get("enabled") if isinstance(versioning, Mapping) else None
    if _known(versioning) and _known(enabled) and enabled is not True:
        found.append(f"{what}: versioning is off, so an overwritten or deleted dataset is lost; "
                     'set versioning={"enabled": True}')
    encryption = props.get("encryption")
    key = encryption.get("defaultKmsKeyName") if isinstance(encryption, Mapping) else None
    if _known(encryption) and _known(key) and not _is_set(key):
        found.append(f"{what}: encryption has no default KMS key, so the data is encrypted with Google's "
                     'key only; set encryption={"default_kms_key_name": KEY_ID} (a Cloud KMS key the '
                     "Cloud Storage service agent may use)")
    return found


# --- IAM ---------------------------------------------------------------------------------------

def _granted_roles(resource: Resource) -> list[tuple[str, str]]:
    """(property, role) of each grant a pulumi-gcp IAM member, binding or policy resource makes."""
    if not resource.type.startswith("gcp:"):
        return []
    kind = resource.type.rsplit(":", 1)[-1]
    if kind.endswith(("IAMMember", "IAMBinding")):
        role = resource.props.get("role")
        return [("role", role)] if isinstance(role, str) else []
    if kind.endswith("IAMPolicy"):
        data = resource.props.get("policyData")
        try:
            bindings = json.loads(data).get("bindings", []) if isinstance(data, str) else []
        except (ValueError, AttributeError):
            return []
        return [("policy_data", str(b.get("role"))) for b in bindings if isinstance(b, Mapping)]
    return []


def _no_primitive_roles(resource: Resource, config: Mapping[str, Any], today: date) -> list[str]:
    forbidden: Sequence[str] = config["roles"]
    return [
        f"{resource.type.rsplit(':', 1)[-1]} {resource.name!r}: {prop} grants {role}, a primitive role that "
        "reaches every service in the project; grant a predefined role for the one thing needed "
        "(roles/storage.objectViewer, roles/aiplatform.user, ...) instead"
        for prop, role in _granted_roles(resource)
        if role in forbidden
    ]


_STRINGS = {"type": "array", "items": {"type": "string"}}

POLICIES: tuple[Policy, ...] = (
    Policy(
        "tuning-job-labels",
        "Every TuningJob has the labels a platform team sorts costs and owners by (team and env by default).",
        "mandatory", _tuning_job_labels,
        {"labels": {**_STRINGS, "default": ["team", "env"], "description": "the labels every TuningJob has"}},
    ),
    Policy(
        "tuning-job-cost-ceiling",
        "Every TuningJob sets a cost ceiling (max_training_tokens or max_training_cost_usd), checked at preview.",
        "mandatory", _tuning_job_cost_ceiling,
    ),
    Policy(
        "tuning-job-quality-gate",
        "A TuningJob labelled env: prod sets a quality gate (min_eval_token_accuracy or max_eval_loss).",
        "mandatory", _tuning_job_quality_gate,
        {"environments": {**_STRINGS, "default": ["prod"],
                          "description": "the env label values whose jobs need a quality gate"}},
    ),
    Policy(
        "tuning-job-base-model",
        "A TuningJob's base model is not deprecated or retired (its retirement date and replacement "
        "from the project's model catalog).",
        "advisory", _tuning_job_base_model,
    ),
    Policy(
        "allowed-regions",
        "TuningJob locations and Cloud Storage bucket locations are in the allowed regions.",
        "mandatory", _allowed_regions,
        {"regions": {**_STRINGS, "default": ["us-central1", "europe-west4"],
                     "description": "the regions tuning jobs and buckets may be in"}},
    ),
    Policy(
        "bucket-hardening",
        "Cloud Storage buckets have uniform bucket-level access, public access prevention enforced, "
        "versioning and a default Cloud KMS key.",
        "mandatory", _bucket_hardening,
    ),
    Policy(
        "no-primitive-roles",
        "No IAM member, binding or policy grants a primitive role (roles/owner, roles/editor, roles/viewer).",
        "mandatory", _no_primitive_roles,
        {"roles": {**_STRINGS, "default": ["roles/owner", "roles/editor", "roles/viewer"],
                   "description": "the roles no IAM resource may grant"}},
    ),
)


def policy(name: str) -> Policy:
    """The pack's policy of this name."""
    for found in POLICIES:
        if found.name == name:
            return found
    raise KeyError(f"no policy named {name!r}; the pack has {', '.join(p.name for p in POLICIES)}")
