"""vertex/convert.py spells the spec's Vertex settings as google-genai wants them, and reads
them back from a job (`creation_settings`, for `pulumi import`): a second spelling of the
fields, held equal to the spec's `Vertex` markers here."""

from __future__ import annotations

from typing import Any

from google.genai import types

from tuning_provider.spec import FINGERPRINT_LABEL, TuningJobSpec, inputs_of_vertex_settings
from tuning_provider.spec.markers import Vertex, marked
from tuning_provider.vertex.convert import creation_settings, record

PROJECT = "test-project"
LOCATION = f"projects/{PROJECT}/locations/us-central1"
SOURCE = f"{LOCATION}/models/7@1"
KEY = f"{LOCATION}/keyRings/r/cryptoKeys/k"
EVALUATION = {"metrics": [{"name": "bleu"}],
              "output_config": {"gcs_destination": {"output_uri_prefix": "gs://b/eval/"}}}


def every_setting() -> dict[str, Any]:
    """A job's inputs with every Vertex setting away from its default."""
    return {
        "project": PROJECT, "location": "us-central1", "base_model": SOURCE,
        "training_dataset_uri": "gs://tuning-data/train.jsonl", "validation_dataset_uri": "gs://tuning-data/validation.jsonl",
        "epoch_count": 3, "adapter_size": 8, "learning_rate_multiplier": 0.5, "export_last_checkpoint_only": True,
        "tuned_model_display_name": "reviews", "description": "with more data", "labels": {"team": "ml"},
        "kms_key_name": KEY, "service_account": "tuning-job@test-project.iam.gserviceaccount.com",
        "evaluation_config": EVALUATION, "pre_tuned_model_checkpoint_id": "2",
    }


def as_vertex_reports_it(spec: TuningJobSpec) -> types.TuningJob:
    """The job Vertex reports after a create with `spec`'s settings (a continued job: its
    source in preTunedModel), as google-genai parses it."""
    return types.TuningJob.model_validate({
        "name": f"{LOCATION}/tuningJobs/1",
        "state": "JOB_STATE_SUCCEEDED",
        "pre_tuned_model": {"tuned_model_name": spec.base_model,
                            "checkpoint_id": spec.pre_tuned_model_checkpoint_id},
        "supervised_tuning_spec": {
            "training_dataset_uri": spec.training_dataset_uri,
            "validation_dataset_uri": spec.validation_dataset_uri,
            "export_last_checkpoint_only": spec.export_last_checkpoint_only,
            "hyper_parameters": {"epoch_count": spec.epoch_count, "adapter_size": spec.adapter_size,
                                 "learning_rate_multiplier": spec.learning_rate_multiplier},
        },
        "tuned_model_display_name": spec.tuned_model_display_name,
        "description": spec.description,
        "labels": {**spec.labels, FINGERPRINT_LABEL: spec.fingerprint()},
        "encryption_spec": {"kms_key_name": spec.kms_key_name},
        "service_account": spec.service_account,
        "evaluation_config": spec.evaluation_config,
    })


def test_creation_settings_name_every_vertex_setting_of_the_spec() -> None:
    spec = TuningJobSpec.model_validate(every_setting())
    settings = creation_settings(record(as_vertex_reports_it(spec)))
    assert set(settings) == {marker.sdk for _, marker in marked(TuningJobSpec, Vertex)}


def test_a_jobs_settings_read_back_are_the_inputs_it_was_created_with() -> None:
    spec = TuningJobSpec.model_validate(every_setting())
    read_back = inputs_of_vertex_settings(creation_settings(record(as_vertex_reports_it(spec))))
    assert TuningJobSpec.model_validate({"project": PROJECT, "location": "us-central1", **read_back}) == spec
