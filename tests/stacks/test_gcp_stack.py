"""The dev and prod stack programs, built under Pulumi's mocks from their own Pulumi.<stack>.yaml.

Each build runs the real program (`stacks.run`, as __main__.py does) against a mock engine that
records every registered resource: its type, inputs, the dependencies and options (protect,
retainOnDelete) the program sent with it. The tests assert on that record, as a reviewer would
read a preview. Datasets are copied to temporary files so that a test can change their content.

Each stack is built twice: as shipped (gemini-3.5-flash, which cannot take a customer-managed key
for tuning: the key and the encrypted bucket exist, the job runs without the key), and with the
last model that could (gemini-2.5-flash), on a day it could still be tuned, handed to the program
as its clock: the job then uses the key, and the Vertex AI agent is granted it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pulumi
import pytest
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs, Mocks

import stacks
from stacks.config import load_config
from stacks.config_file import read_stack_file
from stacks.datasets import dataset_object_name
from stacks.gcp import _tuning_agent_member
from tuning_provider import catalog
from tuning_provider.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
PROJECT_NUMBER = "123456789012"
VERTEX_AGENT = f"service-{PROJECT_NUMBER}@gcp-sa-aiplatform.iam.gserviceaccount.com"
STORAGE_AGENT = f"service-{PROJECT_NUMBER}@gs-project-accounts.iam.gserviceaccount.com"
TUNING_AGENT = f"service-{PROJECT_NUMBER}@gcp-sa-vertex-tune.iam.gserviceaccount.com"

SERVICE = "gcp:projects/service:Service"
SERVICE_IDENTITY = "gcp:projects/serviceIdentity:ServiceIdentity"
KEY_RING = "gcp:kms/keyRing:KeyRing"
CRYPTO_KEY = "gcp:kms/cryptoKey:CryptoKey"
KEY_MEMBER = "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember"
BUCKET = "gcp:storage/bucket:Bucket"
OBJECT = "gcp:storage/bucketObject:BucketObject"
BUCKET_MEMBER = "gcp:storage/bucketIAMMember:BucketIAMMember"
ACCOUNT = "gcp:serviceaccount/account:Account"
ACCOUNT_MEMBER = "gcp:serviceaccount/iAMMember:IAMMember"
PROJECT_MEMBER = "gcp:projects/iAMMember:IAMMember"
TUNING_JOB = "pulumi-python:dynamic/vertex:TuningJob"
STACK_REFERENCE = "pulumi:pulumi:StackReference"
IAM_TYPES = {KEY_MEMBER, BUCKET_MEMBER, ACCOUNT_MEMBER, PROJECT_MEMBER}
PRIMITIVE_ROLES = {"roles/owner", "roles/editor", "roles/viewer"}

JOB_OUTPUTS = {"tuningJobName", "tuningJobState", "tunedModelName", "tunedModelEndpoint", "checkpoints", "experiment",
               "metrics", "servingCheckpoint", "estimatedTrainingTokens", "estimatedCostUsd", "tuningStateDetail",
               "completedEpochCount", "billableTokens"}
CLOUD_OUTPUTS = JOB_OUTPUTS | {"bucket", "trainingDatasetUri", "validationDatasetUri", "kmsKeyName", "serviceAccount"}


# --- the mock engine -----------------------------------------------------------------------------

class CloudMocks(Mocks):
    """Answers like Google Cloud would (real-looking ids, emails and key names) and keeps the
    inputs of every resource by name. A stack reference reads `stack_outputs` (by stack name;
    none: a stack that has not run)."""

    def __init__(self, stack_outputs: dict[str, dict[str, Any]] | None = None) -> None:
        self.inputs: dict[str, dict[str, Any]] = {}
        self.stack_outputs = stack_outputs or {}

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        inputs = dict(args.inputs)
        self.inputs[args.name] = inputs
        extra: dict[str, Any] = {}
        if args.typ == STACK_REFERENCE:
            id_ = str(args.resource_id)
            extra = {"outputs": self.stack_outputs.get(id_, {}), "secretOutputNames": []}
        elif args.typ == SERVICE:
            id_ = f"{inputs['project']}/{inputs['service']}"
        elif args.typ == SERVICE_IDENTITY:
            id_ = f"projects/{inputs['project']}/services/{inputs['service']}"
            extra = {"email": VERTEX_AGENT, "member": f"serviceAccount:{VERTEX_AGENT}"}
        elif args.typ == KEY_RING:
            id_ = f"projects/{inputs['project']}/locations/{inputs['location']}/keyRings/{inputs['name']}"
        elif args.typ == CRYPTO_KEY:
            id_ = f"{inputs['keyRing']}/cryptoKeys/{inputs['name']}"
        elif args.typ == BUCKET:
            id_ = inputs["name"]
            extra = {"url": f"gs://{inputs['name']}", "projectNumber": PROJECT_NUMBER}
        elif args.typ == OBJECT:
            id_ = f"{inputs['bucket']}-{inputs['name']}"
            extra = {"outputName": inputs["name"]}
        elif args.typ == ACCOUNT:
            email = f"{inputs['accountId']}@{inputs['project']}.iam.gserviceaccount.com"
            id_ = f"projects/{inputs['project']}/serviceAccounts/{email}"
            extra = {"email": email, "member": f"serviceAccount:{email}", "name": id_, "uniqueId": "1"}
        elif args.typ in IAM_TYPES:
            id_ = f"{args.name}/{inputs['role']}"
            extra = {"etag": "BwX"}
        elif args.typ == TUNING_JOB:
            name = f"projects/{inputs['project']}/locations/{inputs['location']}/tuningJobs/42"
            models = f"projects/{PROJECT_NUMBER}/locations/{inputs['location']}"
            id_ = name
            extra = {
                "name": name,
                "state": "SUCCEEDED",
                "tuned_model_name": f"{models}/models/7@1",
                "tuned_model_endpoint": f"{models}/endpoints/9",
                "checkpoints": [],
                "experiment": f"{models}/metadataStores/default/contexts/tuning-experiment-42",
                "metrics": {"train_loss": 0.2, "train_token_accuracy": 0.9, "eval_loss": 0.3,
                            "eval_token_accuracy": 0.85, "step": 57, "epoch": 3},
                "tuning_data_stats": {"examples": 150, "tokens": 26_000},
                "estimated_training_tokens": 26_256,
            }
        else:
            raise AssertionError(f"the program registered an unexpected resource type {args.typ}")
        return id_, {**inputs, **extra}

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        if args.token == "gcp:storage/getProjectServiceAccount:getProjectServiceAccount":
            return {
                "emailAddress": STORAGE_AGENT,
                "member": f"serviceAccount:{STORAGE_AGENT}",
                "project": args.args["project"],
                "id": STORAGE_AGENT,
            }, []
        raise AssertionError(f"the program made an unexpected call {args.token}")


@dataclass(frozen=True)
class Registered:
    """One resource as the program registered it."""

    type: str
    name: str
    inputs: dict[str, Any]
    dependencies: frozenset[str]  # names of the resources it waits for
    protect: bool
    retain_on_delete: bool


class RecordingMonitor(MockMonitor):
    """The mock engine, also keeping what MockResourceArgs leaves out: dependencies and options."""

    def __init__(self, mocks: Mocks) -> None:
        super().__init__(mocks)
        self.requests: dict[str, Any] = {}
        self.types: list[str] = []

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (the engine's RPC name)
        self.requests[request.name] = request
        self.types.append(request.type)
        return super().RegisterResource(request)


@dataclass(frozen=True)
class Deployment:
    """What one run of the program registered and exported."""

    resources: dict[str, Registered]
    outputs: dict[str, Any]

    def of_type(self, typ: str) -> list[Registered]:
        return [r for r in self.resources.values() if r.type == typ]

    def one(self, typ: str) -> Registered:
        (found,) = self.of_type(typ)
        return found

    @property
    def job(self) -> Registered:
        return self.one(TUNING_JOB)

    @property
    def bindings(self) -> list[Registered]:
        return [r for r in self.resources.values() if r.type in IAM_TYPES]


def _config_value(value: Any) -> str:
    # What the engine hands a program: strings, and JSON for structured values.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def deploy(
    config: dict[str, Any], stack: str, registered: list[str] | None = None, *, preview: bool = False,
    mocks: CloudMocks | None = None,
) -> Deployment:
    """Run the stack program under the mocks with this `tuning:*` config (keys without namespace),
    on the day DAY. `registered`, if given, receives the type of every registration, also when the
    program fails; `preview`: as `pulumi preview` runs it; `mocks`: answers other than CloudMocks()'s."""
    mocks = mocks or CloudMocks()
    monitor = RecordingMonitor(mocks)
    if registered is not None:
        monitor.types = registered
    pulumi.runtime.reset_options(project="tuning", stack=stack)
    pulumi.runtime.set_all_config({f"tuning:{k}": _config_value(v) for k, v in config.items()})
    pulumi.runtime.set_mocks(mocks, project="tuning", stack=stack, preview=preview, monitor=monitor)
    exported: dict[str, Any] = {}

    @pulumi.runtime.test
    def program() -> pulumi.Output[Any]:
        stacks.run(today=DAY)
        root = pulumi.runtime.get_root_resource()
        return pulumi.Output.from_input(root.outputs).apply(exported.update)

    program()
    resources = {}
    for name, request in monitor.requests.items():
        if request.type == "pulumi:pulumi:Stack":
            continue
        resources[name] = Registered(
            type=request.type,
            name=name,
            inputs=mocks.inputs[name],
            dependencies=frozenset(urn.rsplit("::", 1)[-1] for urn in request.dependencies),
            protect=bool(request.protect),
            retain_on_delete=bool(request.retainOnDelete),
        )
    return Deployment(resources, exported)


