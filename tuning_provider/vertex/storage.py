"""gs:// objects in Cloud Storage: one version of an object, its metadata and its bytes by
range, read with google-cloud-storage where the connection's `storage` service says, every
call through the boundary (its errors, its retries).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tuning_provider.connection import Service
from tuning_provider.vertex.boundary import RetryPolicy, call
from tuning_provider.vertex.client import storage_client

__all__ = ["STORAGE_RETRY", "StoredObject", "open_object"]

# A check in `pulumi preview` should fail within seconds, not retry for minutes.
STORAGE_RETRY = RetryPolicy(attempts=5, initial_delay=0.5, max_delay=5.0, max_elapsed=20.0)
# How long one Cloud Storage request waits for its answer.
_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class StoredObject:
    """One version of a gs:// object, open for reading: its metadata, and its bytes by range."""

    uri: str
    generation: int
    size: int
    # The content's checksum as Cloud Storage keeps it: "crc32c:...", else "md5:...".
    checksum: str
    _blob: Any
    _retry: RetryPolicy

    def read(self, start: int, end: int) -> bytes:
        """Bytes `start` to `end` (inclusive, as Cloud Storage counts ranges) of this version."""
        data: bytes = call(
            f"reading bytes {start}-{end} of {self.uri}",
            lambda: self._blob.download_as_bytes(start=start, end=end, checksum=None, retry=None,
                                                 timeout=_TIMEOUT_SECONDS),
            self._retry,
        )
        return data


@contextlib.contextmanager
def open_object(
    storage: Service, bucket: str, name: str, *, generation: int | None = None, retry: RetryPolicy = STORAGE_RETRY
) -> Iterator[StoredObject]:
    """The object `name` in `bucket` (at `generation`, if given: reads then get that version's
    bytes), its metadata read; ApiErrors as the boundary raises them (NotFound for no such
    object or bucket). Its client is closed on leaving: one object, one HTTP session."""
    uri = f"gs://{bucket}/{name}"
    client = call(f"connecting to Cloud Storage for {uri}", lambda: storage_client(storage), retry)
    with contextlib.closing(client):
        blob = client.bucket(bucket).blob(name, generation=generation)
        call(f"reading {uri}", lambda: blob.reload(retry=None, timeout=_TIMEOUT_SECONDS), retry)
        checksum = f"crc32c:{blob.crc32c}" if blob.crc32c else f"md5:{blob.md5_hash}"
        yield StoredObject(uri, int(blob.generation or 0), int(blob.size or 0), checksum, blob, retry)
