"""The tuning job's inputs and outputs: the single list of every field.

Each input field carries one marker in its `Annotated` metadata saying what a change does:
- `Vertex("sdk_name")`: the value is sent to Vertex when the job is created, under that
  google-genai name. Jobs are immutable, so changing it replaces the job.
- `Identity()`: not sent as a job setting, but it names where or which job this is
  (project, location, an adopted job): changing it replaces the job too.
- `Steering()`: steers the provider only (waiting, polling, dataset checks); a change
  updates the resource in place with no API call.
Diff, create and the fingerprint all read these markers; nothing else lists the fields.
Validation raises one error type, SpecError (tuning_provider/errors.py), listing every
problem with its field path, the value given and the fix: pydantic's own errors never leave
this module. Values are normalised on validation ("4" -> "ADAPTER_SIZE_FOUR",
"publishers/google/models/gemini-2.5-flash" -> "gemini-2.5-flash") so that equal settings in
other spellings compare equal and never retrain a model by accident.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal, Self, cast

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from tuning_provider import catalog
from tuning_provider.errors import SpecError, SpecProblem
from tuning_provider.names import DatasetName, KmsKeyName, ModelName, TuningJobName, is_tuned_model, is_vertex_dataset

__all__ = [
    "EVAL_FIELDS",
    "FINGERPRINT_LABEL",
    "Accepts",
    "Checkpoint",
    "DataStats",
    "EvaluationRun",
    "Identity",
    "Metrics",
    "PropertyName",
    "ServeCheckpoint",
    "Serving",
    "Steering",
    "TuningJobOutputs",
    "TuningJobSpec",
    "Vertex",
    "base_model_problems",
    "inputs_of_vertex_settings",
    "replaces_on_change",
    "serving_outputs",
    "spec_problems",
]

# The label create() puts on every job it submits, so that a retried create finds and adopts
# the job instead of paying for a second one.
FINGERPRINT_LABEL = "pulumi-tuning-fingerprint"


@dataclass(frozen=True)
class Vertex:
    """Sent to Vertex at create under google-genai's name `sdk`; a change replaces the job."""

    sdk: str


@dataclass(frozen=True)
class Identity:
    """Names where or which job this is; a change replaces the job."""


@dataclass(frozen=True)
class Steering:
    """Steers the provider only; a change updates in place with no API call."""


@dataclass(frozen=True)
class Accepts:
    """What a user may write for an input when that is more than its normalised type (the typed
    SDK, tools/codegen.py, offers it): adapter_size takes 4 as well as "ADAPTER_SIZE_FOUR"."""

    type: Any


@dataclass(frozen=True)
class PropertyName:
    """The field's name where properties are camelCase (the provider plugin's schema, and the
    YAML, TypeScript and Go programs that use it), when its own name in camelCase would not say
    what it is: an output `name` is the tuning job's, so it is `tuningJobName` there."""

    name: str


@dataclass(frozen=True)
class Serving:
    """An output that names what serves: every successful create and update sets it (the serving
    invariant), so a program sees a value, never None (the typed SDK says so)."""


_PROJECT_ID = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
_GCS_URI = re.compile(r"^gs://[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]/[^\s]+$")
_SERVICE_ACCOUNT = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z0-9.-]+\.iam\.gserviceaccount\.com$|"
                              r"^[0-9]+-compute@developer\.gserviceaccount\.com$")
_LABEL_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_LABEL_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")
EVALUATION_REGIONS = catalog.EVALUATION_REGIONS
_EVALUATION_KEYS = frozenset({"metrics", "output_config", "autorater_config", "inference_generation_config"})
_CHECKPOINT_ID = re.compile(r"^[A-Za-z0-9_-]{1,63}$")
MAX_DISPLAY_NAME = catalog.MAX_DISPLAY_NAME_CHARS
MAX_USER_LABELS = catalog.MAX_LABELS - 1  # the provider adds the fingerprint label
EPOCH_RANGE = (1, 100)
# No range is published for Gemini; these bounds only catch typos such as 50 for 0.5.
LEARNING_RATE_MULTIPLIER_RANGE = (0.0, 10.0)


