"""A TuningJob's gs:// data, checked at most once per object version on this machine.

Check validates a job's gs:// training and validation data by default, so that bad data fails
the preview before anything is paid for. An object version never changes: its generation names
it and its checksum (crc32c, else md5) confirms the content. So the verdict of one read (the
DatasetReport) is kept in the machine cache (tuning_provider/machine_cache.py) under a key made
of the URI, generation, checksum, the dataset's kind and the validator's own code (every
module of tuning_provider/dataset/, and the catalog's limits), and every later preview on
this machine reuses it: new data is a new generation, and a changed validator or catalog a
new key. Only the object's metadata is read for that.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tuning_provider import catalog, dataset, machine_cache
from tuning_provider.connection import Service
from tuning_provider.dataset import DatasetKind, DatasetReport, GcsObjectVersion, LineError

__all__ = ["CheckedDataset", "check_gcs_dataset"]


@dataclass(frozen=True)
class CheckedDataset:
    """The report on one version of a gs:// object, and whether it came from the cache."""

    report: DatasetReport
    version: GcsObjectVersion
    reused: bool

    def reuse_line(self, field: str) -> str:
        """The one line a preview shows when the report is the cached one."""
        return (f"{field}: {self.version.uri} (generation {self.version.generation}) was checked on this machine "
                f"before; reusing that result ({self.report.examples:,} examples, ~{self.report.estimated_tokens:,} "
                f"tokens, {self.report.error_count:,} errors; cached in {machine_cache.directory('datasets')})")


def check_gcs_dataset(uri: str, kind: DatasetKind, storage: Service) -> CheckedDataset:
    """The report on the current version of the gs:// object `uri` in `storage`, read only if
    this machine has not checked that version before. Raises DatasetError when it cannot be read."""
    version = dataset.gcs_object_version(uri, storage)
    path = machine_cache.directory("datasets") / f"{_key(version, kind)}.json"
    cached = _load(path)
    if cached is not None:
        return CheckedDataset(cached, version, reused=True)
    report = dataset.validate_dataset(uri, kind=kind, storage=storage, generation=version.generation)
    _store(path, report)
    return CheckedDataset(report, version, reused=False)


def _key(version: GcsObjectVersion, kind: str) -> str:
    payload = [version.uri, version.generation, version.checksum, kind, _validator_digest()]
    return hashlib.sha256(json.dumps(payload).encode()).hexdigest()


@functools.cache
def _validator_digest() -> str:
    """The validator's rules and the catalog's limits, as code: a change makes new keys."""
    digest = hashlib.sha256()
    package = Path(str(dataset.__file__)).parent
    for module in [*sorted(package.glob("*.py")), Path(str(catalog.__file__))]:
        digest.update(module.read_bytes())
    return digest.hexdigest()[:16]


def _load(path: Path) -> DatasetReport | None:
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        names = {f.name for f in dataclasses.fields(DatasetReport)}
        values = {k: v for k, v in data.items() if k in names}
        values["errors"] = [LineError(**e) for e in values.get("errors", [])]
        return DatasetReport(**values)
    except (OSError, ValueError, TypeError):
        return None  # none yet, or unreadable: read the object again


def _store(path: Path, report: DatasetReport) -> None:
    """Write the report whole or not at all (a preview running at the same time reads either)."""
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump(report.to_dict(), file)
        os.replace(temporary, path)
    except OSError:
        pass  # a cache that cannot be written only costs a read next time
