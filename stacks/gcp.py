"""The dev and prod stacks: the TuningJob on Google Cloud with what a security review expects.

    services   aiplatform, storage, iam and cloudkms enabled, never disabled on destroy
    key        a key ring and key in the job's region, rotated every keyRotationDays, whatever
               the base model: the training data at rest is what it protects
    bucket     the datasets' bucket in the job's region: uniform bucket-level access, public
               access prevention enforced, versioning, default encryption with the key (the
               Cloud Storage service agent may use the key before the bucket is created)
    datasets   the local files as objects named by their content: changed data is a new object,
               so a new job, and the preview shows the job's replacement for it
    identity   the job's own service account: roles/aiplatform.tuningServiceAgent in the
               project, roles/storage.objectViewer on the bucket only, and token creation on
               that account only for the secure fine-tuning service agent; the deployer
               (tuning:deployer, if set) may act as that account only
    key users  the Cloud Storage service agent, on the key only; the Vertex AI service agent
               too, only when a job uses the key
    job        the TuningJob, after every binding above exists. Its own kms_key_name is the key
               when tuning:jobCmek allows it and the base model can take one (the catalog
               says): `auto` (default) where it can, with a line at preview where it cannot;
               `required` fails the program for a model that cannot; `off` never

No primitive role (owner, editor, viewer) and no project-wide storage role is granted.

Service agents: the Vertex AI agent comes from a ServiceIdentity resource, which also creates it
on a fresh project (a binding to an agent that does not exist yet fails). The Cloud Storage
agent comes from the storage API (`get_project_service_account`), which likewise creates it;
Google asks for this rather than writing its email by hand. The secure fine-tuning agent has no
such API: its email is built from the project number found in the Vertex AI agent's email, so no
project number is configured by hand, and so none can be wrong and grant another project's agent.

With `protect` (prod) the key ring, key and bucket are protected, and the TuningJob is retained
on delete: a replaced or destroyed job leaves its tuned model and endpoint serving until someone
removes them. The job itself is not protected, since that would refuse the retraining a changed
setting asks for.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pulumi
import pulumi_gcp as gcp

from stacks.config import StackConfig
from stacks.datasets import checked_datasets, checked_job_datasets, dataset_object_name
from stacks.job import declare_tuning_jobs
from tuning_provider import TuningJob, catalog

__all__ = [
    "ACT_AS_ROLE",
    "DATASET_READER_ROLE",
    "KEY_USER_ROLE",
    "TOKEN_CREATOR_ROLE",
    "TUNING_AGENT_ROLE",
    "GcpStack",
    "build_gcp_stack",
]

TUNING_AGENT_ROLE = "roles/aiplatform.tuningServiceAgent"
DATASET_READER_ROLE = "roles/storage.objectViewer"
TOKEN_CREATOR_ROLE = "roles/iam.serviceAccountTokenCreator"
KEY_USER_ROLE = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
ACT_AS_ROLE = "roles/iam.serviceAccountUser"

SECONDS_PER_DAY = 86_400
# Old versions of replaced objects are kept this long, then deleted.
NONCURRENT_VERSION_DAYS = 30

_VERTEX_AGENT = re.compile(r"^service-(?P<number>[0-9]+)@gcp-sa-aiplatform\.iam\.gserviceaccount\.com$")


@dataclass(frozen=True)
class GcpStack:
    """What build_gcp_stack created; `job_dependencies` is exactly what the job waits for."""

    services: dict[str, gcp.projects.Service]
    vertex_agent: gcp.projects.ServiceIdentity
    key_ring: gcp.kms.KeyRing
    key: gcp.kms.CryptoKey
    bucket: gcp.storage.Bucket
    datasets: dict[str, gcp.storage.BucketObject]
    service_account: gcp.serviceaccount.Account
    bindings: list[pulumi.CustomResource]
    jobs: dict[str, TuningJob]
    job_dependencies: list[pulumi.Resource] = field(default_factory=list)

    @property
    def job(self) -> TuningJob:
        """The first TuningJob (the only one of a one-job stack)."""
        return next(iter(self.jobs.values()))


def _services(config: StackConfig) -> dict[str, gcp.projects.Service]:
    return {
        name: gcp.projects.Service(
            f"{name}-api",
            project=config.project,
            service=f"{name}.googleapis.com",
            # Other workloads in the project may use the API too.
            disable_on_destroy=False,
        )
        for name in ("aiplatform", "storage", "iam", "cloudkms")
    }


def _tuning_agent_member(vertex_agent_email: str) -> str:
    """The secure fine-tuning service agent, from the project number in the Vertex AI agent's email."""
    match = _VERTEX_AGENT.match(vertex_agent_email)
    if match is None:
        raise ValueError(
            f"the Vertex AI service agent {vertex_agent_email!r} does not have the documented form "
            "service-PROJECT_NUMBER@gcp-sa-aiplatform.iam.gserviceaccount.com"
        )
    return f"serviceAccount:service-{match['number']}@gcp-sa-vertex-tune.iam.gserviceaccount.com"