def _gcs_jsonl(value: str) -> str:
    if is_vertex_dataset(value):
        return value
    if not _GCS_URI.match(value):
        raise ValueError(
            f"{value!r} is not a Cloud Storage URI: write it as gs://BUCKET/PATH.jsonl (or name a "
            "Vertex multimodal dataset as projects/PROJECT/locations/REGION/datasets/ID)"
        )
    if not value.endswith(".jsonl"):
        raise ValueError(f"{value!r} must name a JSON Lines file ending in .jsonl")
    return value


def _base_model(given: Any, validation: ValidationInfo) -> str:
    if not isinstance(given, str):  # a BeforeValidator sees the value before its type is checked
        raise ValueError(f"must be a model name such as gemini-3.5-flash, not {given!r}")
    value = given.strip()
    if is_tuned_model(value):
        # Kept as written: the version or alias (@1, @default) picks what to tune further.
        return value
    info = catalog.find_model(value)
    if info is None:
        # spec_problems hands in the day to judge on (`today`) as the validation context.
        known = ", ".join(catalog.tunable_model_ids((validation.context or {}).get("today")))
        raise ValueError(
            f"{value!r} cannot be tuned; use one of: {known}, or a tuned model's resource name "
            "projects/PROJECT/locations/REGION/models/ID to tune it further"
        )
    # A retired model still parses: a job tuned before its retirement must go on reading,
    # refreshing and destroying. Only check refuses one for new inputs (spec_problems).
    return info.id


def _adapter_size(value: Any) -> str:
    return catalog.adapter_size_enum(value)


def _number(value: Any) -> Any:
    # Pulumi sends every number as a float, so 3.0 passes as an int; but a boolean or a string is
    # a mistake, which pydantic would otherwise read as a number (true as 1, "3" as 3).
    if isinstance(value, bool):
        raise ValueError(f"must be a number, not the boolean {str(value).lower()}")
    if isinstance(value, str):
        raise ValueError(f"must be a number, not the string {value!r} (write it without quotes; "
                         "with `pulumi config set`, add --type float or --type int)")
    return value


# Validation context key: False leaves the cross-field rules to the caller (spec_problems).
_CROSS_FIELD_RULES = "cross_field_rules"
# Which checkpoint serves (`serve_checkpoint`).
ServeCheckpoint = Literal["default", "best_eval_loss"]
# Inputs that need eval metrics, hence validation data.
EVAL_FIELDS = ("min_eval_token_accuracy", "max_eval_loss")

# A numeric input: a number, never a boolean or a string read as one.
Number = BeforeValidator(_number)
GcsJsonlUri = Annotated[str, BeforeValidator(lambda v: _gcs_jsonl(str(v).strip()))]


