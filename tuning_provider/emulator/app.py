"""HTTP requests in, HTTP responses out: the one route table of the emulator, request parsing,
and the one place that turns typed errors into Google's JSON error body.

    {"error": {"code": 404, "message": "...", "status": "NOT_FOUND"}}

Served on one port:
- Vertex AI (`/v1/` or `/v1beta1/` + `projects/P/locations/L/...`): tuning jobs (create, get,
  list, cancel), tuned models (get, delete), endpoints (get, delete, undeployModel,
  generateContent). They require `Authorization: Bearer <any token>` (401 otherwise); once
  authenticated, and before any state is touched, they pass through fault injection when a
  fault rate is set.
- Cloud Storage JSON API, the read subset plus simple uploads, without auth and without
  faults: bucket get, object list/get/delete, media download (with Range), media and
  multipart upload.
A wrong method on a known path is 405 (with Allow); an unknown path is a 404 JSON body;
nothing a client sends can crash the server (an unexpected error is a 500 JSON body).
This module knows HTTP; `state` knows the resources; `responder` knows the answers.
"""

from __future__ import annotations

import json
import logging
import random
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote

from tuning_provider.emulator import responder
from tuning_provider.emulator.gcs import GcsStore, MediaFile
from tuning_provider.emulator.state import VertexState
from tuning_provider.errors import (
    ApiError,
    Conflict,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    Transient,
    Unauthenticated,
)

__all__ = [
    "App",
    "FaultInjector",
    "FileSlice",
    "HttpError",
    "Request",
    "Response",
    "camel_keys",
    "error_response",
    "json_response",
]

_log = logging.getLogger(__name__)

Service = Literal["vertex", "gcs"]

# Values under these keys are user data (label maps, schemas, function arguments): their keys
# are kept as sent when snake_case names are turned into camelCase.
_OPAQUE_VALUES = frozenset(
    {"labels", "responseSchema", "responseJsonSchema", "parameters", "parametersJsonSchema", "args",
     "response"}
)