def build_gcp_stack(config: StackConfig) -> GcpStack:
    """Declare the whole cloud stack for `config` and export its outputs."""
    # First: bad data must stop `pulumi up` before any resource is registered (and created).
    dataset_files = checked_datasets(config)
    job_files = checked_job_datasets(config, dataset_files)
    labels = {"managed-by": "pulumi", "stack": pulumi.get_stack(), "app": config.name_prefix}
    services = _services(config)
    vertex_agent = _vertex_agent(config, services)
    without_key = _jobs_without_the_key(config)
    key_ring, key = _key(config, services, labels)
    storage_grant = _storage_agent_uses_key(config, services, key)
    bucket = _bucket(config, services, key, storage_grant, labels)
    objects = _dataset_objects(dataset_files, job_files)
    datasets = _datasets(bucket, objects)
    uri_of = {path: pulumi.Output.concat("gs://", datasets[name].bucket, "/", datasets[name].name)
              for path, name in objects.items()}
    account = _job_identity(config, services)
    key_grants: list[pulumi.CustomResource] = [storage_grant]
    if len(without_key) < len(config.entries):
        key_grants.append(_vertex_agent_uses_key(key, vertex_agent))
    bindings = [*key_grants, *_job_grants(config, account, bucket, vertex_agent)]
    job_dependencies: list[pulumi.Resource] = [services["aiplatform"], vertex_agent, *bindings, *datasets.values()]
    jobs = declare_tuning_jobs(
        config,
        {entry_key: {kind: uri_of[path] for kind, path in files.items()} for entry_key, files in job_files.items()},
        opts=pulumi.ResourceOptions(depends_on=job_dependencies, retain_on_delete=config.protect),
        per_job={entry.key: {} if entry.key in without_key else {"kms_key_name": key.id} for entry in config.entries},
        service_account=account.email,
    )
    uris = {kind: uri_of[path] for kind, path in dataset_files.items()}
    pulumi.export("bucket", bucket.name)
    pulumi.export("trainingDatasetUri", uris["training"])
    pulumi.export("validationDatasetUri", uris.get("validation"))
    pulumi.export("kmsKeyName", key.id)
    pulumi.export("serviceAccount", account.email)
    return GcpStack(
        services=services,
        vertex_agent=vertex_agent,
        key_ring=key_ring,
        key=key,
        bucket=bucket,
        datasets=datasets,
        service_account=account,
        bindings=bindings,
        jobs=jobs,
        job_dependencies=job_dependencies,
    )


def _after(
    services: dict[str, gcp.projects.Service], *apis: str, protect: bool = False, also: Sequence[pulumi.Resource] = ()
) -> pulumi.ResourceOptions:
    """Options of a resource that needs these APIs enabled (and `also` these resources)."""
    return pulumi.ResourceOptions(depends_on=[*(services[a] for a in apis), *also], protect=protect)