class TuningJobSpec(BaseModel):
    """Every input of a TuningJob resource, validated and normalised."""

    # defer_build: validators are built on first use, so the stack program (which reads only
    # model_fields) never pays for them (~25 ms of every preview and up).
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    @model_validator(mode="wrap")
    @classmethod
    def _one_error_type(cls, data: Any, validate: ModelWrapValidatorHandler[Self]) -> Self:
        # However the spec is made (TuningJobSpec(...), model_validate), a problem surfaces as
        # SpecError: pydantic passes an exception that is not a ValueError through unchanged.
        try:
            return validate(data)
        except ValidationError as exc:
            raise SpecError(_problems_of(exc)) from exc

    project: Annotated[str, Identity()] = Field(description="Google Cloud project id that runs the job.")
    location: Annotated[str, Identity()] = Field(
        default="us-central1", description="Region of the job and of the tuned model."
    )
    base_model: Annotated[str, BeforeValidator(_base_model), Vertex("base_model")] = Field(
        description="Gemini model to tune, e.g. gemini-3.5-flash, or a tuned model's resource name "
        "(projects/P/locations/L/models/ID[@VERSION]) to tune it further (continuous tuning)."
    )
    training_dataset_uri: Annotated[GcsJsonlUri, Vertex("training_dataset")] = Field(
        description="gs:// URI of the training JSONL, or a Vertex multimodal dataset's resource name."
    )
    validation_dataset_uri: Annotated[GcsJsonlUri | None, Vertex("validation_dataset")] = Field(
        default=None, description="Held-out validation data, as training_dataset_uri; Vertex computes "
        "eval metrics only with it.",
    )
    epoch_count: Annotated[int | None, Number, Vertex("epoch_count")] = Field(
        default=None, ge=EPOCH_RANGE[0], le=EPOCH_RANGE[1],
        description="Passes over the training data (unset: Vertex picks it from the dataset size).",
    )
    adapter_size: Annotated[str | None, BeforeValidator(lambda v: v if v is None else _adapter_size(v)),
                            Vertex("adapter_size"), Accepts(int | str)] = Field(
        default=None, description="LoRA adapter size: 1, 2, 4, 8, 16 or 32 (or ADAPTER_SIZE_FOUR...), "
        "as the base model allows.",
    )
    learning_rate_multiplier: Annotated[float | None, Number, Vertex("learning_rate_multiplier")] = Field(
        default=None, gt=LEARNING_RATE_MULTIPLIER_RANGE[0], le=LEARNING_RATE_MULTIPLIER_RANGE[1],
        description="Multiplies Vertex's recommended learning rate.",
    )
    export_last_checkpoint_only: Annotated[bool, Vertex("export_last_checkpoint_only")] = Field(
        default=False, description="Keep only the last checkpoint instead of one per epoch.",
    )
    tuned_model_display_name: Annotated[str | None, Vertex("tuned_model_display_name")] = Field(
        default=None, min_length=1, max_length=MAX_DISPLAY_NAME,
        description="Display name of the tuned model (TuningJob sets the resource's name); a tuned "
        "base_model's own display name makes a new version of it instead of a new model.",
    )
    description: Annotated[str | None, Vertex("description")] = Field(
        default=None, description="Description of the tuning job in Vertex."
    )
    labels: Annotated[dict[str, str], Vertex("labels")] = Field(
        default_factory=dict, description="Labels on the job (lowercase keys and values, at most 63)."
    )
    kms_key_name: Annotated[str | None, Vertex("kms_key_name")] = Field(
        default=None, description="Cloud KMS key (projects/P/locations/L/keyRings/R/cryptoKeys/K) in the "
        "job's region, for base models that support customer-managed encryption.",
    )
    service_account: Annotated[str | None, Vertex("service_account")] = Field(
        default=None, description="Service account email the job runs as (default: Vertex's service agent)."
    )
    evaluation_config: Annotated[dict[str, Any] | None, Vertex("evaluation_config")] = Field(
        default=None, description="Evaluation after tuning (preview, us-central1), in google-genai's "
        "EvaluationConfig form: metrics, output_config.gcs_destination.output_uri_prefix, autorater_config.",
    )
    pre_tuned_model_checkpoint_id: Annotated[str | None, Vertex("pre_tuned_model_checkpoint_id"),
                                             Accepts(str | int)] = Field(
        default=None, description="Continuous tuning: the checkpoint of the tuned base_model to start "
        "from (default: the model's default checkpoint).",
    )

    existing_job_name: Annotated[str | None, Identity()] = Field(
        default=None, description="Adopt this existing job instead of creating one."
    )
    wait_for_completion: Annotated[bool, Steering()] = Field(
        default=True, description="Wait until the tuned model serves; false submits the job and fails "
        "the update, and the next `pulumi up` adopts the job.",
    )
    wait_timeout_seconds: Annotated[float, Number, Steering()] = Field(
        default=3 * 3600, gt=0, description="How long an update waits for the job before it fails "
        "(the job runs on and the next `pulumi up` adopts it).",
    )
    poll_interval_seconds: Annotated[float, Number, Steering()] = Field(
        default=10.0, gt=0, le=600, description="Seconds between two reads of the job while waiting."
    )
    api_outage_tolerance_seconds: Annotated[float, Number, Steering()] = Field(
        default=600.0, ge=0, description="How long a wait for a submitted job rides out a Vertex API that stops "
        "answering (connection errors, timeouts, 5xx) before the update fails as at its wait bound; 0: not at all. "
        "Delete rides out an outage as long.",
    )
    delete_timeout_seconds: Annotated[float, Number, Steering()] = Field(
        default=1800.0, gt=0, description="How long a delete waits for a cancelled job to stop before it fails "
        "(the resource stays in the stack, and the next delete finds the job cancelled).",
    )
    validate_dataset: Annotated[bool, Steering()] = Field(
        default=True, description="Check the training and validation data at preview, before a job is "
        "paid for: every line of a gs:// file (each object version read once per machine, then cached) "
        "and that a Vertex dataset exists and is multimodal. false turns it off.",
    )
    # Cost: the training data's estimated token count (the stack sets it from its own dataset
    # check; `validate_dataset` fills it from the gs:// object), and ceilings a preview enforces.
    training_dataset_tokens: Annotated[int | None, Number, Steering()] = Field(
        default=None, ge=0, description="Estimated tokens of the training data, for the cost estimate "
        "and ceilings (the stacks set it; validate_dataset counts them from the data).",
    )
    max_training_tokens: Annotated[int | None, Number, Steering()] = Field(
        default=None, gt=0, description="A preview fails if the job would train on more tokens."
    )
    max_training_cost_usd: Annotated[float | None, Number, Steering()] = Field(
        default=None, gt=0, description="A preview fails if the job's estimated cost is higher (needs a price: "
        "price_per_million_training_tokens_usd or the catalog's).",
    )
    price_per_million_training_tokens_usd: Annotated[float | None, Number, Steering()] = Field(
        default=None, gt=0, description="Your price of supervised tuning in USD per 1M training tokens (list "
        "price or contract): the preview's cost estimate and max_training_cost_usd use it instead of the "
        "catalog's. Never sent to Vertex; changing it never replaces the job.",
    )
    # Quality gate: a finished job that misses these fails its create, so the old model serves on.
    min_eval_token_accuracy: Annotated[float | None, Number, Steering()] = Field(
        default=None, ge=0, le=1, description="Quality gate: the serving checkpoint's eval token accuracy "
        "must reach it, or the up fails and the old model serves on.",
    )
    max_eval_loss: Annotated[float | None, Number, Steering()] = Field(
        default=None, gt=0, description="Quality gate: the serving checkpoint's eval loss must not exceed it."
    )
    serve_checkpoint: Annotated[ServeCheckpoint, Steering()] = Field(
        default="default", description="Which checkpoint's endpoint serves: Vertex's default (the last) "
        "or the one with the lowest eval loss.",
    )
    # Set by the TuningJob resource: it tells two resources with equal settings apart in the
    # fingerprint. Renaming a resource already makes Pulumi replace it.
    resource_key: Annotated[str, Steering()] = Field(
        default="", description="project/stack/resource name, set by the TuningJob resource."
    )

    @field_validator("project")
    @classmethod
    def _check_project(cls, value: str) -> str:
        if not _PROJECT_ID.match(value):
            raise ValueError(
                f"{value!r} is not a project id: 6-30 lowercase letters, digits and hyphens, "
                "starting with a letter (use the id, not the display name or number)"
            )
        return value

    @field_validator("location")
    @classmethod
    def _check_location(cls, value: str) -> str:
        if value not in catalog.TUNING_REGIONS:
            raise ValueError(
                f"{value!r} does not run Gemini tuning jobs; use a region such as us-central1 "
                "or europe-west4 (not 'global')"
            )
        return value

    @field_validator("labels")
    @classmethod
    def _check_labels(cls, labels: dict[str, str]) -> dict[str, str]:
        if len(labels) > MAX_USER_LABELS:
            raise ValueError(f"{len(labels)} labels given; at most {MAX_USER_LABELS} are allowed")
        for key, value in labels.items():
            if key == FINGERPRINT_LABEL:
                raise ValueError(f"label {key!r} is reserved for the provider's own use")
            if not _LABEL_KEY.match(key):
                raise ValueError(
                    f"label key {key!r} must start with a lowercase letter and hold at most 63 "
                    "lowercase letters, digits, '_' or '-'"
                )
            if not _LABEL_VALUE.match(value):
                raise ValueError(
                    f"label {key!r} has value {value!r}: use at most 63 lowercase letters, "
                    "digits, '_' or '-'"
                )
        return labels

    @field_validator("kms_key_name")
    @classmethod
    def _check_kms_key(cls, value: str | None) -> str | None:
        if value is not None and KmsKeyName.parse(value) is None:
            raise ValueError(
                f"{value!r} is not a key name: write "
                "projects/PROJECT/locations/REGION/keyRings/RING/cryptoKeys/KEY"
            )
        return value

    @field_validator("service_account")
    @classmethod
    def _check_service_account(cls, value: str | None) -> str | None:
        if value is not None and not _SERVICE_ACCOUNT.match(value):
            raise ValueError(
                f"{value!r} is not a service account email such as "
                "tuning-job@PROJECT.iam.gserviceaccount.com (its id is 6-30 lowercase letters, "
                "digits and hyphens)"
            )
        return value

    @field_validator("pre_tuned_model_checkpoint_id", mode="before")
    @classmethod
    def _check_checkpoint_id(cls, value: Any) -> Any:
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # Pulumi sends numbers as floats; checkpoint ids are "1", "2"...
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str) and not _CHECKPOINT_ID.match(value):
            raise ValueError(f"{value!r} is not a checkpoint id such as \"2\" (see the tuned model's checkpoints)")
        return value

    @field_validator("evaluation_config")
    @classmethod
    def _check_evaluation_config(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        unknown = sorted(set(value) - _EVALUATION_KEYS)
        if unknown:
            keys = ", ".join(sorted(_EVALUATION_KEYS))
            raise ValueError(f"{unknown[0]!r} is not a key of evaluation_config; use {keys}")
        metrics = value.get("metrics")
        if not isinstance(metrics, list) or not metrics or not all(isinstance(m, dict) for m in metrics):
            raise ValueError("metrics must list at least one metric, such as {\"name\": \"bleu\"}")
        output = value.get("output_config") or {}
        prefix = (output.get("gcs_destination") or {}).get("output_uri_prefix") if isinstance(output, dict) else None
        if not isinstance(prefix, str) or not prefix.startswith("gs://"):
            raise ValueError("output_config.gcs_destination.output_uri_prefix must name where the results go, "
                             "as gs://BUCKET/PATH/")
        return value

    @field_validator("existing_job_name")
    @classmethod
    def _check_job_name(cls, value: str | None) -> str | None:
        if value is not None and TuningJobName.parse(value) is None:
            raise ValueError(
                f"{value!r} is not a job resource name: write "
                "projects/PROJECT/locations/REGION/tuningJobs/ID"
            )
        return value

    @model_validator(mode="after")
    def _check_combination(self, validation: ValidationInfo) -> TuningJobSpec:
        # spec_problems runs these rules itself, knowing which values a preview lacks.
        if (validation.context or {}).get(_CROSS_FIELD_RULES, True):
            values = self.model_dump()
            problems = [SpecProblem((f,), values.get(f), m) for f, m in cross_field_problems(values)]
            if problems:
                raise SpecError(problems)
        return self

    # --- derived views -------------------------------------------------------------------

    def vertex_settings(self) -> dict[str, Any]:
        """The settings sent to Vertex, keyed by google-genai name; None values left out."""
        values = self.model_dump()
        return {
            marker.sdk: values[name]
            for name, marker in _markers(Vertex)
            if values[name] is not None
        }

    def fingerprint(self) -> str:
        """A label-safe digest of the resource's identity and of everything sent to Vertex."""
        identity = {name: getattr(self, name) for name, _ in _markers(Identity)}
        payload = {"resource": self.resource_key, "identity": identity, "vertex": self.vertex_settings()}
        canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def _markers(kind: type) -> Iterator[tuple[str, Any]]:
    for name, info in TuningJobSpec.model_fields.items():
        for marker in info.metadata:
            if isinstance(marker, kind):
                yield name, marker


def inputs_of_vertex_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The inputs a job's Vertex settings (keyed by google-genai's names, as `vertex_settings`
    gives them) stand for, through each field's `Vertex` marker: its inverse. Settings Vertex
    reports as None or at the field's default are left out, as a user would leave them out."""
    inputs = {}
    for name, marker in _markers(Vertex):
        value = settings.get(marker.sdk)
        info = TuningJobSpec.model_fields[name]
        if value is not None and value != info.get_default(call_default_factory=True):
            inputs[name] = value
    return inputs


