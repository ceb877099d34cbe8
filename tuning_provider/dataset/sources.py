"""Where a dataset's bytes come from (a local file, alone or split among processes; a binary
file object; a gs:// object read through the transport, `tuning_provider.vertex.storage`), and
`validate_dataset`, which picks the source, scans it and writes the report. Every reason a
source cannot be read becomes here one DatasetError naming the fix (Cloud Storage's own errors
reach this module already translated, by the transport's boundary)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from tuning_provider.connection import GOOGLE_STORAGE_URL, Service, storage_service
from tuning_provider.dataset.report import VERTEX_LIMITS, DatasetKind, DatasetReport, Limits, Tally, build_report
from tuning_provider.dataset.scan import (
    READING,
    Reading,
    ReadInto,
    readinto_of,
    scan,
    scan_file_range,
    scan_ranges_in_processes,
    split_ranges,
)
from tuning_provider.errors import ApiError, DatasetError, NotFound, PermissionDenied, Unauthenticated, Unreachable
from tuning_provider.names import gcs_object

if TYPE_CHECKING:
    from tuning_provider.vertex.storage import StoredObject

__all__ = ["GcsObjectVersion", "gcs_object_version", "validate_dataset"]


def validate_dataset(
    source: str | os.PathLike[str] | IO[bytes],
    *,
    kind: DatasetKind = "training",
    max_errors: int = 50,
    workers: int | None = 1,
    storage: Service | None = None,
    generation: int | None = None,
    limits: Limits = VERTEX_LIMITS,
    reading: Reading = READING,
) -> DatasetReport:
    """Check a tuning dataset against Vertex's rules and limits, line by line.

    `source` is a local path, a binary file object, or a "gs://bucket/object" URI, read from
    the Cloud Storage `storage` names (None: Google's with Application Default Credentials, or
    $STORAGE_EMULATOR_HOST's; see tuning_provider.connection). `workers` > 1 scans a local file
    in up to that many processes (None: one per CPU this process may run on), each with at
    least `reading.min_bytes_per_worker` bytes of it; other sources are read by one. Raises
    DatasetError when the source cannot be read at all; problems in the data are in the
    report, never raised. `generation` reads that version of a gs:// object (see
    `gcs_object_version`). `limits` (Vertex's by default) and `reading` (sizes of reads and
    of a worker's share) are seams for tests.
    """
    if kind not in ("training", "validation"):
        raise ValueError(f"kind must be 'training' or 'validation', not {kind!r}")
    if max_errors < 0:
        raise ValueError(f"max_errors must be 0 or more, not {max_errors}")

    def scan_read(readinto: ReadInto) -> Tally:
        return scan(readinto, max_errors, limits, reading)

    uri, path = _describe(source)
    if path is not None:
        tally = _scan_file(uri, path, workers, max_errors, limits, reading)
    elif isinstance(source, str):
        tally = _scan_gcs(source, storage, generation, scan_read)
    else:
        tally = _scan_stream(uri, source, scan_read)  # type: ignore[arg-type]
    return build_report(uri, kind, tally, limits)


def _describe(source: Any) -> tuple[str, str | None]:
    """The source's name for messages, and its local path if it is a local file."""
    if isinstance(source, str) and "://" in source:
        return source, None
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        return str(path), str(path)
    if callable(getattr(source, "read", None)):
        name = getattr(source, "name", None)
        return (name if isinstance(name, str) else "<stream>"), None
    raise TypeError(
        f"source must be a path, a gs:// URI or a binary file object, not {type(source).__name__}"
    )


# --- Local files and file objects -------------------------------------------------------------


def _open_error(uri: str, exc: OSError) -> DatasetError:
    if isinstance(exc, FileNotFoundError):
        return DatasetError(uri, "there is no such file: check the path.")
    if isinstance(exc, IsADirectoryError):
        return DatasetError(uri, "this is a directory, not a JSONL file: name the file itself.")
    if isinstance(exc, PermissionError):
        return DatasetError(uri, "the file cannot be read (permission denied): check its permissions.")
    return DatasetError(uri, f"the file cannot be read ({exc.strerror or exc}).")


def _scan_file(
    uri: str, path: str, workers: int | None, max_errors: int, limits: Limits, reading: Reading
) -> Tally:
    """A local file, in `workers` processes when it is large enough to pay for them."""
    if workers is None:
        workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        ranges = split_ranges(path, workers, reading) if workers > 1 else []
        if len(ranges) > 1:
            return scan_ranges_in_processes(path, ranges, max_errors, limits, reading)
        return scan_file_range(path, 0, None, max_errors, limits, reading)
    except OSError as exc:
        raise _open_error(uri, exc) from exc


def _scan_stream(uri: str, stream: IO[bytes], scan_read: Callable[[ReadInto], Tally]) -> Tally:
    def read(size: int) -> bytes:
        data = stream.read(size)
        if isinstance(data, str):
            raise DatasetError(uri, "the file was opened in text mode: open it in binary mode ('rb').")
        return data

    try:
        readinto = getattr(stream, "readinto", None)
        return scan_read(readinto if callable(readinto) else readinto_of(read))
    except OSError as exc:
        raise _open_error(uri, exc) from exc


# --- gs:// objects ----------------------------------------------------------------------------


@dataclass(frozen=True)
class GcsObjectVersion:
    """One version of a gs:// object: its generation and content checksum (crc32c, else md5)."""

    uri: str
    generation: int
    checksum: str


def gcs_object_version(uri: str, storage: Service | None = None) -> GcsObjectVersion:
    """The current version of a gs:// object in `storage` (None: as the environment says, see
    `connection.storage_service`): its metadata only, the content is not read. Raises
    DatasetError as `validate_dataset` does when it cannot be read."""
    with _open_gcs(uri, storage, None) as stored:
        return GcsObjectVersion(uri, stored.generation, stored.checksum)


def _scan_gcs(
    uri: str, storage: Service | None, generation: int | None, scan_read: Callable[[ReadInto], Tally]
) -> Tally:
    """`scan_read` a gs:// object (at `generation`, if given), streamed in ranged chunks."""
    with _open_gcs(uri, storage, generation) as stored:
        position = 0

        def read(want: int) -> bytes:
            nonlocal position
            if position >= stored.size:
                return b""
            data = stored.read(position, min(position + want, stored.size) - 1)  # ranges are inclusive
            position += len(data)
            return data

        return scan_read(readinto_of(read))


@contextlib.contextmanager
def _open_gcs(uri: str, storage: Service | None, generation: int | None) -> Iterator[StoredObject]:
    """The object `uri` open for reading through the transport (tuning_provider.vertex.storage,
    which translates Cloud Storage's errors and retries), those errors said again for the data:
    what is wrong with this URI, and the fix."""
    if not uri.startswith("gs://"):
        raise DatasetError(
            uri, "only local paths and gs://bucket/object URIs can be read: give one of those."
        )
    named = gcs_object(uri)
    if named is None:
        raise DatasetError(uri, "the URI names no object: write it as gs://bucket/path/to/file.jsonl.")
    # Imported here: the transport (google-cloud-storage) is slow to import and only gs:// needs it.
    from tuning_provider.vertex.storage import open_object

    service = storage or storage_service()
    try:
        with open_object(service, *named, generation=generation) as stored:
            yield stored
    except ApiError as exc:
        raise _gcs_error(uri, named, service, exc) from exc


def _gcs_error(uri: str, named: tuple[str, str], storage: Service, exc: ApiError) -> DatasetError:
    bucket, name = named
    if isinstance(exc, NotFound):
        return DatasetError(uri, f"there is no object {name} in bucket {bucket} (or no such bucket): check the URI.")
    if isinstance(exc, PermissionDenied):
        return DatasetError(
            uri, f"permission denied reading it: grant the caller roles/storage.objectViewer on bucket {bucket}."
        )
    if isinstance(exc, Unauthenticated):
        return DatasetError(
            uri, "Cloud Storage is read with Application Default Credentials, and there are none (or they were "
            "refused): run `gcloud auth application-default login`; for an emulator, name it with "
            "tuning:storageEndpoint, --storage-endpoint or STORAGE_EMULATOR_HOST.",
        )
    where = storage.url or GOOGLE_STORAGE_URL
    if isinstance(exc, Unreachable):
        return DatasetError(uri, f"nothing answers at {where}: start the emulator (`make emulator`), or name the "
                            "Cloud Storage to read with tuning:storageEndpoint, --storage-endpoint or "
                            "STORAGE_EMULATOR_HOST.")
    if exc.status is None:
        return DatasetError(uri, f"Cloud Storage at {where} could not be reached ({exc.message}): check the "
                            "network and try again.")
    return DatasetError(uri, f"Cloud Storage at {where} refused to serve it ({exc.message}).")
