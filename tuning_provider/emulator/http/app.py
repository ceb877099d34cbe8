"""HTTP requests in, HTTP responses out: the one route table of the emulator, the faults a
request meets, and the one place that turns typed errors into Google's JSON error body.

    {"error": {"code": 404, "message": "...", "status": "NOT_FOUND"}}

`status` is always a google.rpc.Code name (`RPC_CODES`) and `code` the HTTP status that
google/rpc/code.proto maps it to (`HTTP_STATUS_OF_CODE`), so the two always agree. The
exceptions are errors of the HTTP layer itself (`HttpError`: a byte range past the end of an
object is 416, as Cloud Storage answers) and injected statuses code.proto has no code for (a
502), which keep HTTP's own status.

Served on one port:
- Vertex AI (`/v1/` or `/v1beta1/` + `projects/P/locations/L/...`): the routes of
  `App._route_table`, each an operation of the state (`vertex.state`) turned into a handler by
  the request layer (`request`: names from the path, a `ListRequest` from the query, bodies
  read by `wire.read` against `messages`). Responses are written by `wire.for_version` for the
  API version of the path. They require `Authorization: Bearer <any token>` (401 otherwise);
  then the state advances to the clock (`VertexState.advance`) before the operation runs.
  Multimodal datasets' BigQuery tables are read by the Vertex side only (`bigquery`): no
  BigQuery API is served.
- Cloud Storage's JSON API (`storage_api`), without auth.

Faults (`faults`): once a request is authenticated, the fault plan says whether it meets one.
A fault before acting answers its status and the operation never runs; a fault after acting
lets the operation run and commit, then answers another status instead, or marks the response
for the server to reset the connection or hold the answer (`Response.reset`, `hold_seconds`).

A path no route matches, and a method a matched path does not serve, are both 404 NOT_FOUND
with a JSON body, as Google's API front end answers a request that maps to no API method
(`{"code": 404, "message": "Method not found.", "status": "NOT_FOUND"}`; see `_NO_METHOD`).
Nothing a client sends can crash the server (an unexpected error is a 500 INTERNAL body).
This module knows HTTP; `vertex.state` knows the resources; `responder` knows the answers.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from http import HTTPStatus
from typing import Any, Literal
from urllib.parse import unquote

from tuning_provider.emulator.gcs import GcsStore
from tuning_provider.emulator.http import messages, wire
from tuning_provider.emulator.http.faults import DelayAfter, FailBefore, FaultPlan, Injected, ResetAfter, StatusAfter
from tuning_provider.emulator.http.request import Request, listing, named, with_body, with_parsed_body
from tuning_provider.emulator.http.response import FileSlice, HttpError, Response, json_response
from tuning_provider.emulator.http.storage_api import StorageApi
from tuning_provider.emulator.vertex import responder
from tuning_provider.emulator.vertex.state import VertexState
from tuning_provider.errors import (
    ApiError,
    NotFound,
    Unauthenticated,
    rpc_code_of,
)

__all__ = [
    "AnswerObserver",
    "App",
    "FileSlice",
    "HTTP_STATUS_OF_CODE",
    "HTTP_TO_RPC_CODE",
    "HttpError",
    "RPC_CODES",
    "Request",
    "Response",
    "error_response",
    "json_response",
    "rpc_code_for",
]

_log = logging.getLogger(__name__)

Service = Literal["vertex", "gcs"]

# --- errors: the one mapping to Google's error body ---------------------------------------

# The google.rpc.Code names (google/rpc/code.proto) with the HTTP status its "HTTP Mapping"
# gives each: the only values of an error body's `status`, which clients map to their
# exception types, and the HTTP status that goes with each.
HTTP_STATUS_OF_CODE: Mapping[str, int] = {
    "OK": 200, "CANCELLED": 499, "UNKNOWN": 500, "INVALID_ARGUMENT": 400, "DEADLINE_EXCEEDED": 504,
    "NOT_FOUND": 404, "ALREADY_EXISTS": 409, "PERMISSION_DENIED": 403, "UNAUTHENTICATED": 401,
    "RESOURCE_EXHAUSTED": 429, "FAILED_PRECONDITION": 400, "ABORTED": 409, "OUT_OF_RANGE": 400,
    "UNIMPLEMENTED": 501, "INTERNAL": 500, "UNAVAILABLE": 503, "DATA_LOSS": 500,
}
RPC_CODES = frozenset(HTTP_STATUS_OF_CODE)
# The google.rpc.Code of an HTTP status the HTTP layer answers by itself (a malformed request
# line, an oversized header, a range past the end): Google's own HTTP <-> code mapping.
HTTP_TO_RPC_CODE: Mapping[int, str] = {
    400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
    408: "DEADLINE_EXCEEDED", 409: "ABORTED", 411: "INVALID_ARGUMENT", 413: "OUT_OF_RANGE",
    414: "INVALID_ARGUMENT", 416: "OUT_OF_RANGE", 429: "RESOURCE_EXHAUSTED", 431: "INVALID_ARGUMENT",
    499: "CANCELLED", 500: "INTERNAL", 501: "UNIMPLEMENTED", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED",
    505: "UNIMPLEMENTED",
    # code.proto maps no code to 502 (an injected bad gateway); gRPC's HTTP mapping reads it as UNAVAILABLE.
    502: "UNAVAILABLE",
}
# What Google's front end says with each code, for the errors injected by a fault.
_USUAL_MESSAGE: Mapping[str, str] = {
    "PERMISSION_DENIED": "The caller does not have permission.",
    "INTERNAL": "Internal error encountered.",
    "UNAVAILABLE": "The service is currently unavailable.",
    "DEADLINE_EXCEEDED": "Deadline expired before operation could complete.",
    "RESOURCE_EXHAUSTED": "Quota exceeded; retry later.",
    "UNAUTHENTICATED": "Request had invalid authentication credentials.",
}
# What Google's API front end answers a request that maps to no method of the API, a wrong
# HTTP method on a known path included: HTTP 404, google.rpc NOT_FOUND (code 5), "Method not
# found." (seen from googleapis.com after a method was turned down; Cloud Endpoints' ESP, built
# on the same front end, answers "Method does not exist." with code 5 for a POST on a GET path).
_NO_METHOD = "Method not found."


def rpc_code_for(http_status: int) -> str:
    """The google.rpc.Code name for an HTTP status (UNKNOWN for one Google never uses)."""
    if http_status in HTTP_TO_RPC_CODE:
        return HTTP_TO_RPC_CODE[http_status]
    return "INVALID_ARGUMENT" if 400 <= http_status < 500 else "UNKNOWN"


def injected_error(status: int, fault: Injected, message: str = "") -> HttpError:
    """The error a fault answers: Google's error body for `status`, saying it was injected."""
    code = rpc_code_for(status)
    usual = message or _USUAL_MESSAGE.get(code) or f"{HTTPStatus(status).phrase}."
    return HttpError(f"{usual} (Injected by the emulator's {fault.cause}.)", status=status, code=code)