def replaces_on_change(field: str) -> bool:
    """Whether changing this input needs a new job (read from the field's marker)."""
    metadata = TuningJobSpec.model_fields[field].metadata
    return any(isinstance(m, (Vertex, Identity)) for m in metadata)


def cross_field_problems(
    values: Mapping[str, Any], unknown: frozenset[str] = frozenset(), names: Mapping[str, str] | None = None,
) -> Iterator[tuple[str, str]]:
    """Rules between fields, on normalised values. A rule whose fields are absent or in
    `unknown` (unknown in a preview) is skipped, so check can run it on a partly known spec.
    A fix names an input as its user sets it: `names` maps the input to that (a stack setting
    such as tuning:region), the input's own name otherwise."""
    def n(field: str) -> str:
        return (names or {}).get(field, field)

    base_model = values.get("base_model")
    info = catalog.find_model(base_model) if base_model else None
    location = values.get("location")
    tuned = ModelName.parse(base_model) if base_model else None
    tuned_in = tuned.location if tuned else None
    if tuned_in and location and tuned_in != location:
        yield "base_model", (
            f"the tuned model is in {tuned_in} but the job runs in {location}; continuous tuning "
            f"runs in the tuned model's region: change {n('location')}"
        )
    if values.get("pre_tuned_model_checkpoint_id") and base_model and not tuned_in:
        yield "pre_tuned_model_checkpoint_id", (
            "applies only when base_model names a tuned model (continuous tuning); remove it or "
            f"set {n('base_model')} to projects/PROJECT/locations/REGION/models/ID"
        )
    if info and location and location not in info.regions:
        yield "location", (
            f"{info.id} is tuned only in {', '.join(sorted(info.regions))}; "
            f"change {n('location')} or {n('base_model')}"
        )
    size = values.get("adapter_size")
    if info and size:
        if catalog.adapter_size_number(size) not in info.adapter_sizes:
            yield "adapter_size", (
                f"{info.id} supports adapter sizes {', '.join(map(str, info.adapter_sizes))}, "
                f"not {catalog.adapter_size_number(size)}"
            )
    key = values.get("kms_key_name")
    if key:
        key_name = KmsKeyName.parse(key)
        if info and not info.cmek:
            yield "kms_key_name", f"{info.id} does not support customer-managed keys; remove {n('kms_key_name')}"
        elif key_name and location and key_name.location != location:
            yield "kms_key_name", (
                f"the key is in {key_name.location} but the job runs in {location}; "
                "use a key in the job's region"
            )
    for field in ("training_dataset_uri", "validation_dataset_uri"):
        dataset = DatasetName.parse(values.get(field) or "")
        if dataset and location and dataset.location != location:
            yield field, (
                f"the dataset is in {dataset.location} but the job runs in {location}; a job "
                "reads a Vertex dataset only in the dataset's own region"
            )
    if values.get("evaluation_config") and location and location not in EVALUATION_REGIONS:
        yield "evaluation_config", (
            f"evaluation during tuning runs only in {', '.join(sorted(EVALUATION_REGIONS))}, not {location}; "
            f"remove {n('evaluation_config')} or change {n('location')}"
        )
    train, val = values.get("training_dataset_uri"), values.get("validation_dataset_uri")
    if train and val and train == val:
        yield "validation_dataset_uri", "is the training file itself; use a held-out validation file"
    # Eval metrics exist only with validation data.
    if not val and "validation_dataset_uri" not in unknown:
        for field in EVAL_FIELDS:
            if values.get(field) is not None:
                yield field, ("needs eval metrics, which Vertex computes only with validation data: "
                              f"set {n('validation_dataset_uri')}")
        if values.get("serve_checkpoint") == "best_eval_loss":
            yield "serve_checkpoint", (
                "best_eval_loss compares the checkpoints' eval loss, which needs validation data: "
                f"set {n('validation_dataset_uri')}"
            )
    if values.get("serve_checkpoint") == "best_eval_loss" and values.get("export_last_checkpoint_only"):
        yield "serve_checkpoint", (
            "best_eval_loss chooses among intermediate checkpoints, but export_last_checkpoint_only "
            f"keeps only the last: set {n('export_last_checkpoint_only')} to false"
        )


