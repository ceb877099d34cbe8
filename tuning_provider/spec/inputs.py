"""`TuningJobSpec`: every input of a TuningJob, the one list of job fields.

Each field carries its type, default, bounds, description, normalisation and one marker
(tuning_provider/spec/markers.py) saying what a change does: `Vertex` (sent to Vertex, so a
change replaces the job), `Identity` (names which job: replaces too) or `Steering` (steers
the provider: updates in place). Diff, create and the fingerprint read the markers.
Validation raises one error type, SpecError (tuning_provider/errors.py), listing every problem
with its field path, the value given and the fix: pydantic's own errors never leave the spec.
Values are normalised on validation ("4" -> "ADAPTER_SIZE_FOUR",
"publishers/google/models/gemini-2.5-flash" -> "gemini-2.5-flash") so that equal settings in
other spellings compare equal and never retrain a model by accident. The rules between fields
are in rules.py, which a whole spec runs here.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal, Self

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
from tuning_provider.names import KmsKeyName, TuningJobName, is_tuned_model, is_vertex_dataset
from tuning_provider.spec.markers import Accepts, Identity, Steering, Vertex, marked
from tuning_provider.spec.rules import cross_field_problems

__all__ = [
    "CROSS_FIELD_RULES",
    "FINGERPRINT_LABEL",
    "ServeCheckpoint",
    "TuningJobSpec",
    "inputs_of_vertex_settings",
    "problems_of",
    "replaces_on_change",
]

# The label create() puts on every job it submits, so that a retried create finds and adopts
# the job instead of paying for a second one.
FINGERPRINT_LABEL = "pulumi-tuning-fingerprint"


_PROJECT_ID = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
_GCS_URI = re.compile(r"^gs://[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]/[^\s]+$")
_SERVICE_ACCOUNT = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z0-9.-]+\.iam\.gserviceaccount\.com$|"
                              r"^[0-9]+-compute@developer\.gserviceaccount\.com$")
_LABEL_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_LABEL_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")
_EVALUATION_KEYS = frozenset({"metrics", "output_config", "autorater_config", "inference_generation_config"})
_CHECKPOINT_ID = re.compile(r"^[A-Za-z0-9_-]{1,63}$")
MAX_DISPLAY_NAME = catalog.MAX_DISPLAY_NAME_CHARS
MAX_USER_LABELS = catalog.MAX_LABELS - 1  # the provider adds the fingerprint label
EPOCH_RANGE = (1, 100)
# No range is published for Gemini; these bounds only catch typos such as 50 for 0.5.
LEARNING_RATE_MULTIPLIER_RANGE = (0.0, 10.0)


# The inputs that name a Google Cloud resource: what each is, its parser (names.py) and its form.
_RESOURCE_NAMES: Mapping[str, tuple[str, Callable[[str], object | None], str]] = {
    "kms_key_name": ("a key name", KmsKeyName.parse,
                     "projects/PROJECT/locations/REGION/keyRings/RING/cryptoKeys/KEY"),
    "existing_job_name": ("a job resource name", TuningJobName.parse,
                          "projects/PROJECT/locations/REGION/tuningJobs/ID"),
}


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
CROSS_FIELD_RULES = "cross_field_rules"
# Which checkpoint serves (`serve_checkpoint`).
ServeCheckpoint = Literal["default", "best_eval_loss"]

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
            raise SpecError(problems_of(exc)) from exc

    project: Annotated[str, Identity()] = Field(description="Google Cloud project id that runs the job.")
    location: Annotated[str, Identity()] = Field(
        default=catalog.DEFAULT_REGION, description="Region of the job and of the tuned model."
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

    @field_validator(*_RESOURCE_NAMES)
    @classmethod
    def _check_resource_name(cls, value: str | None, validation: ValidationInfo) -> str | None:
        what, parse, form = _RESOURCE_NAMES[validation.field_name or ""]
        if value is not None and parse(value) is None:
            raise ValueError(f"{value!r} is not {what}: write {form}")
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

    @model_validator(mode="after")
    def _check_combination(self, validation: ValidationInfo) -> TuningJobSpec:
        # spec_problems runs these rules itself, knowing which values a preview lacks.
        if (validation.context or {}).get(CROSS_FIELD_RULES, True):
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
            for name, marker in marked(TuningJobSpec, Vertex)
            if values[name] is not None
        }

    def fingerprint(self) -> str:
        """A label-safe digest of the resource's identity and of everything sent to Vertex."""
        identity = {name: getattr(self, name) for name, _ in marked(TuningJobSpec, Identity)}
        payload = {"resource": self.resource_key, "identity": identity, "vertex": self.vertex_settings()}
        canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def inputs_of_vertex_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The inputs a job's Vertex settings (keyed by google-genai's names, as `vertex_settings`
    gives them) stand for, through each field's `Vertex` marker: its inverse. Settings Vertex
    reports as None or at the field's default are left out, as a user would leave them out."""
    inputs = {}
    for name, marker in marked(TuningJobSpec, Vertex):
        value = settings.get(marker.sdk)
        info = TuningJobSpec.model_fields[name]
        if value is not None and value != info.get_default(call_default_factory=True):
            inputs[name] = value
    return inputs


def replaces_on_change(field: str) -> bool:
    """Whether changing this input needs a new job (read from the field's marker)."""
    metadata = TuningJobSpec.model_fields[field].metadata
    return any(isinstance(m, (Vertex, Identity)) for m in metadata)


def problems_of(exc: ValidationError) -> list[SpecProblem]:
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


def _sentence(error: Any) -> str:
    message = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix):]
    if error["type"] in {"greater_than_equal", "less_than_equal", "greater_than", "less_than",
                         "too_long", "too_short", "string_too_long", "string_too_short"}:
        message = f"{message} (got {error['input']!r})"
    return message
