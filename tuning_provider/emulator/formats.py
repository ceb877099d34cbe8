"""Wire formats both of the emulator's APIs share: RFC 3339 times and gs:// URIs (page tokens
are `paging`'s)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

__all__ = ["GCS_URI", "rfc3339"]

GCS_URI = re.compile(r"gs://(?P<bucket>[a-z0-9][a-z0-9._-]{1,220}[a-z0-9])/(?P<object>.+)")


def rfc3339(seconds: float) -> str:
    """A timestamp as Google's JSON writes it: UTC, microseconds, a Z."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