def base_model_problems(values: Mapping[str, Any], base_model_id: str) -> list[tuple[str, str]]:
    """The catalog's rules (region, adapter size, CMEK) for a tuned model's own base model,
    `base_model_id`: continuous tuning keeps the base model's limits."""
    rules = {"location", "adapter_size", "kms_key_name"}
    return [(f, m) for f, m in cross_field_problems({**values, "base_model": base_model_id}) if f in rules]


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
        spec = TuningJobSpec.model_validate(known, context={"today": today, _CROSS_FIELD_RULES: False})
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


def _problems_of(exc: ValidationError) -> list[SpecProblem]:
    """pydantic's errors as SpecProblems, each a sentence with the fix."""
    problems = []
    for error in exc.errors():
        if error["type"] == "missing":
            value, message = None, "is required"
        elif error["type"] == "extra_forbidden":
            value = error["input"]
            message = f"is not an input of TuningJob; the inputs are {', '.join(TuningJobSpec.model_fields)}"
        else:
            value, message = error["input"], _sentence(error)
        problems.append(SpecProblem(tuple(error["loc"]), value, message))
    return problems


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


def _sentence(error: Any) -> str:
    message = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix):]
    if error["type"] in {"greater_than_equal", "less_than_equal", "greater_than", "less_than",
                         "too_long", "too_short", "string_too_long", "string_too_short"}:
        message = f"{message} (got {error['input']!r})"
    return message


