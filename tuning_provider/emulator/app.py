"""HTTP requests in, HTTP responses out: the one route table of the emulator, and the one
place that turns typed errors into Google's JSON error body.

    {"error": {"code": 404, "message": "...", "status": "NOT_FOUND"}}

`status` is always a google.rpc.Code name (`RPC_CODES`), the HTTP status the one Google maps
it to (`HTTP_TO_RPC_CODE` for errors of the HTTP layer itself).

Served on one port:
- Vertex AI (`/v1/` or `/v1beta1/` + `projects/P/locations/L/...`): the routes of `App.ROUTES`.
  Request bodies are read by `wire.read` against `messages`; responses are written by
  `wire.for_version` for the API version of the path. They require `Authorization: Bearer
  <any token>` (401 otherwise); once authenticated, and before any state is touched, they
  pass through fault injection when a fault rate is set.
  Multimodal datasets' BigQuery tables are read by the Vertex side only (`bigquery`): no
  BigQuery API is served.
- Cloud Storage JSON API, the read subset plus simple uploads, without auth and without
  faults: bucket get, object list/get/delete, media download (with Range), media and
  multipart upload.
A wrong method on a known path is 405 UNIMPLEMENTED (with Allow); an unknown path is a 404
JSON body; nothing a client sends can crash the server (an unexpected error is a 500 body).
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

from tuning_provider.emulator import messages, responder, wire
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
    "HTTP_TO_RPC_CODE",
    "RPC_CODES",
    "Response",
    "error_response",
    "json_response",
    "rpc_code_for",
]

_log = logging.getLogger(__name__)

Service = Literal["vertex", "gcs"]

# --- requests and responses ---------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One HTTP request, as the server read it."""

    method: str
    path: str  # still percent-encoded, without the query
    query: Mapping[str, str]
    headers: Mapping[str, str]  # names in lowercase
    body: bytes = b""
    # Every value of each query parameter, for repeated fields (?timeSeries=a&timeSeries=b).
    query_lists: Mapping[str, list[str]] = field(default_factory=dict)

    @classmethod
    def from_target(cls, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Request:
        path, _, query = target.partition("?")
        pairs = parse_qsl(query, keep_blank_values=True)
        lists: dict[str, list[str]] = {}
        for name, value in pairs:
            lists.setdefault(name, []).append(value)
        return cls(
            method=method.upper(),
            path=path,
            query=dict(pairs),
            headers={k.lower(): v for k, v in headers.items()},
            body=body,
            query_lists=lists,
        )

    def json(self) -> dict[str, Any]:
        """The body as a JSON object ({} when empty), exactly as sent."""
        if not self.body.strip():
            return {}
        try:
            value = json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidRequest(f"Invalid JSON payload received. {exc}.") from None
        if not isinstance(value, dict):
            raise InvalidRequest("Invalid JSON payload received. The request body must be a JSON object.")
        return value

    def message(self, message: wire.Message, where: str) -> dict[str, Any]:
        """The body read as `message` by the proto3 JSON reading layer (canonical JSON)."""
        return wire.read(self.json(), message, where)


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


# The names of google.rpc.Code: the only values of an error body's `status`, which clients
# map to their exception types.
RPC_CODES = frozenset(
    {"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
     "PERMISSION_DENIED", "UNAUTHENTICATED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
     "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS"}
)
# The google.rpc.Code of an HTTP status the HTTP layer answers by itself (a wrong method, a
# malformed request line, an oversized header): Google's own HTTP <-> code mapping, with 405
# (a method this path does not implement) as UNIMPLEMENTED.
HTTP_TO_RPC_CODE: Mapping[int, str] = {
    400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
    405: "UNIMPLEMENTED", 408: "DEADLINE_EXCEEDED", 409: "ABORTED", 411: "INVALID_ARGUMENT",
    413: "OUT_OF_RANGE", 414: "INVALID_ARGUMENT", 416: "OUT_OF_RANGE", 429: "RESOURCE_EXHAUSTED",
    431: "INVALID_ARGUMENT", 499: "CANCELLED", 500: "INTERNAL", 501: "UNIMPLEMENTED", 503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED", 505: "UNIMPLEMENTED",
}


def rpc_code_for(http_status: int) -> str:
    """The google.rpc.Code name for an HTTP status (UNKNOWN for one Google never uses)."""
    if http_status in HTTP_TO_RPC_CODE:
        return HTTP_TO_RPC_CODE[http_status]
    return "INVALID_ARGUMENT" if 400 <= http_status < 500 else "UNKNOWN"


def error_response(exc: ApiError) -> Response:
    """Google's JSON error body with the HTTP status the error stands for."""
    status, code = next((s, c) for cls, s, c in _ERROR_STATUSES if isinstance(exc, cls))
    status = exc.status or status
    code = exc.code or code
    if code not in RPC_CODES:  # a bug: say something every client understands
        code = rpc_code_for(status)
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

# A handler answers a Response, or for Vertex a resource (JSON in v1 spelling) that
# `handle` writes for the version of the path.
Handler = Callable[[Request, Mapping[str, str]], "Response | dict[str, Any]"]


@dataclass(frozen=True)
class Route:
    pattern: re.Pattern[str]
    methods: Mapping[str, Handler]
    service: Service


_PARENT = r"/(?P<version>v1|v1beta1)/projects/(?P<project>[^/:]+)/locations/(?P<location>[^/:]+)"
_ID = r"[^/:]+"
_CONTEXTS = _PARENT + r"/metadataStores/(?P<store>[^/:]+)/contexts"
_TENSORBOARD = _PARENT + rf"/tensorboards/(?P<tensorboard>{_ID})"
_RUN = _TENSORBOARD + rf"/experiments/(?P<experiment>{_ID})/runs/(?P<run>{_ID})"
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
            route(_PARENT + r"/datasets", "vertex", GET=self.list_datasets, POST=self.create_dataset),
            route(_PARENT + rf"/datasets/(?P<dataset>{_ID})", "vertex",
                  GET=self.get_dataset, DELETE=self.delete_dataset),
            route(_PARENT + rf"/datasets/(?P<dataset>{_ID})/operations/(?P<operation>{_ID})", "vertex",
                  GET=self.get_dataset_operation),
            route(_PARENT + r"/models", "vertex", GET=self.list_models),
            route(_PARENT + rf"/models/(?P<model>{_ID})", "vertex", GET=self.get_model, DELETE=self.delete_model),
            route(_PARENT + rf"/models/(?P<model>{_ID}):listVersions", "vertex", GET=self.list_model_versions),
            route(_PARENT + rf"/models/(?P<model>{_ID}):deleteVersion", "vertex", DELETE=self.delete_model_version),
            route(_PARENT + rf"/models/(?P<model>{_ID}):mergeVersionAliases", "vertex",
                  POST=self.merge_version_aliases),
            route(_PARENT + rf"/endpoints/(?P<endpoint>{_ID})", "vertex",
                  GET=self.get_endpoint, DELETE=self.delete_endpoint),
            route(_PARENT + rf"/endpoints/(?P<endpoint>{_ID}):undeployModel", "vertex", POST=self.undeploy_model),
            route(_PARENT + rf"/endpoints/(?P<endpoint>{_ID}):generateContent", "vertex",
                  POST=self.generate_content),
            route(_PARENT + r"/metadataStores/(?P<store>[^/:]+)", "vertex", GET=self.get_metadata_store),
            route(_CONTEXTS, "vertex", GET=self.list_contexts),
            route(_CONTEXTS + rf"/(?P<context>{_ID})", "vertex", GET=self.get_context),
            route(_TENSORBOARD, "vertex", GET=self.get_tensorboard),
            route(_TENSORBOARD + ":batchRead", "vertex", GET=self.batch_read_time_series_data),
            route(_TENSORBOARD + rf"/experiments/(?P<experiment>{_ID})", "vertex", GET=self.get_tensorboard_experiment),
            route(_RUN, "vertex", GET=self.get_tensorboard_run),
            route(_RUN + "/timeSeries", "vertex", GET=self.list_time_series),
            route(_RUN + rf"/timeSeries/(?P<series>{_ID})", "vertex", GET=self.get_time_series),
            route(_RUN + rf"/timeSeries/(?P<series>{_ID}):read", "vertex", GET=self.read_time_series_data),
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
                    status=405, code="UNIMPLEMENTED", headers={"Allow": allowed},
                )
            if route.service == "vertex":
                _authenticate(request)
                if fault := self._faults.next_fault():
                    raise fault
                self._vertex.advance()  # jobs move with the clock; reads then see where they are
            answer = handler(request, params)
            if isinstance(answer, Response):
                return answer
            # The GAPIC REST transport asks for enums as numbers on every call.
            numbers = "enum-encoding=int" in request.query.get("$alt", "")
            return json_response(
                wire.for_version(answer, params["version"], messages.RESPONSE_ENUMS if numbers else None)
            )
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

    # --- Vertex AI: tuning jobs ----------------------------------------------------------

    def create_tuning_job(self, request: Request, params: Mapping[str, str]) -> dict[str, Any]:
        body = request.message(messages.TUNING_JOB, "tuning_job")
        return self._vertex.tuning_jobs.create_tuning_job(_parent(params), body)

    def get_tuning_job(self, request: Request, params: Mapping[str, str]) -> dict[str, Any]:
        return self._vertex.tuning_jobs.get_tuning_job(f"{_parent(params)}/tuningJobs/{params['job']}")

    def list_tuning_jobs(self, request: Request, params: Mapping[str, str]) -> dict[str, Any]:
        return self._vertex.tuning_jobs.list_tuning_jobs(
            _parent(params),
            filter_text=_query(request, "filter"),
            page_size=_int_query(request, "pageSize"),
            page_token=_query(request, "pageToken"),
        )

    def cancel_tuning_job(self, request: Request, params: Mapping[str, str]) -> dict[str, Any]:
        request.message(messages.CANCEL_TUNING_JOB_REQUEST, "cancel_tuning_job_request")  # {} or the name
        return self._vertex.tuning_jobs.cancel_tuning_job(f"{_parent(params)}/tuningJobs/{params['job']}")

    # --- Vertex AI: datasets -----------------------------------------------------------------

    def create_dataset(self, request: Request, params: Mapping[str, str]) -> dict[str, Any]:
        body = request.message(messages.DATASET, "dataset")
        return self._vertex.datasets.create_dataset(_parent(params), body)

    def get_dataset(self, request: Request, params: Mapping[str, str]) -> dict[str, Any]:
        return self._vertex.datasets.get_dataset(_dataset(params))

    def list_datasets(self, request: Request, params: Mapping[str, str]) -> dict[str, Any]:
        return self._vertex.datasets.list_datasets(
            _parent(params),
            filter_text=_query(request, "filter"),
            page_size=_int_query(request, "pageSize"),
            page_token=_query(request, "pageToken"),
            order_by=_query(request, "orderBy"),
        )

    def delete_dataset(self, request: Request, params: Mapping[str, str]) -> dict[str, Any]:
        return self._vertex.datasets.delete_dataset(_dataset(params))

    def get_dataset_operation(self, request: Request, params: Mapping[str, str]) -> dict[str, Any]:
        return self._vertex.datasets.get_operation(f"{_dataset(params)}/operations/{params['operation']}")

    # --- Vertex AI: models and endpoints ---------------------------------------------------

    def list_models(self, request: Request, params: Mapping[str, str]) -> dict[str, Any]:
        return self._vertex.models.list_models(
            _parent(params),
            filter_text=_query(request, "filter"),
            page_size=_int_query(request, "pageSize"),
            page_token=_query(request, "pageToken"),
        )

    def get_model(self, request: Request, params: Mapping[str, str]) -> dict[str, Any]:
        return self._vertex.models.get_model(f"{_parent(params)}/models/{params['model']}")

    def delete_model(self, request: Request, params: Mapping[str, str]) -> dict[str, Any]:
        return self._vertex.models.delete_model(f"{_parent(params)}/models/{params['model']}")

    def list_model_versions(self, request: Request, params: Mapping[str, str]) -> dict[str, Any]:
        return self._vertex.models.list_model_versions(
            f"{_parent(params)}/models/{params['model']}",
            filter_text=_query(request, "filter"),
            page_size=_int_query(request, "pageSize"),
            page_token=_query(request, "pageToken"),
        )

    def delete_model_version(self, request: Request, params: Mapping[str, str]) -> dict[str, Any]:
        return self._vertex.models.delete_model_version(f"{_parent(params)}/models/{params['model']}")

    def merge_version_aliases(self, request: Request, params: Mapping[str, str]) -> dict[str, Any]:
        body = request.message(messages.MERGE_VERSION_ALIASES_REQUEST, "merge_version_aliases_request")
        return self._vertex.models.merge_version_aliases(
            f"{_parent(params)}/models/{params['model']}", body.get("versionAliases", [])
        )

    def get_endpoint(self, request: Request, params: Mapping[str, str]) -> dict[str, Any]:
        return self._vertex.endpoints.get_endpoint(_endpoint(params))

    def delete_endpoint(self, request: Request, params: Mapping[str, str]) -> dict[str, Any]:
        return self._vertex.endpoints.delete_endpoint(_endpoint(params))

    def undeploy_model(self, request: Request, params: Mapping[str, str]) -> dict[str, Any]:
        body = request.message(messages.UNDEPLOY_MODEL_REQUEST, "undeploy_model_request")
        return self._vertex.endpoints.undeploy_model(_endpoint(params), body.get("deployedModelId", ""))

    def generate_content(self, request: Request, params: Mapping[str, str]) -> dict[str, Any]:
        body = request.message(messages.GENERATE_CONTENT_REQUEST, "generate_content_request")
        return self._vertex.endpoints.generate_content(_endpoint(params), responder.parse_generation_request(body))

    # --- Vertex AI: metadata and TensorBoard -------------------------------------------------

    def get_metadata_store(self, request: Request, params: Mapping[str, str]) -> dict[str, Any]:
        return self._vertex.experiments.get_metadata_store(_store(params))

    def list_contexts(self, request: Request, params: Mapping[str, str]) -> dict[str, Any]:
        return self._vertex.experiments.list_contexts(
            _store(params),
            filter_text=_query(request, "filter"),
            page_size=_int_query(request, "pageSize"),
            page_token=_query(request, "pageToken"),
        )

    def get_context(self, request: Request, params: Mapping[str, str]) -> dict[str, Any]:
        return self._vertex.experiments.get_context(f"{_store(params)}/contexts/{params['context']}")

    def get_tensorboard(self, request: Request, params: Mapping[str, str]) -> dict[str, Any]:
        return self._vertex.tensorboards.get_tensorboard(_tensorboard(params))

    def get_tensorboard_experiment(self, request: Request, params: Mapping[str, str]) -> dict[str, Any]:
        return self._vertex.tensorboards.get_experiment(f"{_tensorboard(params)}/experiments/{params['experiment']}")

    def get_tensorboard_run(self, request: Request, params: Mapping[str, str]) -> dict[str, Any]:
        return self._vertex.tensorboards.get_run(_run(params))

    def list_time_series(self, request: Request, params: Mapping[str, str]) -> dict[str, Any]:
        return self._vertex.tensorboards.list_time_series(_run(params), filter_text=_query(request, "filter"))

    def get_time_series(self, request: Request, params: Mapping[str, str]) -> dict[str, Any]:
        return self._vertex.tensorboards.get_time_series(f"{_run(params)}/timeSeries/{params['series']}")

    def read_time_series_data(self, request: Request, params: Mapping[str, str]) -> dict[str, Any]:
        return self._vertex.tensorboards.read_time_series(
            f"{_run(params)}/timeSeries/{params['series']}", max_points=_int_query(request, "maxDataPoints")
        )

    def batch_read_time_series_data(self, request: Request, params: Mapping[str, str]) -> dict[str, Any]:
        names = request.query_lists.get("timeSeries") or request.query_lists.get("time_series") or []
        return self._vertex.tensorboards.batch_read(_tensorboard(params), names)

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


def _dataset(params: Mapping[str, str]) -> str:
    return f"{_parent(params)}/datasets/{params['dataset']}"


def _endpoint(params: Mapping[str, str]) -> str:
    return f"{_parent(params)}/endpoints/{params['endpoint']}"


def _store(params: Mapping[str, str]) -> str:
    return f"{_parent(params)}/metadataStores/{params['store']}"


def _tensorboard(params: Mapping[str, str]) -> str:
    return f"{_parent(params)}/tensorboards/{params['tensorboard']}"


def _run(params: Mapping[str, str]) -> str:
    return f"{_tensorboard(params)}/experiments/{params['experiment']}/runs/{params['run']}"


def _query(request: Request, name: str) -> str:
    """A query parameter by its camelCase or snake_case name, as Google accepts both."""
    snake = wire.snake_name(name)
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
