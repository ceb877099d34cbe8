"""The request layer: an HTTP request as the server read it (`Request`), and the typed
arguments the resource operations take, parsed from its path, query and body in one place.

- The resource a Vertex request is about is named by its path: the route's `name` group
  (`projects/P/locations/L/tuningJobs/ID`, percent-decoded), which for a list or a create is
  the collection's parent. No operation rebuilds a name from pieces.
- A list's query becomes a `ListRequest`: the parent, `filter`, `orderBy` and the page asked
  for (`pageSize`, `pageToken`), each by its camelCase or snake_case name as Google accepts
  both. A page size that is not a whole number, or is negative, is 400 INVALID_ARGUMENT.
- A body is read by `wire.read` against the proto message the route names.

`named`, `listing` and `with_body` turn an operation of the state into a route's handler.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from tuning_provider.emulator.formats import snake_name
from tuning_provider.emulator.http import wire
from tuning_provider.emulator.paging import ListRequest, PageRequest
from tuning_provider.errors import InvalidRequest

__all__ = ["Request", "list_request", "listing", "named", "with_body", "with_parsed_body"]

T = TypeVar("T")
Answer = dict[str, Any]
# What a route calls: the request and the groups of its path pattern (unquoted).
VertexHandler = Callable[["Request", Mapping[str, str]], Answer]


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

    def query_value(self, name: str) -> str:
        """A query parameter by its camelCase or snake_case name ("" when absent)."""
        return self.query.get(name) or self.query.get(snake_name(name)) or ""

    def query_values(self, name: str) -> list[str]:
        """Every value of a repeated query parameter, by either spelling of its name."""
        return self.query_lists.get(name) or self.query_lists.get(snake_name(name)) or []

    def query_int(self, name: str) -> int | None:
        value = self.query_value(name)
        if not value:
            return None
        try:
            return int(value)
        except ValueError:
            raise InvalidRequest(f"Invalid value for {name}: {value!r} is not an integer.") from None

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

    def message(self, message: wire.Message) -> dict[str, Any]:
        """The body read as `message` by the proto3 JSON reading layer (canonical JSON); errors
        name it in snake_case as Vertex does (`tuning_job`)."""
        where = snake_name(message.name.rsplit(".", 1)[-1]).lstrip("_")
        return wire.read(self.json(), message, where)


def list_request(parent: str, request: Request) -> ListRequest:
    """A list call's arguments read from the query: filter, order and the page asked for."""
    size = request.query_int("pageSize")
    if size is not None and size < 0:
        raise InvalidRequest(f"page_size must not be negative; got {size}.")
    return ListRequest(
        parent=parent,
        filter=request.query_value("filter"),
        page=PageRequest(size, request.query_value("pageToken")),
        order_by=request.query_value("orderBy"),
    )


# --- operations as route handlers ------------------------------------------------------------


def named(operation: Callable[[str], Answer], body: wire.Message | None = None) -> VertexHandler:
    """A handler calling `operation(name)`; a `body` message, if given, is read and checked
    (CancelTuningJob's body is {} or the name again)."""

    def handle(request: Request, params: Mapping[str, str]) -> Answer:
        if body is not None:
            request.message(body)
        return operation(params["name"])

    return handle


def listing(operation: Callable[[ListRequest], Answer]) -> VertexHandler:
    """A handler calling `operation(ListRequest)` for the collection under the path's name."""
    return lambda request, params: operation(list_request(params["name"], request))


def with_body(operation: Callable[[str, dict[str, Any]], Answer], message: wire.Message) -> VertexHandler:
    """A handler calling `operation(name, body)`, the body read as `message`."""
    return lambda request, params: operation(params["name"], request.message(message))


def with_parsed_body(
    operation: Callable[[str, T], Answer], message: wire.Message, parse: Callable[[dict[str, Any]], T]
) -> VertexHandler:
    """A handler calling `operation(name, parse(body))`, the body read as `message` first."""
    return lambda request, params: operation(params["name"], parse(request.message(message)))