class Checkpoint(BaseModel):
    """One kept checkpoint of the tuned model, served on its own endpoint."""

    model_config = ConfigDict(defer_build=True)

    checkpoint_id: str
    epoch: int | None = None
    step: int | None = None
    endpoint: str | None = None
    eval_loss: float | None = None
    """The eval loss at the checkpoint's step (with validation data)."""


class Metrics(BaseModel):
    """The training metrics a job wrote, at its last step (the eval ones need validation data)."""

    model_config = ConfigDict(defer_build=True)

    train_loss: float | None = None
    train_token_accuracy: float | None = None
    eval_loss: float | None = None
    eval_token_accuracy: float | None = None
    step: int | None = None
    epoch: int | None = None


class DataStats(BaseModel):
    """What Vertex counted in the training data."""

    model_config = ConfigDict(defer_build=True)

    examples: int | None = None
    characters: int | None = None
    tokens: int | None = None
    steps: int | None = None
    billable_characters: int | None = None
    truncated_examples: int | None = None
    # Why Vertex left examples out of training: paid-for data silently lost.
    dropped_example_reasons: list[str] = Field(default_factory=list)


class EvaluationRun(BaseModel):
    """One evaluation Vertex ran after tuning (evaluation_config), on one checkpoint."""

    model_config = ConfigDict(defer_build=True)

    checkpoint_id: str | None = None
    output_directory: str | None = None
    operation_name: str | None = None
    error: str | None = None