@pytest.fixture(scope="module", autouse=True)
def _clean_runtime() -> Iterator[None]:
    """Leave the Pulumi runtime as it was found: no mocks, no config, no root stack."""
    yield
    pulumi.runtime.set_all_config({})
    pulumi.runtime.reset_options()


def stack_file_config(stack: str) -> dict[str, Any]:
    """The `tuning:*` settings of stacks/Pulumi.<stack>.yaml, without the namespace, as the
    engine hands them over (plain values as strings)."""
    return read_stack_file(ROOT / "stacks" / f"Pulumi.{stack}.yaml", "tuning")


def with_datasets(config: dict[str, Any], folder: Path) -> dict[str, Any]:
    """The config with its datasets copied into `folder`, so a test may change them."""
    out = dict(config)
    for key in ("trainingData", "validationData"):
        if key in config:
            target = folder / Path(config[key]).name
            shutil.copyfile(ROOT / config[key], target)
            out[key] = str(target)
    return out


# The last model that could take a customer-managed key for its tuning job, and the day every
# deployment here is built on (handed to the program): it could still be tuned then.
CMEK_MODEL, DAY = "gemini-2.5-flash", date(2026, 9, 1)


def with_cmek_model(config: dict[str, Any]) -> dict[str, Any]:
    return {**config, "job": {**config["job"], "base_model": CMEK_MODEL}}


