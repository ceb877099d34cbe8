"""The one validator of numeric command-line options: `type=number(int, at_least=1)`.

A bad value is a usage error that argparse reports as `argument --limit: 'x' is not a whole
number` or `argument --top-p: 1.5 is out of range: use from 0 to 1`, with exit code 2.
Kept free of heavy imports: `validate` must start fast.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TypeVar

__all__ = ["number"]

N = TypeVar("N", int, float)


def number(
    kind: type[N], *, at_least: float | None = None, more_than: float | None = None, at_most: float | None = None
) -> Callable[[str], N]:
    """An argparse `type` reading a `kind` (int or float) within the bounds given."""
    bounds = [f"{at_least:g} or more" if at_least is not None else "",
              f"more than {more_than:g}" if more_than is not None else "",
              f"at most {at_most:g}" if at_most is not None else ""]
    if at_least is not None and at_most is not None:
        bounds = [f"from {at_least:g} to {at_most:g}"]
    span = " and ".join(b for b in bounds if b)

    def parse(text: str) -> N:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a {'whole ' if kind is int else ''}number") from None
        if ((at_least is not None and value < at_least) or (more_than is not None and value <= more_than)
                or (at_most is not None and value > at_most) or value != value):  # value != value: NaN
            raise argparse.ArgumentTypeError(f"{text} is out of range: use {span}")
        return value

    return parse
