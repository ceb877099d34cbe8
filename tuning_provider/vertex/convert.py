"""google-genai's types and this package's, both ways: a TuningJob as a `JobRecord`, a spec as
the arguments of `tunings.tune`, and a job's record as the settings it was created with (what
`pulumi import` reads back). No calls: pure conversions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tuning_provider.errors import SpecError
from tuning_provider.lazy import lazy_module
from tuning_provider.names import is_vertex_dataset
from tuning_provider.records import JobRecord, JobState
from tuning_provider.spec import (
    FINGERPRINT_LABEL,
    Checkpoint,
    DataStats,
    EvaluationRun,
    TuningJobOutputs,
    TuningJobSpec,
)
from tuning_provider.times import rfc3339

if TYPE_CHECKING:
    from google.genai import types
else:
    types = lazy_module("google.genai.types")

__all__ = ["creation_settings", "evaluation_config_problem", "record", "tune_arguments"]


def record(job: types.TuningJob) -> JobRecord:
    """The JobRecord of a google-genai TuningJob."""
    tuned = job.tuned_model
    sft = job.supervised_tuning_spec
    hyper = sft.hyper_parameters if sft else None
    # A continued job names its tuned model in preTunedModel, not in baseModel.
    base_model = job.base_model or (job.pre_tuned_model.tuned_model_name if job.pre_tuned_model else None)
    outputs = TuningJobOutputs(
        name=job.name or "",
        state=JobState.of(job.state.value if job.state is not None else None).value,
        tuned_model_name=tuned.model if tuned else None,
        tuned_model_endpoint=tuned.endpoint if tuned else None,
        checkpoints=[
            Checkpoint(checkpoint_id=c.checkpoint_id or "", epoch=c.epoch, step=c.step, endpoint=c.endpoint)
            for c in (tuned.checkpoints or [] if tuned else [])
        ],
        experiment=job.experiment,
        error=(job.error.message or f"error code {job.error.code}") if job.error else None,
        tuning_data_stats=_data_stats(job),
        tuning_state_detail=(
            job.tuning_job_state.value.removeprefix("TUNING_JOB_STATE_") if job.tuning_job_state else None
        ),
        completed_epoch_count=job.tuning_job_metadata.completed_epoch_count if job.tuning_job_metadata else None,
        update_time=rfc3339(job.update_time),
        pre_tuned_base_model=job.pre_tuned_model.base_model if job.pre_tuned_model else None,
        evaluation_runs=[_evaluation_run(run) for run in job.evaluate_dataset_runs or []],
        create_time=rfc3339(job.create_time),
        start_time=rfc3339(job.start_time),
        end_time=rfc3339(job.end_time),
    )
    return JobRecord(
        outputs=outputs,
        base_model=base_model,
        display_name=job.tuned_model_display_name,
        description=job.description,
        labels=dict(job.labels or {}),
        training_dataset_uri=sft.training_dataset_uri if sft else None,
        validation_dataset_uri=sft.validation_dataset_uri if sft else None,
        hyper_parameters={
            "epoch_count": hyper.epoch_count,
            "adapter_size": hyper.adapter_size.value if hyper.adapter_size else None,
            "learning_rate_multiplier": hyper.learning_rate_multiplier,
        } if hyper else {},
        export_last_checkpoint_only=bool(sft.export_last_checkpoint_only) if sft else False,
        kms_key_name=job.encryption_spec.kms_key_name if job.encryption_spec else None,
        service_account=job.service_account,
        evaluation_config=job.evaluation_config.model_dump(exclude_none=True) if job.evaluation_config else None,
        pre_tuned_model_checkpoint_id=job.pre_tuned_model.checkpoint_id if job.pre_tuned_model else None,
    )


def creation_settings(job: JobRecord) -> dict[str, Any]:
    """What the job was created with, keyed by google-genai's names as `TuningJobSpec.vertex_settings`
    keys them (its `Vertex` markers), None where Vertex reports nothing; the fingerprint label left out."""
    return {
        "base_model": job.base_model,
        "training_dataset": job.training_dataset_uri,
        "validation_dataset": job.validation_dataset_uri,
        **job.hyper_parameters,
        "export_last_checkpoint_only": job.export_last_checkpoint_only,
        "tuned_model_display_name": job.display_name,
        "description": job.description,
        "labels": {k: v for k, v in job.labels.items() if k != FINGERPRINT_LABEL},
        "kms_key_name": job.kms_key_name,
        "service_account": job.service_account,
        "evaluation_config": job.evaluation_config,
        "pre_tuned_model_checkpoint_id": job.pre_tuned_model_checkpoint_id,
    }


def _data_stats(job: types.TuningJob) -> DataStats | None:
    stats = job.tuning_data_stats.supervised_tuning_data_stats if job.tuning_data_stats else None
    if stats is None:
        return None
    return DataStats(
        examples=stats.tuning_dataset_example_count,
        characters=stats.total_tuning_character_count,
        tokens=stats.total_billable_token_count,
        steps=stats.tuning_step_count,
        billable_characters=stats.total_billable_character_count,
        truncated_examples=stats.total_truncated_example_count,
        dropped_example_reasons=list(stats.dropped_example_reasons or []),
    )


def _evaluation_run(run: types.EvaluateDatasetRun) -> EvaluationRun:
    response = run.evaluate_dataset_response
    output = response.output_info if response else None
    return EvaluationRun(
        checkpoint_id=run.checkpoint_id,
        output_directory=output.gcs_output_directory if output else None,
        operation_name=run.operation_name,
        error=(run.error.message or f"error code {run.error.code}") if run.error else None,
    )


def _evaluation_config(value: dict[str, Any]) -> types.EvaluationConfig:
    try:
        return types.EvaluationConfig.model_validate(value)
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        first = str(exc).splitlines()[1:3]
        raise SpecError.at("evaluation_config", f"google-genai cannot read it: {' '.join(first).strip()}",
                           value) from exc


def evaluation_config_problem(value: dict[str, Any]) -> str | None:
    """Why google-genai would refuse this evaluation_config (metric names, autorater fields), or None."""
    try:
        _evaluation_config(value)
    except SpecError as exc:
        return exc.message
    return None


def _dataset_source(data: str) -> dict[str, str]:
    # google-genai puts either in the same REST field (trainingDatasetUri), so v1 carries both.
    return {"vertex_dataset_resource": data} if is_vertex_dataset(data) else {"gcs_uri": data}


def tune_arguments(spec: TuningJobSpec, labels: dict[str, str]) -> dict[str, Any]:
    """google-genai's tune() arguments from the spec's Vertex settings."""
    settings = spec.vertex_settings()
    base_model = settings.pop("base_model")
    training = types.TuningDataset.model_validate(_dataset_source(settings.pop("training_dataset")))
    if "validation_dataset" in settings:
        validation = _dataset_source(settings["validation_dataset"])
        settings["validation_dataset"] = types.TuningValidationDataset.model_validate(validation)
    if "evaluation_config" in settings:
        settings["evaluation_config"] = _evaluation_config(settings["evaluation_config"])
    if "kms_key_name" in settings:
        settings["encryption_spec"] = types.EncryptionSpec(kms_key_name=settings.pop("kms_key_name"))
    service_account = settings.pop("service_account", None)
    if service_account:
        # CreateTuningJobConfig has no service account field; the REST body does.
        settings["http_options"] = types.HttpOptions(extra_body={"serviceAccount": service_account})
    settings["labels"] = labels
    return {
        "base_model": base_model,
        "training_dataset": training,
        "config": types.CreateTuningJobConfig(**settings),
    }
