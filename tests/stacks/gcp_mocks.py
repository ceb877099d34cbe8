"""The mock engine the dev and prod stack programs are built under, and their stack files.

Each build runs the real program (`stacks.run`, as __main__.py does) against a mock engine that
records every registered resource: its type, inputs, the dependencies and options (protect,
retainOnDelete) the program sent with it. The tests assert on that record, as a reviewer would
read a preview. Datasets are copied to temporary files so that a test can change their content.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs, Mocks

import stacks
import stacks.job
from stacks.config_file import read_stack_file

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

# What a one-job stack exports: stacks/job.py's outputs (named by the spec), and a cloud stack's own.
JOB_OUTPUTS = set(stacks.job.JOB_OUTPUTS)
CLOUD_OUTPUTS = JOB_OUTPUTS | {"bucket", "trainingDatasetUri", "validationDatasetUri", "kmsKeyName", "serviceAccount"}

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
