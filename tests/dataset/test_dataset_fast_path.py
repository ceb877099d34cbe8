"""The fast path against the precise checker, on generated lines: it accepts a line only if the
precise checker accepts it, and counts it alike; and a whole file scanned (fast path, then the
precise checker for what it refuses) gives the counts the precise checker alone gives.

The lines: valid examples of every shape (text, multi-turn, system instructions, fileData,
function calls and responses, tools), then mutations of them (keys dropped or renamed, wrong
types, empty lists, same-role turns, bad roles, extra fields, out-of-range numbers, invalid
UTF-8, lone surrogates, byte order marks, truncation, duplicate keys...). A seeded random
makes them, so every run checks the same lines.
"""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import pytest

from tuning_provider.dataset import Limits, validate_dataset
from tuning_provider.dataset.fast import scan_fast
from tuning_provider.dataset.rules import check_line, is_blank

SEED = 20261201
EXAMPLES = 1200
MUTATIONS_PER_EXAMPLE = 5
MAX_CHARACTERS = Limits().characters_per_example

_PIECES = [
    "What is", "the answer", "to 2 + 2?", "Bonjour, ça va ?", "東京の天気は？", "😀🚀", "e\u0301", "\u202eRTL",
    "line\nbreak", 'a "quote"', "back\\slash", "tab\there", "\u2028", "\x00nul", "ß", " ", "x" * 300,
]
_WRONG_VALUES: list[Any] = [None, 0, -1, 1.5, True, False, "", "x", [], {}, [None], [{}], {"text": "a"}, 1e308,
                            10**30]
_BAD_ROLES: list[Any] = ["assistant", "User", "MODEL", "system", "function", "", " user", 5, None, ["user"]]


def _text(rng: random.Random) -> str:
    return " ".join(rng.choice(_PIECES) for _ in range(rng.randint(1, 4)))


def _part(rng: random.Random, role: str, plain: bool) -> dict[str, Any]:
    roll = rng.random()
    if plain or roll < 0.5:
        return {"text": _text(rng)}
    if roll < 0.8 and role == "user":
        mime = rng.choice(["image/png", "application/pdf", "video/mp4"])
        return {"fileData": {"mimeType": mime, "fileUri": f"gs://bucket/media/{rng.randrange(10**6)}.bin"}}
    if role == "model":
        return {"functionCall": {"name": rng.choice(["get_weather", "lookup"]), "args": {"city": _text(rng)}}}
    return {"functionResponse": {"name": "get_weather", "response": {"celsius": rng.randint(-20, 40)}}}


def _valid_example(rng: random.Random) -> dict[str, Any]:
    plain = rng.random() < 0.6  # text only: the fast path's shape
    contents = [
        {"role": role, "parts": [_part(rng, role, plain) for _ in range(rng.randint(1, 3))]}
        for _ in range(rng.randint(1, 3))
        for role in ("user", "model")
    ]
    example: dict[str, Any] = {"contents": contents}
    if rng.random() < 0.5:
        instruction: dict[str, Any] = {"parts": [{"text": _text(rng)} for _ in range(rng.randint(1, 2))]}
        if rng.random() < 0.5:
            instruction["role"] = rng.choice(["system", "user"])
        example["systemInstruction"] = instruction
    if not plain and rng.random() < 0.3:
        example["tools"] = [{"functionDeclarations": [{"name": "get_weather", "description": _text(rng)}]}]
    if rng.random() < 0.05:
        example = dict(reversed(list(example.items())))  # key order does not matter
    return example


def _nodes(value: Any) -> list[Any]:
    """Every object and array in a decoded JSON value."""
    found = []
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, (dict, list)):
            found.append(node)
            stack.extend(node.values() if isinstance(node, dict) else node)
    return found


def _mutate_tree(rng: random.Random, example: dict[str, Any]) -> dict[str, Any] | list[Any]:
    """One change somewhere in a copy of the example."""
    root = copy.deepcopy(example)
    node = rng.choice(_nodes(root))
    op = rng.randrange(6)
    if isinstance(node, dict) and node:
        key = rng.choice(list(node))
        if op == 0:
            del node[key]
        elif op == 1:
            node[rng.choice([key.capitalize(), key + "s", key.lower(), "inlineData"])] = node.pop(key)
        elif op == 2 and key == "role":
            node[key] = rng.choice(_BAD_ROLES)
        elif op in (2, 3):
            node[key] = copy.deepcopy(rng.choice(_WRONG_VALUES))
        elif op == 4:
            node[rng.choice(["extra", "thought", "metadata", "messages", "tools", "text"])] = copy.deepcopy(
                rng.choice(_WRONG_VALUES))
        else:
            node[key] = [] if isinstance(node[key], list) else ""
    elif isinstance(node, list) and node:
        index = rng.randrange(len(node))
        if op == 0:
            node.clear()
        elif op == 1:
            del node[index]
        elif op == 2:
            node.insert(index, copy.deepcopy(node[index]))  # same-role turns, repeated parts
        elif op == 3:
            node.append(copy.deepcopy(rng.choice(_WRONG_VALUES)))
        else:
            node.reverse()
    return root


