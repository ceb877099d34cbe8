"""Wire formats both of the emulator's APIs share: RFC 3339 times, page tokens, gs:// URIs."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime

from tuning_provider.errors import InvalidRequest

__all__ = ["GCS_URI", "decode_page_number", "decode_page_token", "encode_page_token", "rfc3339"]

GCS_URI = re.compile(r"gs://(?P<bucket>[a-z0-9][a-z0-9._-]{1,220}[a-z0-9])/(?P<object>.+)")


def rfc3339(seconds: float) -> str:
    """A timestamp as Google's JSON writes it: UTC, microseconds, a Z."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def encode_page_token(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode()


def decode_page_token(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        raise InvalidRequest(f"Invalid page token {token!r}.") from None


def decode_page_number(token: str) -> int:
    """A page token that holds a number (a row's sequence, an offset)."""
    value = decode_page_token(token)
    if not value.isdigit():
        raise InvalidRequest(f"Invalid page token {token!r}.")
    return int(value)