def error_response(exc: ApiError) -> Response:
    """Google's JSON error body, with the HTTP status code.proto maps its code to."""
    code = rpc_code_of(exc)
    if code not in RPC_CODES:  # a bug: say something every client understands
        code = rpc_code_for(exc.status or 500)
    headers: Mapping[str, str] = {}
    status = HTTP_STATUS_OF_CODE[code]
    if isinstance(exc, HttpError):
        status, headers = exc.status or status, exc.headers
    return json_response({"error": {"code": status, "message": exc.message, "status": code}}, status, headers)


# --- the application: one route table ----------------------------------------------------

# A handler answers a Response, or for Vertex a resource (JSON in v1 spelling) that `handle`
# writes for the version of the path.
Handler = Callable[[Request, Mapping[str, str]], "Response | dict[str, Any]"]
# Shown every request with its response once it is answered (benchmarks, diagnostics).
AnswerObserver = Callable[[Request, Response], None]


@dataclass(frozen=True)
class Route:
    pattern: re.Pattern[str]
    methods: Mapping[str, Handler]
    service: Service


def _vertex_pattern(template: str) -> re.Pattern[str]:
    """The path pattern of a Vertex route: `template` under /VERSION/projects/P/locations/L/,
    `*` one id, `:verb` a custom method. Group `name` is the resource the request is about:
    the collection's parent when the template ends in a collection."""
    path, _, verb = template.partition(":")
    segments = path.split("/")
    collection = segments.pop() if segments[-1] != "*" else ""
    resource = "".join("/[^/:]+" if s == "*" else "/" + re.escape(s) for s in segments)
    tail = ("/" + re.escape(collection) if collection else "") + (":" + re.escape(verb) if verb else "")
    return re.compile(rf"/(?P<version>v1|v1beta1)/(?P<name>projects/[^/:]+/locations/[^/:]+{resource}){tail}")


