"""Cloud Storage for the emulator: buckets are folders of GCS_DIR, gs://BUCKET/OBJECT is the
file GCS_DIR/BUCKET/OBJECT. The Vertex side reads datasets through it; the HTTP layer's
`storage_api` serves it to google-cloud-storage (metadata, ranged media downloads, listing,
uploads)."""

from __future__ import annotations

import base64
import hashlib
import mimetypes
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tuning_provider.emulator.formats import GCS_URI, rfc3339
from tuning_provider.emulator.paging import PageRequest, paginate
from tuning_provider.errors import InvalidRequest, NotFound

__all__ = ["GcsStore", "MediaFile"]


@dataclass(frozen=True)
class MediaFile:
    """An object's bytes on disk and its metadata, for a media download."""

    path: Path
    size: int
    metadata: dict[str, Any]


class GcsStore:
    """gs://BUCKET/OBJECT is the file ROOT/BUCKET/OBJECT; a bucket is a folder of ROOT."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        # Hashing a big dataset on every metadata call would be slow; keyed by size and mtime.
        self._hash_cache: dict[tuple[str, int, int], tuple[str, str | None]] = {}
        self._lock = threading.Lock()

    # The Vertex side's view.
    def local_path(self, uri: str) -> Path:
        """The file behind a gs:// URI (which may not exist); InvalidRequest for a bad URI."""
        match = GCS_URI.fullmatch(uri)
        if not match:
            raise InvalidRequest(f"Invalid GCS URI {uri!r}: expected gs://BUCKET/OBJECT.")
        return self._object_path(match["bucket"], match["object"])

    # Operations of the JSON API.
    def get_bucket(self, bucket: str) -> dict[str, Any]:
        folder = self._bucket_path(bucket)
        if not folder.is_dir():
            raise NotFound(f"The specified bucket does not exist: {bucket}.")
        stat = folder.stat()
        return {
            "kind": "storage#bucket",
            "id": bucket,
            "name": bucket,
            "location": "US",
            "storageClass": "STANDARD",
            "timeCreated": rfc3339(stat.st_mtime),
            "updated": rfc3339(stat.st_mtime),
            "metageneration": "1",
        }

    def get_object(self, bucket: str, name: str) -> dict[str, Any]:
        return self.media(bucket, name).metadata

    def media(self, bucket: str, name: str) -> MediaFile:
        path = self._object_path(bucket, name)
        if not path.is_file():
            self.get_bucket(bucket)  # a missing bucket is its own 404
            raise NotFound(f"No such object: {bucket}/{name}")
        stat = path.stat()
        return MediaFile(path=path, size=stat.st_size, metadata=self._metadata(bucket, name, path, stat))

    def list_objects(self, bucket: str, *, prefix: str = "", delimiter: str = "", page: PageRequest) -> dict[str, Any]:
        """Objects by name under `prefix`; with a `delimiter`, the names that go on past it are
        folded into one `prefixes` entry each. Items and prefixes share one page."""
        folder = self._bucket_path(bucket)
        self.get_bucket(bucket)
        entries: dict[str, str | None] = {}  # sort key -> object name (None: a folded prefix)
        for path in folder.rglob("*"):
            name = path.relative_to(folder).as_posix()
            if not path.is_file() or not name.startswith(prefix):
                continue
            rest = name[len(prefix):]
            if delimiter and delimiter in rest:
                entries[prefix + rest.split(delimiter, 1)[0] + delimiter] = None
            else:
                entries[name] = name
        found = paginate((((key,), (key, name)) for key, name in entries.items()), page, default_size=1000)
        items = [self._metadata(bucket, name, folder / name, (folder / name).stat()) for _, name in found.items if name]
        answer: dict[str, Any] = {"kind": "storage#objects", "items": items}
        prefixes = [key for key, name in found.items if name is None]
        if prefixes:
            answer["prefixes"] = prefixes
        if found.next_token:
            answer["nextPageToken"] = found.next_token
        return answer

    def insert_object(self, bucket: str, name: str, data: bytes) -> dict[str, Any]:
        self.get_bucket(bucket)
        path = self._object_path(bucket, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write aside, then rename: a reader never sees half an object.
        spare = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.upload")
        spare.write_bytes(data)
        os.replace(spare, path)
        return self.get_object(bucket, name)

    def delete_object(self, bucket: str, name: str) -> None:
        path = self._object_path(bucket, name)
        if not path.is_file():
            raise NotFound(f"No such object: {bucket}/{name}")
        path.unlink()

    # Paths and metadata.
    def _bucket_path(self, bucket: str) -> Path:
        if not bucket or "/" in bucket or bucket.startswith("."):
            raise InvalidRequest(f"Invalid bucket name: {bucket!r}.")
        return self.root / bucket

    def _object_path(self, bucket: str, name: str) -> Path:
        segments = name.split("/")
        # Refuse names that would leave the bucket's folder or hide as upload leftovers.
        if not name or any(s in ("", ".", "..") or s.startswith(".") for s in segments):
            raise InvalidRequest(f"Invalid object name: {name!r}.")
        return self._bucket_path(bucket).joinpath(*segments)

    def _metadata(self, bucket: str, name: str, path: Path, stat: os.stat_result) -> dict[str, Any]:
        md5, crc32c = self._hashes(path, stat)
        generation = str(stat.st_mtime_ns // 1000)  # GCS generations are microsecond times
        content_type = "application/jsonl" if name.endswith(".jsonl") else (
            mimetypes.guess_type(name)[0] or "application/octet-stream"
        )
        metadata = {
            "kind": "storage#object",
            "id": f"{bucket}/{name}/{generation}",
            "name": name,
            "bucket": bucket,
            "generation": generation,
            "metageneration": "1",
            "contentType": content_type,
            "storageClass": "STANDARD",
            "size": str(stat.st_size),
            "md5Hash": md5,
            "timeCreated": rfc3339(stat.st_mtime),
            "updated": rfc3339(stat.st_mtime),
        }
        if crc32c:
            metadata["crc32c"] = crc32c
        return metadata

    def _hashes(self, path: Path, stat: os.stat_result) -> tuple[str, str | None]:
        key = (str(path), stat.st_size, stat.st_mtime_ns)
        with self._lock:
            if key in self._hash_cache:
                return self._hash_cache[key]
        md5 = hashlib.md5(usedforsecurity=False)
        crc = _crc32c_hasher()
        with path.open("rb") as data:
            for chunk in iter(lambda: data.read(1 << 20), b""):
                md5.update(chunk)
                if crc is not None:
                    crc.update(chunk)
        hashes = (
            base64.b64encode(md5.digest()).decode(),
            base64.b64encode(crc.digest()).decode() if crc is not None else None,
        )
        with self._lock:
            self._hash_cache[key] = hashes
        return hashes


def _crc32c_hasher() -> Any:
    # google-crc32c comes with google-cloud-storage; without it objects just lack crc32c.
    try:
        import google_crc32c
    except ImportError:
        return None
    return google_crc32c.Checksum()  # type: ignore[no-untyped-call]
