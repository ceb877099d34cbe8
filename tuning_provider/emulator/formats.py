"""Wire formats the HTTP layer and the resources share: RFC 3339 times, gs:// URIs, and the two
spellings of a proto field's name (page tokens are `paging`'s)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

__all__ = ["GCS_URI", "camel_name", "rfc3339", "snake_name"]

GCS_URI = re.compile(r"gs://(?P<bucket>[a-z0-9][a-z0-9._-]{1,220}[a-z0-9])/(?P<object>.+)")


def rfc3339(seconds: float) -> str:
    """A timestamp as Google's JSON writes it: UTC, microseconds, a Z."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def snake_name(name: str) -> str:
    """lowerCamelCase -> snake_case, as Vertex names fields in its messages."""
    return re.sub(r"([A-Z])", lambda m: "_" + m[1].lower(), name)


def camel_name(name: str) -> str:
    """snake_case -> lowerCamelCase, as proto3 JSON writes field names."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)
