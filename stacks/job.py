"""The stack's TuningJob and the outputs serving apps read: the same on every stack."""

from __future__ import annotations

from typing import Any

import pulumi

from stacks.config import StackConfig
from stacks.datasets import training_tokens
from tuning_provider import TuningJob, TuningJobArgs

__all__ = ["declare_tuning_job", "export_job_outputs"]


def declare_tuning_job(
    config: StackConfig,
    dataset_uris: dict[str, Any],
    opts: pulumi.ResourceOptions | None = None,
    **placement: Any,
) -> TuningJob:
    """The TuningJob of a stack: its project, region and datasets, `tuning:job`'s settings,
    and what the stack program places it with (key, service account); outputs exported."""
    job = TuningJob(
        f"{config.name_prefix}-job",
        TuningJobArgs(
            project=config.project,
            location=config.region,
            training_dataset_uri=dataset_uris["training"],
            validation_dataset_uri=dataset_uris.get("validation"),
            # Checked locally before the upload: the preview's cost line and ceilings use it.
            training_dataset_tokens=training_tokens(config),
            **placement,
            **config.job,
        ),
        opts=opts,
    )
    export_job_outputs(job)
    return job


def export_job_outputs(job: TuningJob) -> None:
    pulumi.export("tuningJobName", job.name)
    pulumi.export("tuningJobState", job.state)
    pulumi.export("tunedModelName", job.tuned_model_name)
    pulumi.export("tunedModelEndpoint", job.tuned_model_endpoint)
    pulumi.export("checkpoints", job.checkpoints)
    pulumi.export("experiment", job.experiment)
    pulumi.export("metrics", job.metrics.apply(stack_metrics))
    pulumi.export("servingCheckpoint", job.serving_checkpoint)
    pulumi.export("estimatedTrainingTokens", job.estimated_training_tokens)
    pulumi.export("estimatedCostUsd", job.estimated_cost_usd)
    # What Vertex counted as billable in the training data (tuning_data_stats).
    pulumi.export("billableTokens", job.tuning_data_stats.apply(lambda stats: (stats or {}).get("tokens")))


# The resource's `metrics` keys (snake_case, as every resource output) -> the stack output's.
_STACK_METRIC_KEYS = {
    "train_loss": "trainLoss",
    "train_token_accuracy": "trainTokenAccuracy",
    "eval_loss": "evalLoss",
    "eval_token_accuracy": "evalTokenAccuracy",
    "step": "step",
    "epoch": "epoch",
}


def stack_metrics(metrics: dict[str, Any] | None) -> dict[str, Any] | None:
    """The `metrics` stack output: the resource's final training metrics, camelCase keys."""
    if metrics is None:
        return None
    return {stack_key: metrics.get(key) for key, stack_key in _STACK_METRIC_KEYS.items()}
