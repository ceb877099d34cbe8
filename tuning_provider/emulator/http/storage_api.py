"""The Cloud Storage JSON API as google-cloud-storage speaks it, over `gcs.GcsStore`: bucket
get, object list/get/delete, media downloads (whole, with hashes, or one byte range) and
simple uploads (uploadType=media or multipart). No auth: the emulator's storage is the test's
own folder. Faults only from rules that name its paths (`/storage/...`), never the random rate.

This module knows Cloud Storage's wire protocol (query parameters, media headers, ranges,
multipart bodies); `gcs` knows the objects.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from email.message import Message
from typing import Any

from tuning_provider.emulator.gcs import GcsStore, MediaFile
from tuning_provider.emulator.http.request import Request
from tuning_provider.emulator.http.response import FileSlice, HttpError, Response, json_response
from tuning_provider.emulator.paging import PageRequest
from tuning_provider.errors import InvalidRequest

__all__ = ["StorageApi"]

_BUCKET = r"/b/(?P<bucket>[^/]+)"
DEFAULT_MAX_RESULTS = 1000


class StorageApi:
    """The storage routes: each handler takes the request and its path's groups (bucket,
    object), and answers a Response."""

    def __init__(self, gcs: GcsStore) -> None:
        self._gcs = gcs

    def routes(self) -> dict[str, dict[str, Any]]:
        """Path pattern -> {HTTP method: handler}."""
        return {
            "/storage/v1" + _BUCKET: {"GET": self.get_bucket},
            "/storage/v1" + _BUCKET + "/o": {"GET": self.list_objects},
            "/storage/v1" + _BUCKET + "/o/(?P<object>.+)": {"GET": self.get_object, "DELETE": self.delete_object},
            "/download/storage/v1" + _BUCKET + "/o/(?P<object>.+)": {"GET": self.download_object},
            "/upload/storage/v1" + _BUCKET + "/o": {"POST": self.upload_object},
        }

    def get_bucket(self, request: Request, params: Mapping[str, str]) -> Response:
        return json_response(self._gcs.get_bucket(params["bucket"]))

    def list_objects(self, request: Request, params: Mapping[str, str]) -> Response:
        size = max(1, request.query_int("maxResults") or DEFAULT_MAX_RESULTS)
        page = PageRequest(size, request.query_value("pageToken"))
        return json_response(
            self._gcs.list_objects(
                params["bucket"], prefix=request.query_value("prefix"), delimiter=request.query_value("delimiter"),
                page=page,
            )
        )

    def get_object(self, request: Request, params: Mapping[str, str]) -> Response:
        if request.query.get("alt") == "media":
            return self.download_object(request, params)
        return json_response(self._gcs.get_object(params["bucket"], params["object"]))

    def delete_object(self, request: Request, params: Mapping[str, str]) -> Response:
        self._gcs.delete_object(params["bucket"], params["object"])
        return Response(status=204)

    def download_object(self, request: Request, params: Mapping[str, str]) -> Response:
        return _media_response(self._gcs.media(params["bucket"], params["object"]), request.headers.get("range"))

    def upload_object(self, request: Request, params: Mapping[str, str]) -> Response:
        upload_type = request.query.get("uploadType", "")
        if upload_type == "media":
            name, data = request.query.get("name", ""), request.body
        elif upload_type == "multipart":
            metadata, data = _split_multipart(request)
            name = request.query.get("name") or str(metadata.get("name") or "")
        else:
            raise InvalidRequest(
                f"uploadType={upload_type!r} is not supported by the emulator; use media or multipart."
            )
        if not name:
            raise InvalidRequest("The object name is required (the name parameter or metadata field).")
        return json_response(self._gcs.insert_object(params["bucket"], name, data))


def _media_response(media: MediaFile, range_header: str | None) -> Response:
    """The object's bytes: all of them (200, with hashes) or the requested range (206)."""
    meta = media.metadata
    headers = {
        "Content-Type": meta["contentType"],
        "Accept-Ranges": "bytes",
        "x-goog-generation": meta["generation"],
        "x-goog-metageneration": meta["metageneration"],
        "x-goog-stored-content-length": str(media.size),
        "x-goog-stored-content-encoding": "identity",
    }
    span = _byte_range(range_header, media.size) if range_header else None
    if span is None:
        hashes = [f"md5={meta['md5Hash']}"] + ([f"crc32c={meta['crc32c']}"] if "crc32c" in meta else [])
        headers["x-goog-hash"] = ",".join(hashes)
        return Response(200, FileSlice(media.path, 0, media.size), headers)
    start, end = span
    headers["Content-Range"] = f"bytes {start}-{end}/{media.size}"
    return Response(206, FileSlice(media.path, start, end - start + 1), headers)


def _byte_range(header: str, size: int) -> tuple[int, int] | None:
    """(first, last) byte of a single `bytes=` range; None to send everything (a header the
    server does not understand is ignored, as HTTP says). 416 if it starts past the end."""
    match = re.fullmatch(r"\s*bytes=(\d*)-(\d*)\s*", header)
    if not match or (not match[1] and not match[2]):
        return None
    if not match[1]:  # bytes=-N: the last N bytes
        start, end = max(0, size - int(match[2])), size - 1
    else:
        start = int(match[1])
        end = min(int(match[2]), size - 1) if match[2] else size - 1
    if start >= size or start > end:
        raise HttpError(
            f"The requested range {header} is not satisfiable for an object of {size} bytes.",
            status=416, code="OUT_OF_RANGE", headers={"Content-Range": f"bytes */{size}"},
        )
    return start, end


def _split_multipart(request: Request) -> tuple[dict[str, Any], bytes]:
    """(metadata, data) of a multipart/related upload: a JSON part, then the media part."""
    header = Message()
    header["content-type"] = request.headers.get("content-type", "")
    boundary = header.get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        raise InvalidRequest("A multipart upload needs a multipart/related Content-Type with a boundary.")
    delimiter = b"--" + boundary.encode()
    parts = []
    for chunk in request.body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        _, _, payload = chunk.partition(b"\r\n\r\n")
        parts.append(payload[:-2] if payload.endswith(b"\r\n") else payload)
    if len(parts) != 2:
        raise InvalidRequest("A multipart upload has two parts: the JSON metadata, then the data.")
    try:
        metadata = json.loads(parts[0] or b"{}")
    except ValueError:
        raise InvalidRequest("The first part of a multipart upload must be JSON metadata.") from None
    return (metadata if isinstance(metadata, dict) else {}), parts[1]
