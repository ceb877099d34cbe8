"""What the dev and prod stack programs create, as the mock engine records it
(tests/stacks/gcp_mocks.py): the resources, their region and protection, the datasets, the
local stack and a stack of several jobs."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path
from typing import Any

import pulumi
import pytest

from stacks.config import load_config
from stacks.datasets import dataset_object_name
from tests.stacks.gcp_mocks import (
    BUCKET,
    CMEK_MODEL,
    CRYPTO_KEY,
    EVERY_STACK_CREATES,
    JOB_OUTPUTS,
    KEY_MEMBER,
    KEY_RING,
    SERVICE,
    STORAGE_AGENT,
    TUNING_JOB,
    Deployment,
    deploy,
    stack_file_config,
    with_datasets,
)
from tuning_provider import catalog


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_shipped_stack_files_pass_todays_checks(stack: str, tmp_path: Path) -> None:
    config = load_config(with_datasets(stack_file_config(stack), tmp_path), today=date(2026, 11, 30))
    (entry,) = config.entries
    assert entry.inputs["base_model"] == entry.root_model == "gemini-3.5-flash" and config.job_cmek == "auto"
    assert catalog.MODELS["gemini-3.5-flash"].cmek is False and catalog.MODELS[CMEK_MODEL].cmek is True


# --- what each stack creates ----------------------------------------------------------------------

def test_the_shipped_stacks_create_the_key_and_grant_it_to_the_storage_agent_only(
    keyless: tuple[Deployment, dict[str, Any]],
) -> None:
    deployment, _ = keyless
    assert {name: r.type for name, r in deployment.resources.items()} == EVERY_STACK_CREATES


def test_with_a_model_that_takes_the_key_the_vertex_agent_is_granted_it_too(
    keyed: tuple[Deployment, dict[str, Any]],
) -> None:
    deployment, _ = keyed
    assert {name: r.type for name, r in deployment.resources.items()} == {
        **EVERY_STACK_CREATES, "vertex-ai-agent-uses-key": KEY_MEMBER,
    }


def test_the_apis_the_job_needs_are_enabled_and_never_disabled(cloud: tuple[Deployment, dict[str, Any]]) -> None:
    deployment, config = cloud
    services = deployment.of_type(SERVICE)
    assert {s.inputs["service"] for s in services} == {
        "aiplatform.googleapis.com", "storage.googleapis.com", "cloudkms.googleapis.com", "iam.googleapis.com"
    }
    for service in services:
        assert service.inputs["project"] == config["project"]
        assert service.inputs["disableOnDestroy"] is False
    # Each resource waits for the API it is created through.
    resources = deployment.resources
    assert "cloudkms-api" in resources["key-ring"].dependencies
    assert "storage-api" in resources["dataset-bucket"].dependencies
    assert "iam-api" in resources["job-service-account"].dependencies
    assert "aiplatform-api" in resources["vertex-ai-agent"].dependencies
    assert "aiplatform-api" in deployment.job.dependencies


def test_the_key_ring_and_key_are_in_the_jobs_region_and_rotate(cloud: tuple[Deployment, dict[str, Any]]) -> None:
    deployment, config = cloud
    ring, key = deployment.one(KEY_RING), deployment.one(CRYPTO_KEY)
    assert ring.inputs["location"] == config["region"]
    assert ring.inputs["project"] == config["project"]
    assert key.inputs["keyRing"] == (
        f"projects/{config['project']}/locations/{config['region']}/keyRings/gemini-tuning-ring"
    )
    assert key.inputs["rotationPeriod"] == f"{int(config['keyRotationDays']) * 86400}s"
    assert key.inputs["purpose"] == "ENCRYPT_DECRYPT"


def test_the_bucket_is_private_versioned_and_encrypted_with_the_key(
    cloud: tuple[Deployment, dict[str, Any]],
) -> None:
    deployment, config = cloud
    bucket = deployment.one(BUCKET).inputs
    assert bucket["name"] == f"{config['project']}-gemini-tuning-datasets"
    assert bucket["project"] == config["project"]
    assert bucket["uniformBucketLevelAccess"] is True
    assert bucket["publicAccessPrevention"] == "enforced"
    assert bucket["versioning"] == {"enabled": True}
    key = deployment.one(CRYPTO_KEY).inputs
    assert bucket["encryption"] == {"defaultKmsKeyName": f"{key['keyRing']}/cryptoKeys/{key['name']}"}
    assert deployment.outputs["kmsKeyName"] == bucket["encryption"]["defaultKmsKeyName"]
    # Only an unprotected (dev) bucket may be emptied by `pulumi destroy`.
    assert bucket["forceDestroy"] is (config["protect"] == "false")
    # A bucket whose default key the storage agent cannot use yet would fail to create.
    assert "storage-agent-uses-key" in deployment.resources["dataset-bucket"].dependencies
    grant = deployment.resources["storage-agent-uses-key"].inputs
    assert grant["cryptoKeyId"] == deployment.outputs["kmsKeyName"]
    assert grant["member"] == f"serviceAccount:{STORAGE_AGENT}"


def test_every_regional_resource_is_in_the_configured_region(cloud: tuple[Deployment, dict[str, Any]]) -> None:
    deployment, config = cloud
    region = config["region"]
    assert deployment.one(KEY_RING).inputs["location"] == region
    assert deployment.one(BUCKET).inputs["location"].lower() == region
    assert deployment.job.inputs["location"] == region
    assert f"/locations/{region}/" in deployment.outputs["kmsKeyName"]


def test_prod_protects_key_and_bucket_and_retains_the_tuned_model(prod: Deployment, prod_cmek: Deployment) -> None:
    for deployment in (prod, prod_cmek):
        protected = {name for name, r in deployment.resources.items() if r.protect}
        assert protected == {"key-ring", "dataset-key", "dataset-bucket"}
        assert deployment.job.retain_on_delete is True
        assert deployment.job.protect is False  # a changed setting must still be able to retrain


def test_dev_protects_nothing(dev: Deployment, dev_cmek: Deployment) -> None:
    for deployment in (dev, dev_cmek):
        assert not any(r.protect or r.retain_on_delete for r in deployment.resources.values())


# --- datasets -----------------------------------------------------------------------------------

def test_datasets_are_uploaded_under_content_addressed_names(cloud: tuple[Deployment, dict[str, Any]]) -> None:
    deployment, config = cloud
    bucket = deployment.one(BUCKET).inputs["name"]
    for kind, key in (("training", "trainingData"), ("validation", "validationData")):
        path = Path(config[key])
        obj = deployment.resources[f"{kind}-data"].inputs
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        assert obj["name"] == f"datasets/{path.stem}-{digest}.jsonl"
        assert obj["bucket"] == bucket
        assert isinstance(obj["source"], pulumi.FileAsset) and obj["source"].path == str(path)
        assert deployment.outputs[f"{kind}DatasetUri"] == f"gs://{bucket}/{obj['name']}"


def test_changed_training_data_is_a_new_object_and_so_a_new_job(
    dev: Deployment, dev_config: dict[str, Any], tmp_path: Path
) -> None:
    changed = with_datasets(dev_config, tmp_path)
    train = Path(changed["trainingData"])
    train.write_text(train.read_text() + train.read_text().splitlines()[0] + "\n")
    after = deploy(changed, "dev")
    before_name = dev.resources["training-data"].inputs["name"]
    after_name = after.resources["training-data"].inputs["name"]
    assert after_name != before_name == dataset_object_name(Path(dev_config["trainingData"]))
    # training_dataset_uri reaches Vertex, so the provider's diff plans a replacement for it.
    assert after.job.inputs["training_dataset_uri"] != dev.job.inputs["training_dataset_uri"]
    assert after.job.inputs["training_dataset_uri"].endswith(after_name)
    # Unchanged validation data keeps its object.
    assert after.resources["validation-data"].inputs["name"] == dev.resources["validation-data"].inputs["name"]


# --- the local stack ----------------------------------------------------------------------------

def test_the_local_stack_still_creates_only_the_job(tmp_path: Path) -> None:
    config = {**with_datasets(stack_file_config("local"), tmp_path), "localGcsDir": str(tmp_path / "gcs")}
    deployment = deploy(config, "local")
    assert [r.type for r in deployment.resources.values()] == [TUNING_JOB]
    assert deployment.job.inputs["training_dataset_uri"].startswith("gs://local-tuning-datasets/datasets/train-")
    assert set(deployment.outputs) == JOB_OUTPUTS


# --- several jobs ---------------------------------------------------------------------------------

def test_two_named_jobs_each_wait_for_their_data_and_export_under_jobs(dev_config: dict[str, Any],
                                                                        tmp_path: Path) -> None:
    support = tmp_path / "support.jsonl"
    support.write_text(Path(dev_config["validationData"]).read_text())
    config = {**dev_config, "jobs": {"reviews": {}, "support": {"trainingData": str(support), "epoch_count": 5}}}
    deployment = deploy(config, "dev")
    jobs = {job.name: job for job in deployment.of_type(TUNING_JOB)}
    assert set(jobs) == {"gemini-tuning-reviews", "gemini-tuning-support"}
    reviews, other = jobs["gemini-tuning-reviews"], jobs["gemini-tuning-support"]
    assert {"training-data", "validation-data"} <= reviews.dependencies
    assert "support-training-data" in other.dependencies  # its own file, uploaded as its own object
    assert other.inputs["epoch_count"] == 5 and reviews.inputs["epoch_count"] == config["job"]["epoch_count"]
    assert other.inputs["validation_dataset_uri"] == reviews.inputs["validation_dataset_uri"]  # shared
    assert other.inputs["training_dataset_uri"] != reviews.inputs["training_dataset_uri"]
    assert set(deployment.outputs["jobs"]) == {"reviews", "support"}
    assert "tunedModelEndpoint" not in deployment.outputs  # a serving app reads jobs.NAME.tunedModelEndpoint
