"""The local stack: the TuningJobs against the emulator, on the example data in the repo.

It creates no Google Cloud resource. The emulator reads gs://BUCKET/OBJECT from its
--gcs-dir, so "uploading" a dataset is placing it there under a name made from its content:
as with the cloud stacks, changed data means a new object and so a new job.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from stacks.config import StackConfig
from stacks.datasets import checked_job_datasets, dataset_object_name
from stacks.job import declare_tuning_jobs
from tuning_provider import TuningJob

__all__ = ["LOCAL_BUCKET", "build_local_stack"]

LOCAL_BUCKET = "local-tuning-datasets"


def place_dataset(path: Path, gcs_dir: Path, bucket: str = LOCAL_BUCKET) -> str:
    """Copy a dataset into the emulator's bucket folder under a content-addressed name."""
    name = dataset_object_name(path)
    target = gcs_dir / bucket / name
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    return f"gs://{bucket}/{name}"


def build_local_stack(config: StackConfig) -> dict[str, TuningJob]:
    """The stack's TuningJobs by resource name, their datasets placed in the emulator's bucket."""
    uris = {
        key: {kind: place_dataset(path, config.local_gcs_dir) for kind, path in files.items()}
        for key, files in checked_job_datasets(config).items()
    }
    return declare_tuning_jobs(config, uris)