def _encode(rng: random.Random, value: Any) -> bytes:
    ascii_only = rng.random() < 0.3  # \\u escapes, surrogate pairs for emoji
    compact = rng.random() < 0.5
    return json.dumps(value, ensure_ascii=ascii_only, separators=(",", ":") if compact else None).encode()


def _mutate_bytes(rng: random.Random, line: bytes) -> bytes:
    """One change to the encoded line, below JSON's level."""
    op = rng.randrange(9)
    if op == 0:
        return line[: rng.randrange(1, len(line))]  # truncated
    if op == 1:
        return b"\xef\xbb\xbf" + line
    if op == 2:
        position = rng.randrange(len(line))
        return line[:position] + rng.choice([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xc0\x80"]) + line[position + 1:]
    if op == 3:
        return line.replace(b'"text":', b'"text":"\\ud800",\n"t":', 1).replace(b"\n", b"")
    if op == 4:
        return line[:-1] + b',"contents":' + rng.choice([b"5", b"[]", b'"x"', b"null"]) + b"}"  # duplicate key
    if op == 5:
        extra = rng.choice([b"1e999", b"-1E400", b"9" * 400, b'"\xff"', b"[" * 50 + b"]" * 50])
        return line[:-1] + b',"extra":' + extra + b"}"  # what only a skipped field would hold
    if op == 6:
        return rng.choice([b" ", b"\t", b"\r", b""]) + line + rng.choice([b" ", b"\r", b",", b"}", b"x", b"\x00"])
    if op == 7:
        return b"[" + line + b"]"
    return line.replace(b'"', b"'", 1)


def _lines() -> list[bytes]:
    rng = random.Random(SEED)
    lines = []
    for _ in range(EXAMPLES):
        example = _valid_example(rng)
        lines.append(_encode(rng, example))
        for _ in range(MUTATIONS_PER_EXAMPLE):
            if rng.random() < 0.6:
                lines.append(_encode(rng, _mutate_tree(rng, example)))
            else:
                lines.append(_mutate_bytes(rng, _encode(rng, example)))
    lines.append(b'{"contents":' + b"[" * 5000 + b"]" * 5000 + b"}")  # deeper than any decoder recurses
    return lines


LINES = _lines()


def _fast_characters(line: bytes, max_characters: int) -> int | None:
    """The characters the fast path counts for a line it accepts; None when it refuses it."""
    refused: list[int] = []
    _, characters, longest = scan_fast([line], 0, max_characters, lambda _line, number: refused.append(number))
    assert characters == longest or refused
    return None if refused else characters


# Vertex's token limit, and one that many generated examples exceed (their characters are
# then the precise checker's to count).
@pytest.mark.parametrize(("max_characters", "at_least"), [(MAX_CHARACTERS, 1000), (200, 200)])
def test_the_fast_path_accepts_only_what_the_precise_checker_accepts(max_characters: int, at_least: int) -> None:
    accepted = refused_but_valid = 0
    for line in LINES:
        fast = _fast_characters(line, max_characters)
        verdict = check_line(line)
        valid = verdict.problem is None and verdict.characters <= max_characters
        if fast is None:
            refused_but_valid += valid
            continue
        accepted += 1
        assert valid, (line, verdict)
        assert (fast, verdict.multimodal) == (verdict.characters, False), line
    # Not vacuous: lines the fast path accepts, valid lines it leaves to the precise checker,
    # and bad lines, many of each.
    assert accepted > at_least and refused_but_valid > at_least
    assert len(LINES) - accepted - refused_but_valid > 3000


def test_a_file_of_them_gets_the_precise_checkers_counts(tmp_path: Path) -> None:
    path = tmp_path / "generated.jsonl"
    path.write_bytes(b"\n".join(LINES))
    expected = {"lines": len(LINES), "bad_lines": 0, "characters": 0, "multimodal_examples": 0}
    for line in LINES:
        if is_blank(line):
            continue
        verdict = check_line(line)
        if verdict.problem is not None or verdict.characters > MAX_CHARACTERS:
            expected["bad_lines"] += 1
        if verdict.problem is None:  # an example over the token limit is counted, and an error
            expected["characters"] += verdict.characters
            expected["multimodal_examples"] += verdict.multimodal

    report = validate_dataset(path, max_errors=0)

    assert {key: getattr(report, key) for key in expected} == expected
    assert report.error_count == report.bad_lines and report.examples > 1000
