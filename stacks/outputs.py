"""The stack outputs serving apps read; the same names on every stack."""

from __future__ import annotations

import pulumi

from tuning_provider import TuningJob

__all__ = ["export_job_outputs"]


def export_job_outputs(job: TuningJob) -> None:
    pulumi.export("tuningJobName", job.name)
    pulumi.export("tuningJobState", job.state)
    pulumi.export("tunedModelName", job.tuned_model_name)
    pulumi.export("tunedModelEndpoint", job.tuned_model_endpoint)
    pulumi.export("checkpoints", job.checkpoints)
    pulumi.export("experiment", job.experiment)
