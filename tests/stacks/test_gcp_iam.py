"""The dev and prod stacks' identity, IAM grants and the job they declare: what it waits for,
the key it uses (tuning:jobCmek) and the outputs serving apps read."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pulumi
import pytest

from stacks.gcp import _tuning_agent_member
from tests.stacks.gcp_mocks import (
    ACCOUNT_MEMBER,
    BUCKET,
    BUCKET_MEMBER,
    CLOUD_OUTPUTS,
    CMEK_MODEL,
    EVERY_STACK_CREATES,
    KEY_MEMBER,
    PRIMITIVE_ROLES,
    PROJECT_MEMBER,
    ROOT,
    STORAGE_AGENT,
    TUNING_AGENT,
    VERTEX_AGENT,
    Deployment,
    deploy,
    with_datasets,
)

# --- identity and IAM -----------------------------------------------------------------------------

def _grants(deployment: Deployment) -> set[tuple[str, str, str, str]]:
    """Every IAM grant as (binding type, role, on what, to whom)."""
    target = {KEY_MEMBER: "cryptoKeyId", BUCKET_MEMBER: "bucket", ACCOUNT_MEMBER: "serviceAccountId",
              PROJECT_MEMBER: "project"}
    return {(b.type, b.inputs["role"], b.inputs[target[b.type]], b.inputs["member"]) for b in deployment.bindings}


def test_the_exact_iam_grants(cloud: tuple[Deployment, dict[str, Any]]) -> None:
    deployment, config = cloud
    job_uses_the_key = config["job"]["base_model"] == CMEK_MODEL
    project = config["project"]
    job_sa = f"gemini-tuning-job@{project}.iam.gserviceaccount.com"
    key = deployment.outputs["kmsKeyName"]
    bucket = deployment.outputs["bucket"]
    assert _grants(deployment) == {
        (PROJECT_MEMBER, "roles/aiplatform.tuningServiceAgent", project, f"serviceAccount:{job_sa}"),
        (BUCKET_MEMBER, "roles/storage.objectViewer", bucket, f"serviceAccount:{job_sa}"),
        (ACCOUNT_MEMBER, "roles/iam.serviceAccountTokenCreator", f"projects/{project}/serviceAccounts/{job_sa}",
         f"serviceAccount:{TUNING_AGENT}"),
        (ACCOUNT_MEMBER, "roles/iam.serviceAccountUser", f"projects/{project}/serviceAccounts/{job_sa}",
         config["deployer"]),
        (KEY_MEMBER, "roles/cloudkms.cryptoKeyEncrypterDecrypter", key, f"serviceAccount:{STORAGE_AGENT}"),
    } | ({(KEY_MEMBER, "roles/cloudkms.cryptoKeyEncrypterDecrypter", key, f"serviceAccount:{VERTEX_AGENT}")}
         if job_uses_the_key else set())


def test_no_primitive_or_project_wide_storage_role_is_granted(cloud: tuple[Deployment, dict[str, Any]]) -> None:
    deployment, _ = cloud
    roles = {b.inputs["role"] for b in deployment.bindings}
    assert not roles & PRIMITIVE_ROLES
    project_roles = {b.inputs["role"] for b in deployment.of_type(PROJECT_MEMBER)}
    assert project_roles == {"roles/aiplatform.tuningServiceAgent"}


def test_without_a_deployer_the_role_set_is_the_jobs_own(dev_config: dict[str, Any], tmp_path: Path) -> None:
    config = {k: v for k, v in with_datasets(dev_config, tmp_path).items() if k != "deployer"}
    deployment = deploy(config, "dev")
    assert {b.inputs["role"] for b in deployment.bindings} == {
        "roles/aiplatform.tuningServiceAgent",
        "roles/storage.objectViewer",
        "roles/iam.serviceAccountTokenCreator",
        "roles/cloudkms.cryptoKeyEncrypterDecrypter",
    }


def test_the_tuning_agent_comes_from_the_vertex_agents_project_number() -> None:
    assert _tuning_agent_member(VERTEX_AGENT) == f"serviceAccount:{TUNING_AGENT}"
    with pytest.raises(ValueError, match="documented form"):
        _tuning_agent_member("someone@example.com")


# --- the job ------------------------------------------------------------------------------------

def test_the_job_waits_for_every_binding_and_dataset(cloud: tuple[Deployment, dict[str, Any]]) -> None:
    deployment, _ = cloud
    waits_for = deployment.job.dependencies
    assert {b.name for b in deployment.bindings} <= waits_for
    assert {"training-data", "validation-data", "aiplatform-api", "vertex-ai-agent"} <= waits_for


def test_the_job_uses_the_key_and_waits_for_the_vertex_agents_grant(keyed: tuple[Deployment, dict[str, Any]]) -> None:
    deployment, _ = keyed
    assert deployment.job.inputs["kms_key_name"] == deployment.outputs["kmsKeyName"]
    assert "vertex-ai-agent-uses-key" in deployment.job.dependencies
    grant = deployment.resources["vertex-ai-agent-uses-key"].inputs
    assert grant["cryptoKeyId"] == deployment.outputs["kmsKeyName"]
    assert grant["member"] == f"serviceAccount:{VERTEX_AGENT}"


def test_a_job_whose_model_cannot_take_the_key_runs_without_it(keyless: tuple[Deployment, dict[str, Any]]) -> None:
    deployment, _ = keyless
    assert "kms_key_name" not in deployment.job.inputs
    assert "vertex-ai-agent-uses-key" not in deployment.resources


def test_the_job_gets_the_uploaded_uris_and_the_service_account(
    cloud: tuple[Deployment, dict[str, Any]],
) -> None:
    deployment, config = cloud
    job = deployment.job.inputs
    assert job["project"] == config["project"]
    assert job["training_dataset_uri"] == deployment.outputs["trainingDatasetUri"]
    assert job["validation_dataset_uri"] == deployment.outputs["validationDatasetUri"]
    assert job["training_dataset_uri"].startswith(f"gs://{deployment.outputs['bucket']}/datasets/train-")
    assert job["service_account"] == f"gemini-tuning-job@{config['project']}.iam.gserviceaccount.com"
    # The job settings come from tuning:job unchanged.
    for name, value in config["job"].items():
        assert job[name] == value
    # The training data's token estimate, for the preview's cost line and ceilings.
    from tuning_provider.dataset import validate_dataset

    assert job["training_dataset_tokens"] == validate_dataset(ROOT / config["trainingData"]).estimated_tokens
    assert job["validate_dataset"] is False  # the program checked those files before uploading them
    assert job["max_training_tokens"] > job["training_dataset_tokens"] * job["epoch_count"]


def test_the_outputs_serving_apps_read(cloud: tuple[Deployment, dict[str, Any]]) -> None:
    deployment, config = cloud
    outputs = deployment.outputs
    assert set(outputs) == CLOUD_OUTPUTS
    assert outputs["tuningJobName"].endswith("/tuningJobs/42")
    assert outputs["tuningJobState"] == "SUCCEEDED"
    assert outputs["tunedModelEndpoint"].endswith("/endpoints/9")
    assert outputs["tunedModelName"].endswith("/models/7@1")
    assert outputs["checkpoints"] == []
    assert "tuning-experiment-42" in outputs["experiment"]
    # The resource's snake_case metrics as the camelCase stack output serving apps read.
    assert outputs["metrics"] == {"trainLoss": 0.2, "trainTokenAccuracy": 0.9, "evalLoss": 0.3,
                                  "evalTokenAccuracy": 0.85, "step": 57, "epoch": 3}
    assert outputs["billableTokens"] == 26_000 and outputs["estimatedTrainingTokens"] == 26_256
    assert outputs["kmsKeyName"] == (
        f"projects/{config['project']}/locations/{config['region']}/keyRings/gemini-tuning-ring"
        "/cryptoKeys/gemini-tuning-key"
    )
    assert outputs["serviceAccount"] == f"gemini-tuning-job@{config['project']}.iam.gserviceaccount.com"


# --- the job's key: tuning:jobCmek -------------------------------------------------------------

def test_job_cmek_off_keeps_the_key_and_bucket_encryption_but_the_job_runs_without_it(
    dev_cmek_config: dict[str, Any], tmp_path: Path
) -> None:
    deployment = deploy({**with_datasets(dev_cmek_config, tmp_path), "jobCmek": "off"}, "dev")
    assert {name: r.type for name, r in deployment.resources.items()} == EVERY_STACK_CREATES
    assert deployment.one(BUCKET).inputs["encryption"] == {"defaultKmsKeyName": deployment.outputs["kmsKeyName"]}
    assert "kms_key_name" not in deployment.job.inputs
    assert {b.name for b in deployment.bindings} <= deployment.job.dependencies


def test_job_cmek_required_sets_the_key_for_a_model_that_takes_it(
    prod_cmek_config: dict[str, Any], prod_cmek: Deployment
) -> None:
    deployment = deploy({**prod_cmek_config, "jobCmek": "required"}, "prod")
    assert deployment.job.inputs["kms_key_name"] == deployment.outputs["kmsKeyName"]
    assert set(deployment.resources) == set(prod_cmek.resources)


def test_job_cmek_required_fails_for_a_model_that_cannot_take_a_key_naming_it(dev_config: dict[str, Any]) -> None:
    registered: list[str] = []
    with pytest.raises(pulumi.RunError) as raised:
        deploy({**dev_config, "jobCmek": "required"}, "dev", registered)
    assert registered == ["pulumi:pulumi:Stack"]
    assert ("tuning:jobCmek: is required, but gemini-3.5-flash cannot take a customer-managed key for its "
            "tuning job") in str(raised.value)


def test_the_preview_says_in_one_line_why_the_job_runs_without_the_key(
    dev_config: dict[str, Any], dev_cmek_config: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    # The mock engine hands the program's log lines to Python's logging.
    caplog.set_level(logging.INFO)
    deploy(dev_config, "dev", preview=True)
    lines = [r.getMessage() for r in caplog.records if "without the stack's key" in r.getMessage()]
    assert lines == ["gemini-tuning-job: the tuning job runs without the stack's key: gemini-3.5-flash cannot take "
                     "a customer-managed key for tuning (tuning_provider/catalog.py). The training data in the "
                     "bucket is encrypted with the key all the same"]
    caplog.clear()
    deploy(dev_cmek_config, "dev", preview=True)
    deploy(dev_config, "dev")  # the update itself: said at preview already
    assert not [r for r in caplog.records if "without the stack's key" in r.getMessage()]
