"""Where a dataset's bytes come from (a local file, alone or split among processes; a binary
file object; a gs:// object read with google-cloud-storage), and `validate_dataset`, which
picks the source, scans it and writes the report. Every reason a source cannot be read is
translated here into one DatasetError naming the fix."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any, TypeVar

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
from tuning_provider.errors import DatasetError
from tuning_provider.names import gcs_object

__all__ = ["GcsObjectVersion", "gcs_object_version", "validate_dataset"]

# Cloud Storage: seconds per request, and in all for the retries of one request.
_GCS_TIMEOUT_SECONDS = 60
_GCS_RETRY_SECONDS = 20


def validate_dataset(
    source: str | os.PathLike[str] | IO[bytes],
    *,
    kind: DatasetKind = "training",
    max_errors: int = 50,
    workers: int | None = 1,
    storage_endpoint: str | None = None,
    generation: int | None = None,
    limits: Limits = VERTEX_LIMITS,
    reading: Reading = READING,
) -> DatasetReport:
    """Check a tuning dataset against Vertex's rules and limits, line by line.

    `source` is a local path, a binary file object, or a "gs://bucket/object" URI (read with
    google-cloud-storage: Application Default Credentials, or anonymous against
    `storage_endpoint` / $STORAGE_EMULATOR_HOST). `workers` > 1 scans a local file in up to that
    many processes (None: one per CPU this process may run on), each with at least
    `reading.min_bytes_per_worker` bytes of it; other sources are read by one. Raises
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
        tally = _scan_gcs(source, storage_endpoint, generation, scan_read)
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


def gcs_object_version(uri: str, storage_endpoint: str | None = None) -> GcsObjectVersion:
    """The current version of a gs:// object (its metadata only; the content is not read).
    Raises DatasetError as `validate_dataset` does when it cannot be read."""

    def version(blob: Any) -> GcsObjectVersion:
        checksum = f"crc32c:{blob.crc32c}" if blob.crc32c else f"md5:{blob.md5_hash}"
        return GcsObjectVersion(uri, int(blob.generation or 0), checksum)

    return _with_blob(uri, storage_endpoint, None, version)


def _scan_gcs(
    uri: str, storage_endpoint: str | None, generation: int | None, scan_read: Callable[[ReadInto], Tally]
) -> Tally:
    """`scan_read` a gs:// object (at `generation`, if given), streamed in ranged chunks with
    google-cloud-storage."""

    def scan_blob(blob: Any) -> Tally:
        size = blob.size or 0
        position = 0
        retry = _gcs_retry()

        def read(want: int) -> bytes:
            nonlocal position
            if position >= size:
                return b""
            last = min(position + want, size) - 1  # download ranges are inclusive
            data: bytes = blob.download_as_bytes(
                start=position, end=last, checksum=None, retry=retry, timeout=_GCS_TIMEOUT_SECONDS
            )
            position += len(data)
            return data

        return scan_read(readinto_of(read))

    return _with_blob(uri, storage_endpoint, generation, scan_blob)


_T = TypeVar("_T")


def _with_blob(uri: str, storage_endpoint: str | None, generation: int | None, use: Callable[[Any], _T]) -> _T:
    """`use` the object's google-cloud-storage Blob, its metadata read (at `generation`, if
    given: its reads then get that version's bytes); Cloud Storage's errors as DatasetError."""
    if not uri.startswith("gs://"):
        raise DatasetError(
            uri, "only local paths and gs://bucket/object URIs can be read: give one of those."
        )
    named = gcs_object(uri)
    if named is None:
        raise DatasetError(uri, "the URI names no object: write it as gs://bucket/path/to/file.jsonl.")
    bucket_name, object_name = named
    # Imported here: google-cloud-storage is slow to import and only gs:// needs it.
    from google.api_core import exceptions as api_exceptions
    from google.auth import exceptions as auth_exceptions

    endpoint = _storage_endpoint(storage_endpoint)

    def translate(exc: Exception) -> DatasetError:
        if isinstance(exc, api_exceptions.NotFound):
            return DatasetError(
                uri,
                f"there is no object {object_name} in bucket {bucket_name} (or no such bucket): "
                "check the URI.",
            )
        if isinstance(exc, (api_exceptions.Forbidden, api_exceptions.Unauthorized)):
            return DatasetError(
                uri,
                f"permission denied reading it: grant the caller roles/storage.objectViewer on "
                f"bucket {bucket_name}.",
            )
        if isinstance(exc, auth_exceptions.DefaultCredentialsError):
            return DatasetError(
                uri,
                "no Google Cloud credentials were found: run `gcloud auth application-default "
                "login`, or point --storage-endpoint at the local emulator.",
            )
        if isinstance(exc, api_exceptions.GoogleAPICallError):
            return DatasetError(uri, f"Cloud Storage refused to serve it ({exc.message}).")
        where = f" at {endpoint}" if endpoint else ""
        hint = "is the emulator running?" if endpoint else "check the network and try again."
        return DatasetError(
            uri, f"Cloud Storage{where} could not be reached ({type(exc).__name__}): {hint}"
        )

    try:
        # Closed once the object is read: its HTTP session is not reused.
        with contextlib.closing(_storage_client(endpoint)) as client:
            blob = client.bucket(bucket_name).blob(object_name, generation=generation)
            blob.reload(retry=_gcs_retry(), timeout=_GCS_TIMEOUT_SECONDS)
            return use(blob)
    # Translated at this one boundary; requests' connection errors are OSErrors.
    except (api_exceptions.GoogleAPIError, auth_exceptions.GoogleAuthError, OSError) as exc:
        raise translate(exc) from exc


def _gcs_retry() -> Any:
    from google.cloud.storage.retry import DEFAULT_RETRY  # type: ignore[import-untyped]  # no type info

    # The default retries for two minutes; a check in `pulumi preview` should fail sooner.
    return DEFAULT_RETRY.with_timeout(_GCS_RETRY_SECONDS)


def _storage_endpoint(given: str | None) -> str | None:
    """The emulator's URL, from the argument or $STORAGE_EMULATOR_HOST; None for Google."""
    endpoint = given or os.environ.get("STORAGE_EMULATOR_HOST")
    if endpoint and "://" not in endpoint:
        endpoint = "http://" + endpoint  # the variable is often set as host:port
    return endpoint or None


def _storage_client(endpoint: str | None) -> Any:
    """Google's client with Application Default Credentials, or an anonymous one for the
    emulator at `endpoint`."""
    from google.cloud import storage  # type: ignore[import-untyped]  # no type information

    if not endpoint:
        return storage.Client()
    from google.auth.credentials import AnonymousCredentials

    return storage.Client(
        project="local",
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options={"api_endpoint": endpoint},
    )