@pytest.fixture(scope="module")
def dev_config(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return with_datasets(stack_file_config("dev"), tmp_path_factory.mktemp("dev"))


@pytest.fixture(scope="module")
def prod_config(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return with_datasets(stack_file_config("prod"), tmp_path_factory.mktemp("prod"))


@pytest.fixture(scope="module")
def dev_cmek_config(dev_config: dict[str, Any]) -> dict[str, Any]:
    return with_cmek_model(dev_config)


@pytest.fixture(scope="module")
def prod_cmek_config(prod_config: dict[str, Any]) -> dict[str, Any]:
    return with_cmek_model(prod_config)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_shipped_stack_files_pass_todays_checks(stack: str, tmp_path: Path) -> None:
    config = load_config(with_datasets(stack_file_config(stack), tmp_path), today=date(2026, 11, 30))
    (entry,) = config.entries
    assert entry.inputs["base_model"] == entry.root_model == "gemini-3.5-flash" and config.job_cmek == "auto"
    assert catalog.MODELS["gemini-3.5-flash"].cmek is False and catalog.MODELS[CMEK_MODEL].cmek is True


@pytest.fixture(scope="module")
def dev(dev_config: dict[str, Any]) -> Deployment:
    return deploy(dev_config, "dev")


@pytest.fixture(scope="module")
def prod(prod_config: dict[str, Any]) -> Deployment:
    return deploy(prod_config, "prod")


@pytest.fixture(scope="module")
def dev_cmek(dev_cmek_config: dict[str, Any]) -> Deployment:
    return deploy(dev_cmek_config, "dev")


@pytest.fixture(scope="module")
def prod_cmek(prod_cmek_config: dict[str, Any]) -> Deployment:
    return deploy(prod_cmek_config, "prod")


@pytest.fixture(params=["dev", "prod", "dev_cmek", "prod_cmek"])
def cloud(request: pytest.FixtureRequest) -> tuple[Deployment, dict[str, Any]]:
    """Each stack, as shipped and with a base model that takes the key."""
    return request.getfixturevalue(request.param), request.getfixturevalue(f"{request.param}_config")


@pytest.fixture(params=["dev_cmek", "prod_cmek"])
def keyed(request: pytest.FixtureRequest) -> tuple[Deployment, dict[str, Any]]:
    """Each stack with a base model that can take a customer-managed key: the job uses it."""
    return request.getfixturevalue(request.param), request.getfixturevalue(f"{request.param}_config")


@pytest.fixture(params=["dev", "prod"])
def keyless(request: pytest.FixtureRequest) -> tuple[Deployment, dict[str, Any]]:
    """Each stack as shipped: its base model cannot take a key, so the job runs without one."""
    return request.getfixturevalue(request.param), request.getfixturevalue(f"{request.param}_config")


# --- what each stack creates ----------------------------------------------------------------------

EVERY_STACK_CREATES = {
    "aiplatform-api": SERVICE, "storage-api": SERVICE, "iam-api": SERVICE, "cloudkms-api": SERVICE,
    "vertex-ai-agent": SERVICE_IDENTITY,
    "key-ring": KEY_RING, "dataset-key": CRYPTO_KEY,
    "storage-agent-uses-key": KEY_MEMBER,
    "dataset-bucket": BUCKET, "training-data": OBJECT, "validation-data": OBJECT,
    "job-service-account": ACCOUNT,
    "job-sa-tuning-agent-role": PROJECT_MEMBER,
    "job-sa-reads-datasets": BUCKET_MEMBER,
    "tuning-agent-mints-job-sa-tokens": ACCOUNT_MEMBER,
    "deployer-acts-as-job-sa": ACCOUNT_MEMBER,
    "gemini-tuning-job": TUNING_JOB,
}


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


# --- bad config -------------------------------------------------------------------------------------

def _without(key: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda c: {k: v for k, v in c.items() if k != key}


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda c: {**c, key: value}


@pytest.mark.parametrize(
    ("change", "key", "words"),
    [
        (_without("project"), "tuning:project", "is required"),
        (_without("trainingData"), "tuning:trainingData", "is required"),
        (_set("trainingData", "examples/data/missing.jsonl"), "tuning:trainingData", "is not a file"),
        (_set("jobCmek", "sometimes"), "tuning:jobCmek", "'auto', 'required' or 'off'"),
        (_set("cmek", "true"), "tuning:cmek", "tuning:jobCmek (auto, required or off)"),
        (_set("keyRotationDays", "0"), "tuning:keyRotationDays", "greater than or equal to 1"),
        (_set("region", "global"), "tuning:region", "does not run Gemini tuning jobs"),
        (_set("project", "My Project"), "tuning:project", "is not a project id"),
        (_set("bucketName", "Datasets!"), "tuning:bucketName", "is not a bucket name"),
        (_set("keyRingName", "ring/1"), "tuning:keyRingName", "is not a Cloud KMS name"),
        (_set("deployer", "ci@example.com"), "tuning:deployer", "is not an IAM principal"),
        (_set("bukcetName", "x"), "tuning:bukcetName", "did you mean bucketName?"),
        (lambda c: {**c, "jobCmek": "required", "job": {**c["job"], "base_model": "gemini-3.5-flash"}},
         "tuning:jobCmek", "gemini-3.5-flash cannot take a customer-managed key"),
        (lambda c: {**c, "job": {**c["job"], "epoch_count": 0}}, "tuning:job.epoch_count",
         "greater than or equal to 1"),
        (lambda c: {**c, "job": {**c["job"], "kms_key_name": "x"}}, "tuning:job.kms_key_name",
         "set by the stack program"),
    ],
)
def test_a_bad_setting_is_reported_by_its_key(
    dev_config: dict[str, Any], change: Callable[[dict[str, Any]], dict[str, Any]], key: str, words: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(change(dev_config), today=DAY)
    assert caught.value.keys == [key]
    assert words in str(caught.value)


def test_the_program_stops_on_a_bad_setting_before_creating_anything(dev_config: dict[str, Any]) -> None:
    with pytest.raises(pulumi.RunError, match=re.escape("tuning:region: 'global' does not run Gemini tuning jobs")):
        deploy({**dev_config, "region": "global"}, "dev")


def test_a_bad_dataset_line_stops_the_program_before_anything_is_uploaded(
    dev_config: dict[str, Any], tmp_path: Path
) -> None:
    good = Path(dev_config["trainingData"]).read_text().splitlines()
    bad = tmp_path / "train.jsonl"
    unanswered = '{"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}'
    bad.write_text("\n".join([*good[:4], unanswered, *good[4:]]) + "\n")
    registered: list[str] = []
    with pytest.raises(pulumi.RunError) as raised:
        deploy({**dev_config, "trainingData": str(bad)}, "dev", registered)
    assert registered == ["pulumi:pulumi:Stack"]  # nothing of the stack's own
    message = str(raised.value)
    assert "1 bad line in the training data (tuning:trainingData); fix it" in message
    assert "line 5: the last turn, contents[0], has role 'user'" in message


def test_an_empty_dataset_is_reported_as_the_file_at_fault_not_as_bad_lines(
    dev_config: dict[str, Any], tmp_path: Path
) -> None:
    empty = tmp_path / "train.jsonl"
    empty.write_text("")
    with pytest.raises(pulumi.RunError) as raised:
        deploy({**dev_config, "trainingData": str(empty)}, "dev")
    message = str(raised.value)
    assert "the training data (tuning:trainingData) cannot be used as it is; fix it" in message
    assert "the file has no examples" in message
    assert "bad line" not in message


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
