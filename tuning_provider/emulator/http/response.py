"""What the app answers: an HTTP response (and how the server delivers it), a body read from a
file, and the errors the HTTP layer answers by itself (with HTTP's own status and headers)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tuning_provider.errors import ApiError

__all__ = ["FileSlice", "HttpError", "Response", "json_response"]


@dataclass(frozen=True)
class FileSlice:
    """A response body read from a file: `length` bytes from `start`."""

    path: Path
    start: int
    length: int


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes | FileSlice = b""
    headers: dict[str, str] = field(default_factory=dict)
    # How the server delivers it, when a fault after acting says otherwise than at once: not
    # at all, the connection reset instead; or held back this long, or until the client hangs up.
    reset: bool = False
    hold_seconds: float = 0.0


def json_response(value: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(
        status=status,
        body=json.dumps(value).encode(),
        headers={"Content-Type": "application/json; charset=UTF-8", **(headers or {})},
    )


class HttpError(ApiError):
    """An error of the HTTP layer itself (a range past the end of an object, a malformed
    request line), answered with HTTP's own status and headers to send along."""

    def __init__(self, message: str, *, status: int, code: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message, status=status, code=code)
        self.headers = dict(headers or {})