class App:
    """Routes requests to the state's operations and turns their answers into responses."""

    def __init__(
        self, vertex: VertexState, gcs: GcsStore, faults: FaultPlan | None = None,
        on_answer: AnswerObserver | None = None,
    ) -> None:
        self._vertex = vertex
        self._faults = faults or FaultPlan()
        self._on_answer = on_answer
        self._routes = self._route_table(vertex, StorageApi(gcs))

    @staticmethod
    def _route_table(vertex: VertexState, storage: StorageApi) -> tuple[Route, ...]:
        jobs, datasets, models = vertex.tuning_jobs, vertex.datasets, vertex.model_registry
        endpoints, experiments, boards = vertex.endpoints, vertex.experiments, vertex.tensorboards

        def on(template: str, **methods: Handler) -> Route:
            return Route(_vertex_pattern(template), methods, "vertex")

        run = "tensorboards/*/experiments/*/runs/*"
        return (
            on("tuningJobs", GET=listing(jobs.list_tuning_jobs),
               POST=with_body(jobs.create_tuning_job, messages.TUNING_JOB)),
            on("tuningJobs/*", GET=named(jobs.get_tuning_job)),
            on("tuningJobs/*:cancel", POST=named(jobs.cancel_tuning_job, body=messages.CANCEL_TUNING_JOB_REQUEST)),
            on("datasets", GET=listing(datasets.list_datasets),
               POST=with_body(datasets.create_dataset, messages.DATASET)),
            on("datasets/*", GET=named(datasets.get_dataset), DELETE=named(datasets.delete_dataset)),
            on("datasets/*/operations/*", GET=named(datasets.get_operation)),
            on("models", GET=listing(models.list_models)),
            on("models/*", GET=named(models.get_model), DELETE=named(models.delete_model)),
            on("models/*:listVersions", GET=listing(models.list_model_versions)),
            on("models/*:deleteVersion", DELETE=named(models.delete_model_version)),
            on("models/*:mergeVersionAliases",
               POST=with_body(models.merge_version_aliases, messages.MERGE_VERSION_ALIASES_REQUEST)),
            on("endpoints/*", GET=named(endpoints.get_endpoint), DELETE=named(endpoints.delete_endpoint)),
            on("endpoints/*:undeployModel", POST=with_body(endpoints.undeploy_model, messages.UNDEPLOY_MODEL_REQUEST)),
            on("endpoints/*:generateContent", POST=with_parsed_body(
                endpoints.generate_content, messages.GENERATE_CONTENT_REQUEST, responder.parse_generation_request)),
            on("metadataStores/*", GET=named(experiments.get_metadata_store)),
            on("metadataStores/*/contexts", GET=listing(experiments.list_contexts)),
            on("metadataStores/*/contexts/*", GET=named(experiments.get_context)),
            on("tensorboards/*", GET=named(boards.get_tensorboard)),
            on("tensorboards/*:batchRead",
               GET=lambda request, path: boards.batch_read(path["name"], request.query_values("timeSeries"))),
            on("tensorboards/*/experiments/*", GET=named(boards.get_experiment)),
            on(run, GET=named(boards.get_run)),
            on(run + "/timeSeries", GET=listing(boards.list_time_series)),
            on(run + "/timeSeries/*", GET=named(boards.get_time_series)),
            on(run + "/timeSeries/*:read", GET=lambda request, path: boards.read_time_series(
                path["name"], max_points=request.query_int("maxDataPoints"))),
            *(Route(re.compile(pattern), methods, "gcs") for pattern, methods in storage.routes().items()),
        )

    def handle(self, request: Request) -> Response:
        """The response to any request; never raises."""
        response = self._answer(request)
        if self._on_answer is not None:
            try:
                self._on_answer(request, response)
            except Exception:  # an observer's bug must not change what the client gets
                _log.exception("on_answer failed on %s %s", request.method, request.path)
        return response

    def _answer(self, request: Request) -> Response:
        fault: Injected | None = None
        try:
            route, params = self._match(request.path)
            # HEAD is GET without the body, which the server leaves out.
            method = "GET" if request.method == "HEAD" else request.method
            handler = route.methods.get(method)
            if handler is None:
                raise NotFound(
                    f"{_NO_METHOD} {request.path} takes {', '.join(sorted(route.methods))}, not {request.method}."
                )
            vertex = route.service == "vertex"
            if vertex:
                _authenticate(request)
            fault = self._faults.decide(method, request.path, vertex=vertex)
            if fault is not None:
                _log.warning("%s %s: injected by the %s", request.method, request.path, fault.cause)
                if isinstance(fault.effect, FailBefore):
                    raise injected_error(fault.effect.status, fault, fault.effect.message)
            if vertex:
                self._vertex.advance()  # jobs move with the clock; reads then see where they are
            response = _respond(handler(request, params), request, params)
        except ApiError as exc:
            response = error_response(exc)
        except Exception as exc:  # a bug in the emulator must not take the server down
            _log.exception("emulator error on %s %s", request.method, request.path)
            response = error_response(ApiError(f"Internal error in the emulator: {exc!r}", status=500, code="INTERNAL"))
        return _after_acting(response, fault) if fault is not None else response

    def _match(self, path: str) -> tuple[Route, dict[str, str]]:
        for route in self._routes:
            if match := route.pattern.fullmatch(path):
                return route, {k: unquote(v) for k, v in match.groupdict().items()}
        raise NotFound(f"The requested URL {path} was not found on this server.")


def _respond(answer: Response | dict[str, Any], request: Request, params: Mapping[str, str]) -> Response:
    """A handler's answer as the response: a Vertex resource written for the path's version."""
    if isinstance(answer, Response):
        return answer
    # The GAPIC REST transport asks for enums as numbers on every call.
    numbers = "enum-encoding=int" in request.query.get("$alt", "")
    return json_response(wire.for_version(answer, params["version"], messages.RESPONSE_ENUMS if numbers else None))


def _after_acting(response: Response, fault: Injected) -> Response:
    """The response once the request has acted, as its fault leaves it: another status instead,
    or marked for the server to reset the connection or hold the answer."""
    effect = fault.effect
    if isinstance(effect, StatusAfter):
        return error_response(injected_error(effect.status, fault))
    if isinstance(effect, ResetAfter):
        return replace(response, reset=True)
    if isinstance(effect, DelayAfter):
        return replace(response, hold_seconds=effect.seconds)
    return response  # a fault before acting: the response is already its error


def _authenticate(request: Request) -> None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated(
            "Request is missing required authentication credential: a bearer token is required "
            "('Authorization: Bearer <token>'; the emulator accepts any token)."
        )
