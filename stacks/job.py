"""The stack's TuningJob and the outputs serving apps read: the same on every stack."""

from __future__ import annotations

from typing import Any

import pulumi

from stacks.config import StackConfig
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
