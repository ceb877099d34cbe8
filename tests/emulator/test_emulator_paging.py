"""The one pager every list method uses: pages in key order after the filter, tokens that hold
the last key, so creating or deleting between pages never repeats or skips an item."""

from __future__ import annotations

import pytest

from tuning_provider.emulator.paging import PageRequest, paginate
from tuning_provider.errors import InvalidRequest


def entries(*numbers):
    return [((n,), f"item-{n}") for n in numbers]


def test_pages_follow_the_key_order_and_the_last_has_no_token():
    first = paginate(entries(3, 1, 2, 5, 4), PageRequest(2), default_size=50)
    assert first.items == ["item-1", "item-2"] and first.next_token
    second = paginate(entries(3, 1, 2, 5, 4), PageRequest(2, first.next_token), default_size=50)
    assert second.items == ["item-3", "item-4"]
    last = paginate(entries(3, 1, 2, 5, 4), PageRequest(2, second.next_token), default_size=50)
    assert (last.items, last.next_token) == (["item-5"], "")
    assert last.answer("things") == {"things": ["item-5"]}


def test_the_filter_applies_before_the_page_is_counted():
    page = paginate(entries(1, 2, 3, 4, 5, 6), PageRequest(2), default_size=50, keep=lambda item: item[-1] in "246")
    assert page.items == ["item-2", "item-4"]


def test_sizes_default_and_are_capped():
    assert len(paginate(entries(*range(10)), PageRequest(), default_size=3).items) == 3
    assert len(paginate(entries(*range(10)), PageRequest(8), default_size=3, max_size=5).items) == 5


def test_changes_between_pages_neither_repeat_nor_skip_items():
    first = paginate(entries(1, 2, 3, 4), PageRequest(2), default_size=50)
    # item 2 (the token's) is deleted and item 0 created before the next page is asked for
    second = paginate(entries(0, 1, 3, 4), PageRequest(2, first.next_token), default_size=50)
    assert second.items == ["item-3", "item-4"]


@pytest.mark.parametrize("token", ["nonsense", "bm90LWEtbnVtYmVy", "eyJhIjogMX0=", "WyJhIiwgImIiXQ=="])
def test_a_token_the_pager_did_not_write_is_400(token):
    # not base64; base64 of "not-a-number"; of {"a": 1}; of ["a", "b"] (another list's key)
    with pytest.raises(InvalidRequest, match="Invalid page token"):
        paginate(entries(1, 2), PageRequest(1, token), default_size=50)


def test_an_empty_page_answers_nothing():
    assert paginate([], PageRequest(), default_size=5).answer("things") == {}