# --- requests and responses ---------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One HTTP request, as the server read it."""

    method: str
    path: str  # still percent-encoded, without the query
    query: Mapping[str, str]
    headers: Mapping[str, str]  # names in lowercase
    body: bytes = b""

    @classmethod
    def from_target(cls, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Request:
        path, _, query = target.partition("?")
        return cls(
            method=method.upper(),
            path=path,
            query=dict(parse_qsl(query, keep_blank_values=True)),
            headers={k.lower(): v for k, v in headers.items()},
            body=body,
        )

    def json(self) -> dict[str, Any]:
        """The body as a JSON object ({} when empty), its keys camelCase as proto JSON allows."""
        if not self.body.strip():
            return {}
        try:
            value = json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidRequest(f"Invalid JSON payload received. {exc}.") from None
        if not isinstance(value, dict):
            raise InvalidRequest("Invalid JSON payload received. The request body must be a JSON object.")
        body: dict[str, Any] = camel_keys(value)
        return body


@dataclass(frozen=True)
class FileSlice:
    """A response body read from a file: `length` bytes from `start`."""

    path: Path
    start: int
    length: int


@dataclass
class Response:
    status: int
    body: bytes | FileSlice = b""
    headers: dict[str, str] = field(default_factory=dict)


def json_response(value: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(
        status=status,
        body=json.dumps(value).encode(),
        headers={"Content-Type": "application/json; charset=UTF-8", **(headers or {})},
    )


def camel_keys(value: Any) -> Any:
    """Proto JSON parsers accept the proto's snake_case names as well as lowerCamelCase;
    settle on camelCase. Values of user-data keys (`_OPAQUE_VALUES`) are kept as sent."""
    if isinstance(value, dict):
        result = {}
        for key, item in value.items():
            name = _camel(key) if isinstance(key, str) else key
            result[name] = item if name in _OPAQUE_VALUES else camel_keys(item)
        return result
    if isinstance(value, list):
        return [camel_keys(item) for item in value]
    return value


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


# --- errors: the one mapping to Google's error body ---------------------------------------


class HttpError(ApiError):
    """An error of the HTTP layer itself (405, 416), with headers to send along."""

    def __init__(self, message: str, *, status: int, code: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message, status=status, code=code)
        self.headers = dict(headers or {})


# Most specific first: the HTTP status and Google status of each typed error, unless the
# error carries its own (FAILED_PRECONDITION, RESOURCE_EXHAUSTED...).
_ERROR_STATUSES: tuple[tuple[type[ApiError], int, str], ...] = (
    (NotFound, 404, "NOT_FOUND"),
    (Unauthenticated, 401, "UNAUTHENTICATED"),
    (PermissionDenied, 403, "PERMISSION_DENIED"),
    (Conflict, 409, "ALREADY_EXISTS"),
    (InvalidRequest, 400, "INVALID_ARGUMENT"),
    (Transient, 503, "UNAVAILABLE"),
    (ApiError, 500, "INTERNAL"),
)


def error_response(exc: ApiError) -> Response:
    """Google's JSON error body with the HTTP status the error stands for."""
    status, code = next((s, c) for cls, s, c in _ERROR_STATUSES if isinstance(exc, cls))
    status = exc.status or status
    code = exc.code or code
    headers = exc.headers if isinstance(exc, HttpError) else {}
    return json_response({"error": {"code": status, "message": exc.message, "status": code}}, status, headers)


# --- fault injection ------------------------------------------------------------------------


class FaultInjector:
    """Answers a fraction of Vertex requests 429 or 503 before they touch any state.

    With a seed the sequence of faults is the same on every run (for requests made one
    after another; concurrent requests take their turns in arrival order).
    """

    def __init__(self, rate: float = 0.0, seed: int | None = None) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"fault rate must be between 0 and 1, not {rate}")
        self.rate = rate
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def next_fault(self) -> ApiError | None:
        if self.rate == 0.0:
            return None
        with self._lock:
            roll, kind = self._random.random(), self._random.random()
        if roll >= self.rate:
            return None
        if kind < 0.5:
            return Transient(
                "Quota exceeded for tuning requests per minute; retry later. "
                "(Fault injected by the emulator's --fault-rate.)",
                status=429, code="RESOURCE_EXHAUSTED",
            )
        return Transient(
            "The service is currently unavailable. (Fault injected by the emulator's --fault-rate.)",
            status=503, code="UNAVAILABLE",
        )


# --- the application: one route table ----------------------------------------------------

Handler = Callable[[Request, Mapping[str, str]], Response]


@dataclass(frozen=True)
class Route:
    pattern: re.Pattern[str]
    methods: Mapping[str, Handler]
    service: Service


_PARENT = r"/(?:v1|v1beta1)/projects/(?P<project>[^/:]+)/locations/(?P<location>[^/:]+)"
_ID = r"[^/:]+"
_BUCKET = r"/b/(?P<bucket>[^/]+)"


class App:
    """Routes requests to the state's operations and turns their answers into responses."""

    def __init__(self, vertex: VertexState, gcs: GcsStore, faults: FaultInjector | None = None) -> None:
        self._vertex = vertex
        self._gcs = gcs
        self._faults = faults or FaultInjector()
        self._routes = self._route_table()

    def _route_table(self) -> tuple[Route, ...]:
        def route(pattern: str, service: Service, **methods: Handler) -> Route:
            return Route(re.compile(pattern), methods, service)

        return (
            route(_PARENT + r"/tuningJobs", "vertex", GET=self.list_tuning_jobs, POST=self.create_tuning_job),
            route(_PARENT + rf"/tuningJobs/(?P<job>{_ID})", "vertex", GET=self.get_tuning_job),
            route(_PARENT + rf"/tuningJobs/(?P<job>{_ID}):cancel", "vertex", POST=self.cancel_tuning_job),
            route(_PARENT + rf"/models/(?P<model>{_ID})", "vertex", GET=self.get_model, DELETE=self.delete_model),
            route(_PARENT + rf"/endpoints/(?P<endpoint>{_ID})", "vertex",
                  GET=self.get_endpoint, DELETE=self.delete_endpoint),
            route(_PARENT + rf"/endpoints/(?P<endpoint>{_ID}):undeployModel", "vertex", POST=self.undeploy_model),
            route(_PARENT + rf"/endpoints/(?P<endpoint>{_ID}):generateContent", "vertex",
                  POST=self.generate_content),
            route(r"/storage/v1" + _BUCKET, "gcs", GET=self.get_bucket),
            route(r"/storage/v1" + _BUCKET + r"/o", "gcs", GET=self.list_objects),
            route(r"/storage/v1" + _BUCKET + r"/o/(?P<object>.+)", "gcs",
                  GET=self.get_object, DELETE=self.delete_object),
            route(r"/download/storage/v1" + _BUCKET + r"/o/(?P<object>.+)", "gcs", GET=self.download_object),
            route(r"/upload/storage/v1" + _BUCKET + r"/o", "gcs", POST=self.upload_object),
        )

    def handle(self, request: Request) -> Response:
        """The response to any request; never raises."""
        try:
            route, params = self._match(request.path)
            # HEAD is GET without the body, which the server leaves out.
            method = "GET" if request.method == "HEAD" else request.method
            handler = route.methods.get(method)
            if handler is None:
                allowed = ", ".join(sorted(route.methods))
                raise HttpError(
                    f"Method {request.method} is not allowed on {request.path}; allowed: {allowed}.",
                    status=405, code="METHOD_NOT_ALLOWED", headers={"Allow": allowed},
                )
            if route.service == "vertex":
                _authenticate(request)
                if fault := self._faults.next_fault():
                    raise fault
            return handler(request, params)
        except ApiError as exc:
            return error_response(exc)
        except Exception as exc:  # a bug in the emulator must not take the server down
            _log.exception("emulator error on %s %s", request.method, request.path)
            return error_response(ApiError(f"Internal error in the emulator: {exc!r}", status=500, code="INTERNAL"))

    def _match(self, path: str) -> tuple[Route, dict[str, str]]:
        for route in self._routes:
            if match := route.pattern.fullmatch(path):
                return route, {k: unquote(v) for k, v in match.groupdict().items()}
        raise NotFound(f"The requested URL {path} was not found on this server.")

    # --- Vertex AI ---------------------------------------------------------------------

    def create_tuning_job(self, request: Request, params: Mapping[str, str]) -> Response:
        return json_response(self._vertex.create_tuning_job(_parent(params), request.json()))

    def get_tuning_job(self, request: Request, params: Mapping[str, str]) -> Response:
        return json_response(self._vertex.get_tuning_job(f"{_parent(params)}/tuningJobs/{params['job']}"))

    def list_tuning_jobs(self, request: Request, params: Mapping[str, str]) -> Response:
        return json_response(
            self._vertex.list_tuning_jobs(
                _parent(params),
                filter_text=_query(request, "filter"),
                page_size=_int_query(request, "pageSize"),
                page_token=_query(request, "pageToken"),
            )
        )

    def cancel_tuning_job(self, request: Request, params: Mapping[str, str]) -> Response:
        request.json()  # the body is {}; anything else must at least be JSON
        return json_response(self._vertex.cancel_tuning_job(f"{_parent(params)}/tuningJobs/{params['job']}"))

    def get_model(self, request: Request, params: Mapping[str, str]) -> Response:
        return json_response(self._vertex.get_model(f"{_parent(params)}/models/{params['model']}"))

    def delete_model(self, request: Request, params: Mapping[str, str]) -> Response:
        return json_response(self._vertex.delete_model(f"{_parent(params)}/models/{params['model']}"))

    def get_endpoint(self, request: Request, params: Mapping[str, str]) -> Response:
        return json_response(self._vertex.get_endpoint(_endpoint(params)))

    def delete_endpoint(self, request: Request, params: Mapping[str, str]) -> Response:
        return json_response(self._vertex.delete_endpoint(_endpoint(params)))

    def undeploy_model(self, request: Request, params: Mapping[str, str]) -> Response:
        deployed_model_id = request.json().get("deployedModelId")
        return json_response(self._vertex.undeploy_model(_endpoint(params), str(deployed_model_id or "")))

    def generate_content(self, request: Request, params: Mapping[str, str]) -> Response:
        generation = responder.parse_generation_request(request.json())
        return json_response(self._vertex.generate_content(_endpoint(params), generation))

    # --- Cloud Storage -----------------------------------------------------------------

    def get_bucket(self, request: Request, params: Mapping[str, str]) -> Response:
        return json_response(self._gcs.get_bucket(params["bucket"]))

    def list_objects(self, request: Request, params: Mapping[str, str]) -> Response:
        return json_response(
            self._gcs.list_objects(
                params["bucket"],
                prefix=_query(request, "prefix"),
                delimiter=_query(request, "delimiter"),
                page_token=_query(request, "pageToken"),
                max_results=max(1, _int_query(request, "maxResults") or 1000),
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


# --- parsing helpers ----------------------------------------------------------------------


def _parent(params: Mapping[str, str]) -> str:
    return f"projects/{params['project']}/locations/{params['location']}"


def _endpoint(params: Mapping[str, str]) -> str:
    return f"{_parent(params)}/endpoints/{params['endpoint']}"


def _query(request: Request, name: str) -> str:
    """A query parameter by its camelCase or snake_case name, as Google accepts both."""
    snake = re.sub(r"([A-Z])", lambda m: "_" + m[1].lower(), name)
    return request.query.get(name) or request.query.get(snake) or ""


def _int_query(request: Request, name: str) -> int | None:
    value = _query(request, name)
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise InvalidRequest(f"Invalid value for {name}: {value!r} is not an integer.") from None


def _authenticate(request: Request) -> None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated(
            "Request is missing required authentication credential: a bearer token is required "
            "('Authorization: Bearer <token>'; the emulator accepts any token)."
        )


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