def _vertex_agent(config: StackConfig, services: dict[str, gcp.projects.Service]) -> gcp.projects.ServiceIdentity:
    """The Vertex AI service agent, created on a fresh project if it does not exist yet."""
    return gcp.projects.ServiceIdentity(
        "vertex-ai-agent", project=config.project, service="aiplatform.googleapis.com",
        opts=_after(services, "aiplatform"),
    )


def _jobs_without_the_key(config: StackConfig) -> dict[str, str]:
    """The jobs (by entry key) whose tuning job runs without the stack's key, and why; each
    reason is shown at preview. A job tuned from another stack's model has a base model the
    catalog cannot be asked about before the up: `auto` leaves the key out, `required` sets it
    (and the provider's check asks Vertex what the tuned model was tuned from)."""
    without: dict[str, str] = {}
    for entry in config.entries:
        info = catalog.find_model(entry.root_model) if entry.root_model else None
        if config.job_cmek == "off":
            without[entry.key] = "tuning:jobCmek is off"
        elif info is not None and not info.cmek:
            # (`required` with such a model is refused by stacks/config.py before this runs.)
            without[entry.key] = f"{info.id} cannot take a customer-managed key for tuning (tuning_provider/catalog.py)"
        elif info is None and config.job_cmek == "auto":
            without[entry.key] = ("it tunes another stack's model, whose base model is not known before the up; "
                                  "set tuning:jobCmek to required to give it the key")
    if pulumi.runtime.is_dry_run():
        for entry_key, why in without.items():
            name = f"{config.name_prefix}-{entry_key}"
            pulumi.log.info(f"{name}: the tuning job runs without the stack's key: {why}. The training data "
                            "in the bucket is encrypted with the key all the same")
    return without


def _key(
    config: StackConfig, services: dict[str, gcp.projects.Service], labels: dict[str, str]
) -> tuple[gcp.kms.KeyRing, gcp.kms.CryptoKey]:
    """The key ring and rotating key in the job's region (protected in prod)."""
    key_ring = gcp.kms.KeyRing(
        "key-ring", project=config.project, name=config.key_ring, location=config.region,
        opts=_after(services, "cloudkms", protect=config.protect),
    )
    key = gcp.kms.CryptoKey(
        "dataset-key",
        name=config.key,
        key_ring=key_ring.id,
        purpose="ENCRYPT_DECRYPT",
        rotation_period=f"{config.key_rotation_days * SECONDS_PER_DAY}s",
        labels=labels,
        opts=_after(services, protect=config.protect),
    )
    return key_ring, key


def _storage_agent_uses_key(
    config: StackConfig, services: dict[str, gcp.projects.Service], key: gcp.kms.CryptoKey
) -> gcp.kms.CryptoKeyIAMMember:
    """The Cloud Storage service agent may encrypt and decrypt with the key (only that key)."""
    storage_agent = gcp.storage.get_project_service_account_output(
        project=config.project, opts=pulumi.InvokeOutputOptions(depends_on=[services["storage"]])
    )
    return gcp.kms.CryptoKeyIAMMember(
        "storage-agent-uses-key", crypto_key_id=key.id, role=KEY_USER_ROLE, member=storage_agent.member
    )


def _vertex_agent_uses_key(
    key: gcp.kms.CryptoKey, vertex_agent: gcp.projects.ServiceIdentity
) -> gcp.kms.CryptoKeyIAMMember:
    """The Vertex AI service agent may use the key (only that key): for jobs that use it."""
    return gcp.kms.CryptoKeyIAMMember(
        "vertex-ai-agent-uses-key", crypto_key_id=key.id, role=KEY_USER_ROLE, member=vertex_agent.member
    )