def serving_outputs() -> tuple[str, ...]:
    """The outputs that name what serves (their `Serving` marker): every successful up sets them."""
    return tuple(name for name, info in TuningJobOutputs.model_fields.items()
                 if any(isinstance(m, Serving) for m in info.metadata))


class TuningJobOutputs(BaseModel):
    """What a TuningJob resource reports back after create or refresh."""

    model_config = ConfigDict(defer_build=True)

    name: Annotated[str, PropertyName("tuningJobName")] = Field(
        description="The job's resource name (projects/P/locations/L/tuningJobs/ID), also the id."
    )
    state: Annotated[str, PropertyName("tuningJobState")] = Field(
        description="The job's state without Vertex's JOB_STATE_ prefix: SUCCEEDED after a successful up; refresh may "
        "find CANCELLED, FAILED or EXPIRED."
    )
    tuned_model_name: Annotated[str | None, Serving()] = Field(
        default=None, description="The tuned model's resource name, with its version (models/ID@1)."
    )
    tuned_model_endpoint: Annotated[str | None, Serving()] = Field(
        default=None, description="The endpoint that serves the tuned model (its serving_checkpoint's)."
    )
    checkpoints: list[Checkpoint] = Field(
        default_factory=list, description="The kept checkpoints, each with its own endpoint."
    )
    experiment: str | None = Field(default=None, description="The Vertex AI experiment holding the job's metrics.")
    error: str | None = Field(default=None, description="Why the job failed, or what refresh found changed.")
    tuning_data_stats: DataStats | None = Field(default=None, description="What Vertex counted in the training data.")
    tuning_state_detail: str | None = Field(
        default=None, description="Vertex's detail of a live job: WAITING_FOR_QUOTA, PROCESSING_DATASET, "
        "WAITING_FOR_CAPACITY, TUNING, POST_PROCESSING (None once it has ended).",
    )
    completed_epoch_count: int | None = Field(default=None, description="Epochs completed so far.")
    update_time: str | None = Field(default=None, description="When the job last changed (RFC 3339).")
    pre_tuned_base_model: str | None = Field(
        default=None, description="Continuous tuning: the Google base model under the tuned model it started from."
    )
    evaluation_runs: list[EvaluationRun] = Field(
        default_factory=list, description="The evaluations Vertex ran after tuning (evaluation_config)."
    )
    create_time: str | None = Field(default=None, description="When the job was created (RFC 3339).")
    start_time: str | None = Field(default=None, description="When the job started running (RFC 3339).")
    end_time: str | None = Field(default=None, description="When the job ended (RFC 3339).")
    metrics: Metrics | None = Field(default=None, description="The training metrics at the job's last step.")
    serving_checkpoint: str | None = Field(
        default=None, description="The id of the checkpoint whose endpoint is tuned_model_endpoint."
    )
    estimated_training_tokens: int | None = Field(
        default=None, description="Estimated training tokens: the dataset's tokens times the epochs."
    )
    estimated_cost_usd: float | None = Field(
        default=None, description="Estimated training cost; None when no tuning price is on record for the base model."
    )
