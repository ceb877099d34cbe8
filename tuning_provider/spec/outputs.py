"""What a TuningJob reports back (`TuningJobOutputs`) and the models nested in it.

The outputs are the resource's, beside its inputs: every face, the typed SDKs, the schema and
the reference tables read them from here. `Serving` marks the ones that name what serves.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from tuning_provider.spec.markers import PropertyName, Serving, marked

__all__ = ["Checkpoint", "DataStats", "EvaluationRun", "Metrics", "TuningJobOutputs", "serving_outputs"]


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
    return tuple(name for name, _ in marked(TuningJobOutputs, Serving))


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