def _bucket(
    config: StackConfig, services: dict[str, gcp.projects.Service], key: gcp.kms.CryptoKey,
    storage_grant: pulumi.Resource, labels: dict[str, str],
) -> gcp.storage.Bucket:
    """The datasets' bucket: private, versioned, encrypted with the key."""
    return gcp.storage.Bucket(
        "dataset-bucket",
        project=config.project,
        name=config.bucket,
        location=config.region.upper(),
        uniform_bucket_level_access=True,
        public_access_prevention="enforced",
        versioning={"enabled": True},
        encryption={"default_kms_key_name": key.id},
        lifecycle_rules=[{
            "action": {"type": "Delete"},
            "condition": {"days_since_noncurrent_time": NONCURRENT_VERSION_DAYS, "with_state": "ARCHIVED"},
        }],
        # Versioning keeps old object versions, so only a forced delete empties the bucket; a
        # protected (prod) bucket is never emptied by Pulumi.
        force_destroy=not config.protect,
        labels=labels,
        # A bucket whose default key the storage agent cannot use yet fails to create.
        opts=_after(services, "storage", protect=config.protect, also=[storage_grant]),
    )


def _dataset_objects(dataset_files: dict[str, Path], job_files: dict[str, dict[str, Path]]) -> dict[Path, str]:
    """One object per file, by its resource name's start: the stack's shared files as
    `training`/`validation`, a job's own files as `JOB-training`/`JOB-validation`."""
    objects: dict[Path, str] = {path: kind for kind, path in dataset_files.items()}
    for entry_key, files in job_files.items():
        for kind, path in files.items():
            objects.setdefault(path, f"{entry_key}-{kind}")
    return objects


def _datasets(bucket: gcp.storage.Bucket, objects: dict[Path, str]) -> dict[str, gcp.storage.BucketObject]:
    """The dataset files uploaded into the bucket, each under a name made from its content."""
    return {
        name: gcp.storage.BucketObject(
            f"{name}-data",
            bucket=bucket.name,
            name=dataset_object_name(path),
            source=pulumi.FileAsset(str(path)),
            content_type="application/jsonl",
        )
        for path, name in objects.items()
    }


def _job_identity(config: StackConfig, services: dict[str, gcp.projects.Service]) -> gcp.serviceaccount.Account:
    """The service account the tuning jobs run as."""
    return gcp.serviceaccount.Account(
        "job-service-account",
        project=config.project,
        account_id=config.service_account_id,
        display_name=f"Gemini tuning job ({pulumi.get_stack()})",
        description="Runs the Vertex AI supervised tuning job of this stack; reads its dataset bucket.",
        opts=_after(services, "iam"),
    )


def _job_grants(
    config: StackConfig, account: gcp.serviceaccount.Account, bucket: gcp.storage.Bucket,
    vertex_agent: gcp.projects.ServiceIdentity,
) -> list[pulumi.CustomResource]:
    """What the job's account may do, who may act as it, and nothing more."""
    grants: list[pulumi.CustomResource] = [
        gcp.projects.IAMMember(
            "job-sa-tuning-agent-role", project=config.project, role=TUNING_AGENT_ROLE, member=account.member
        ),
        gcp.storage.BucketIAMMember(
            "job-sa-reads-datasets", bucket=bucket.name, role=DATASET_READER_ROLE, member=account.member
        ),
        gcp.serviceaccount.IAMMember(
            "tuning-agent-mints-job-sa-tokens",
            service_account_id=account.name,
            role=TOKEN_CREATOR_ROLE,
            member=vertex_agent.email.apply(_tuning_agent_member),
        ),
    ]
    if config.deployer:
        # Creating a job that runs as the account needs iam.serviceAccounts.actAs on it.
        grants.append(gcp.serviceaccount.IAMMember(
            "deployer-acts-as-job-sa", service_account_id=account.name, role=ACT_AS_ROLE, member=config.deployer
        ))
    return grants
