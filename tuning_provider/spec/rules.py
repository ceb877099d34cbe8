"""The rules between a job's inputs: what one field's value allows of another's.

They run on normalised values, as plain data: `TuningJobSpec` runs them on a whole spec, and
`spec_problems` on a partly known one (a preview), skipping each rule whose fields it lacks.
The catalog says what each base model allows; the rules say it about the inputs in hand.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from tuning_provider import catalog
from tuning_provider.names import DatasetName, KmsKeyName, ModelName

__all__ = ["EVAL_FIELDS", "base_model_problems", "cross_field_problems"]

# The quality gate's inputs (TuningJobSpec's min_eval_token_accuracy and max_eval_loss): they
# need eval metrics, hence validation data. A deliberate selection of the spec's fields, named
# once here; tests/spec checks that they are the fields whose description says "Quality gate",
# and tests/policy that the policy pack's copy (its venv has no pydantic) is the same.
EVAL_FIELDS = ("min_eval_token_accuracy", "max_eval_loss")
# The inputs of the catalog's rules for a base model (base_model_problems).
_BASE_MODEL_RULES = frozenset({"location", "adapter_size", "kms_key_name"})

Problem = tuple[str, str]  # (the input at fault, a sentence with the fix)


def cross_field_problems(
    values: Mapping[str, Any], unknown: frozenset[str] = frozenset(), names: Mapping[str, str] | None = None,
) -> Iterator[Problem]:
    """Rules between fields, on normalised values. A rule whose fields are absent or in
    `unknown` (unknown in a preview) is skipped, so check can run it on a partly known spec.
    A fix names an input as its user sets it: `names` maps the input to that (a stack setting
    such as tuning:region), the input's own name otherwise."""
    inputs = _Inputs(values, unknown, names or {})
    yield from _continuous_tuning(inputs)
    yield from _base_model_limits(inputs)
    yield from _regional_resources(inputs)
    yield from _validation_data(inputs)


def base_model_problems(values: Mapping[str, Any], base_model_id: str) -> list[Problem]:
    """The catalog's rules (region, adapter size, CMEK) for a tuned model's own base model,
    `base_model_id`: continuous tuning keeps the base model's limits."""
    return [(f, m) for f, m in cross_field_problems({**values, "base_model": base_model_id})
            if f in _BASE_MODEL_RULES]


@dataclass(frozen=True)
class _Inputs:
    """The values the rules read, and how the user names each input in a fix."""

    values: Mapping[str, Any]
    unknown: frozenset[str]
    names: Mapping[str, str]

    def name(self, field: str) -> str:
        return self.names.get(field, field)

    @property
    def location(self) -> Any:
        return self.values.get("location")

    @cached_property
    def model(self) -> catalog.BaseModelInfo | None:
        """The catalog's entry of a Google base model (None for a tuned one, or none known)."""
        base_model = self.values.get("base_model")
        return catalog.find_model(base_model) if base_model else None

    @cached_property
    def tuned_in(self) -> str | None:
        """The region of the tuned model that base_model names (continuous tuning), or None."""
        base_model = self.values.get("base_model")
        tuned = ModelName.parse(base_model) if base_model else None
        return tuned.location if tuned else None


def _continuous_tuning(inputs: _Inputs) -> Iterator[Problem]:
    location, tuned_in = inputs.location, inputs.tuned_in
    if tuned_in and location and tuned_in != location:
        yield "base_model", (
            f"the tuned model is in {tuned_in} but the job runs in {location}; continuous tuning "
            f"runs in the tuned model's region: change {inputs.name('location')}"
        )
    if inputs.values.get("pre_tuned_model_checkpoint_id") and inputs.values.get("base_model") and not tuned_in:
        yield "pre_tuned_model_checkpoint_id", (
            "applies only when base_model names a tuned model (continuous tuning); remove it or "
            f"set {inputs.name('base_model')} to projects/PROJECT/locations/REGION/models/ID"
        )


def _base_model_limits(inputs: _Inputs) -> Iterator[Problem]:
    """What the catalog says the base model allows: its regions, adapter sizes and CMEK."""
    info, location = inputs.model, inputs.location
    if info and location and location not in info.regions:
        yield "location", (
            f"{info.id} is tuned only in {', '.join(sorted(info.regions))}; "
            f"change {inputs.name('location')} or {inputs.name('base_model')}"
        )
    size = inputs.values.get("adapter_size")
    if info and size and catalog.adapter_size_number(size) not in info.adapter_sizes:
        yield "adapter_size", (
            f"{info.id} supports adapter sizes {', '.join(map(str, info.adapter_sizes))}, "
            f"not {catalog.adapter_size_number(size)}"
        )
    key = inputs.values.get("kms_key_name")
    if key:
        key_name = KmsKeyName.parse(key)
        if info and not info.cmek:
            yield "kms_key_name", (
                f"{info.id} does not support customer-managed keys; remove {inputs.name('kms_key_name')}"
            )
        elif key_name and location and key_name.location != location:
            yield "kms_key_name", (
                f"the key is in {key_name.location} but the job runs in {location}; "
                "use a key in the job's region"
            )


def _regional_resources(inputs: _Inputs) -> Iterator[Problem]:
    """Vertex datasets and evaluation, which a job reaches only in their own regions."""
    location = inputs.location
    for field in ("training_dataset_uri", "validation_dataset_uri"):
        dataset = DatasetName.parse(inputs.values.get(field) or "")
        if dataset and location and dataset.location != location:
            yield field, (
                f"the dataset is in {dataset.location} but the job runs in {location}; a job "
                "reads a Vertex dataset only in the dataset's own region"
            )
    regions = catalog.EVALUATION_REGIONS
    if inputs.values.get("evaluation_config") and location and location not in regions:
        yield "evaluation_config", (
            f"evaluation during tuning runs only in {', '.join(sorted(regions))}, not {location}; "
            f"remove {inputs.name('evaluation_config')} or change {inputs.name('location')}"
        )


def _validation_data(inputs: _Inputs) -> Iterator[Problem]:
    """What needs held-out validation data (eval metrics), and the checkpoints to compare."""
    values = inputs.values
    train, val = values.get("training_dataset_uri"), values.get("validation_dataset_uri")
    if train and val and train == val:
        yield "validation_dataset_uri", "is the training file itself; use a held-out validation file"
    # Eval metrics exist only with validation data.
    if not val and "validation_dataset_uri" not in inputs.unknown:
        for field in EVAL_FIELDS:
            if values.get(field) is not None:
                yield field, ("needs eval metrics, which Vertex computes only with validation data: "
                              f"set {inputs.name('validation_dataset_uri')}")
        if values.get("serve_checkpoint") == "best_eval_loss":
            yield "serve_checkpoint", (
                "best_eval_loss compares the checkpoints' eval loss, which needs validation data: "
                f"set {inputs.name('validation_dataset_uri')}"
            )
    if values.get("serve_checkpoint") == "best_eval_loss" and values.get("export_last_checkpoint_only"):
        yield "serve_checkpoint", (
            "best_eval_loss chooses among intermediate checkpoints, but export_last_checkpoint_only "
            f"keeps only the last: set {inputs.name('export_last_checkpoint_only')} to false"
        )
