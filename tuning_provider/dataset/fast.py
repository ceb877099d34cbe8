"""The fast path: msgspec Structs that accept only valid text-only examples, and the hot loop.

A valid line of the common shape (text parts, alternating turns ending with the model's, an
optional text system instruction) costs one C call into msgspec and a few list operations.
Every other line (an error, or a rarer valid shape: fileData, function calls, tools, an
example over the token limit) is refused and handed to the caller's `refused`, which asks the
precise checker (rules.py): refusing is always safe, accepting a line that checker would
not is a bug (tests/dataset/test_dataset_fast_path.py compares the two on generated lines).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal

import msgspec

__all__ = ["scan_fast"]

_NonEmptyText = Annotated[str, msgspec.Meta(min_length=1)]

# Every Struct forbids unknown fields: msgspec skips an unknown field's value without checking
# its UTF-8 or its numbers' range, which the precise checker's decode does check. So every
# byte of a line the fast path accepts has been decoded into a declared type (and no line
# nests deeper than these Structs, so the decoder cannot recurse too deep).


class _FastPart(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    text: _NonEmptyText


class _FastTurn(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    role: Literal["user", "model"]
    parts: Annotated[list[_FastPart], msgspec.Meta(min_length=1)]


class _FastSystemInstruction(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    parts: Annotated[list[_FastPart], msgspec.Meta(min_length=1)]
    role: str | None = None  # ignored, as Vertex ignores it; often "system"


class _FastExample(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    contents: Annotated[list[_FastTurn], msgspec.Meta(min_length=1)]
    systemInstruction: _FastSystemInstruction | None = None
    # Any other shape (tools, legacy messages, other fields) goes to the precise checker.
    tools: None = None
    messages: None = None


_decode = msgspec.json.Decoder(_FastExample).decode


def scan_fast(
    lines: Sequence[Any], lineno: int, max_characters: int, refused: Callable[[Any, int], None]
) -> tuple[int, int, int]:
    """Check consecutive lines (buffers without their newline) numbered from `lineno` + 1.
    Each line the fast path does not accept goes to `refused(line, its number)`. Returns the
    last line's number, and the characters of the accepted lines in all and of the longest.
    The hot loop of the whole validator: keep it lean (a plain loop is the fastest here,
    faster than comprehensions or map)."""
    decode = _decode
    characters = 0
    longest = 0
    for line in lines:
        lineno += 1
        try:
            # A line that is no buffer (too long to hold) raises TypeError: refused.
            example = decode(line)
        except (msgspec.DecodeError, UnicodeDecodeError, TypeError):
            refused(line, lineno)
            continue
        count = 0
        previous = ""
        for turn in example.contents:
            if turn.role == previous:
                break  # two turns of one role: the precise checker words the error
            previous = turn.role
            for part in turn.parts:
                count += len(part.text)
        else:
            if previous == "model":
                instruction = example.systemInstruction
                if instruction is not None:
                    for part in instruction.parts:
                        count += len(part.text)
                if count <= max_characters:
                    characters += count
                    if count > longest:
                        longest = count
                    continue
        refused(line, lineno)
    return lineno, characters, longest
