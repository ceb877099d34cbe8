"""The one pager of every list method (Vertex's and Cloud Storage's): one page of resources in
the list's order, after the filter, and the token of the next page.

    page = paginate(((job_seq, job) for ...), request.page, default_size=50, max_size=100,
                    keep=matches)
    return page.answer("tuningJobs")

Each resource comes with its sort key (a tuple of strings and numbers, ascending in the
list's order). A token holds the key of the last resource of its page, so the next page
starts after it even when resources were created or deleted in between (an offset would
repeat or skip some). A token the emulator did not write is 400 INVALID_ARGUMENT.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from tuning_provider.errors import InvalidRequest

__all__ = ["Key", "ListRequest", "Page", "PageRequest", "paginate"]

T = TypeVar("T")
Key = tuple[str | int | float, ...]


@dataclass(frozen=True)
class PageRequest:
    """The page a list asks for: at most `size` resources (None: the method's default), after
    the one `token` names (empty: from the start)."""

    size: int | None = None
    token: str = ""


@dataclass(frozen=True)
class ListRequest:
    """A list call's arguments: the collection's parent, its filter, order and page."""

    parent: str
    filter: str = ""
    page: PageRequest = PageRequest()
    order_by: str = ""


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T] = field(default_factory=list)
    next_token: str = ""

    def answer(self, items_field: str) -> dict[str, Any]:
        """The list response: `items_field` holding the items and `nextPageToken`, each left
        out when empty, as proto3 JSON writes it."""
        answer: dict[str, Any] = {items_field: self.items} if self.items else {}
        if self.next_token:
            answer["nextPageToken"] = self.next_token
        return answer


def paginate(
    entries: Iterable[tuple[Key, T]],
    page: PageRequest,
    *,
    default_size: int,
    max_size: int | None = None,
    keep: Callable[[T], bool] = lambda _item: True,
) -> Page[T]:
    """The page of `entries` ((key, item) pairs, keys unique) that `page` asks for, among the
    items `keep` accepts, in ascending key order."""
    size = page.size or default_size
    if max_size is not None:
        size = min(size, max_size)
    after = _decode(page.token) if page.token else None
    found: list[tuple[Key, T]] = []
    for key, item in sorted(entries, key=lambda entry: entry[0]):
        if after is not None and not _comes_after(key, after, page.token):
            continue
        if not keep(item):
            continue
        if len(found) == size:
            return Page([item for _, item in found], _encode(found[-1][0]))
        found.append((key, item))
    return Page([item for _, item in found])


def _encode(key: Key) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode()


def _decode(token: str) -> Key:
    try:
        value = json.loads(base64.urlsafe_b64decode(token.encode()))
    except ValueError:  # not base64, not UTF-8 or not JSON
        raise InvalidRequest(f"Invalid page token {token!r}.") from None
    if not isinstance(value, list) or not all(isinstance(part, str | int | float) for part in value):
        raise InvalidRequest(f"Invalid page token {token!r}.")
    return tuple(value)


def _comes_after(key: Key, after: Key, token: str) -> bool:
    if len(key) != len(after):
        raise InvalidRequest(f"Invalid page token {token!r}: it is not a token of this list.")
    try:
        return key > after
    except TypeError:  # a key of another list, whose parts are of other types
        raise InvalidRequest(f"Invalid page token {token!r}: it is not a token of this list.") from None
