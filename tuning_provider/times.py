"""Times as Vertex writes them (RFC 3339) and durations as people read them."""

from __future__ import annotations

import datetime as dt

__all__ = ["format_duration", "parse_rfc3339", "rfc3339"]


def rfc3339(value: dt.datetime | None) -> str | None:
    """A time as RFC 3339 in UTC with a Z ("2026-11-30T05:00:00Z"); a naive time counts as UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def parse_rfc3339(value: str | None) -> dt.datetime | None:
    """An RFC 3339 time ("...Z" or "...+02:00") as an aware datetime; None when absent. A time
    without an offset counts as UTC."""
    if not value:
        return None
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def format_duration(seconds: float, *, coarse: bool = False) -> str:
    """12m03s, 1h02m03s; `coarse`, as precise as a progress line needs: 45s, 14m, 2h05m."""
    total = round(seconds) if coarse else int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if coarse:
        if hours:
            return f"{hours}h{minutes:02d}m"
        return f"{minutes}m" if minutes else f"{secs}s"
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"
