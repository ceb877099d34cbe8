"""Every per-example rule: a failing line (its number and message checked) and a passing one.

Each bad line is written as line 2, after a valid line 1, so the line number is always checked.
The passing lines are also run through the precise checker alone, which must agree with the
fast path on validity and on the characters counted.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from tests.dataset.dataset_helpers import VALID, example, jsonl, report_for
from tuning_provider.catalog import CHARS_PER_TOKEN, MAX_TOKENS_PER_EXAMPLE
from tuning_provider.dataset.rules import check_line

MAX_CHARS = MAX_TOKENS_PER_EXAMPLE * CHARS_PER_TOKEN
FILE = {"fileData": {"mimeType": "image/png", "fileUri": "gs://media/cat.png"}}
TOOLS = [{"functionDeclarations": [{"name": "get_weather", "parameters": {"type": "object"}}]}]

# (rule, bad line, words its message must contain)
FAILING: list[tuple[str, bytes, str]] = [
    ("json", b'{"contents": [', "is not valid JSON (it ends before the JSON value is complete)"),
    ("json trailing", VALID + b" {}", "is not valid JSON (trailing characters at column"),
    ("object", b"[1, 2]", "the line is an array, not a JSON object"),
    ("object string", b'"hello"', "the line is a string, not a JSON object"),
    ("utf-8", VALID.replace(b"2 + 2", b"2 \xff 2"), "is not valid UTF-8 (byte 0xff at column"),
    ("bom", b"\xef\xbb\xbf" + VALID, "byte order mark"),
    ("contents missing", jsonl({"content": []}), 'the line has no "contents"'),
    (
        "legacy messages",
        jsonl({"messages": [{"role": "user", "content": "hi"}]}),
        "legacy format of gemini-1.0-pro-002",
    ),
    ("contents type", jsonl({"contents": {"role": "user"}}), "contents is an object, not a list of turns"),
    ("contents empty", jsonl({"contents": []}), "contents is empty"),
    (
        "turn type",
        jsonl({"contents": [{"role": "user", "parts": [{"text": "a"}]}, "b"]}),
        "contents[1] is a string, not a turn",
    ),
    ("role missing", jsonl({"contents": [{"parts": [{"text": "a"}]}]}), "contents[0] has no role"),
    (
        "role unknown",
        jsonl(example(("user", "a"), ("assistant", "b"))),
        "contents[1].role is 'assistant': use 'user' or 'model' (Gemini calls",
    ),
    (
        "role case",
        jsonl(example(("User", "a"), ("model", "b"))),
        "contents[0].role is 'User': use 'user' or 'model' (roles are lowercase)",
    ),
    (
        "role system",
        jsonl(example(("system", "a"), ("user", "b"), ("model", "c"))),
        'put system text in "systemInstruction"',
    ),
    (
        "parts missing",
        jsonl({"contents": [{"role": "user", "parts": [{"text": "a"}]}, {"role": "model"}]}),
        "contents[1] has no parts",
    ),
    (
        "parts type",
        jsonl(example(("user", "a"), ("model", {"text": "b"}))),
        "contents[1].parts is an object, not a list",
    ),
    ("parts empty", jsonl(example(("user", "a"), ("model", []))), "contents[1].parts is empty"),
    (
        "part type",
        jsonl(example(("user", ["a"]), ("model", "b"))),
        "contents[0].parts[0] is a string, not a part",
    ),
    (
        "part kind",
        jsonl(example(("user", [{"Text": "a"}]), ("model", "b"))),
        'contents[0].parts[0] has no "text" or "fileData"',
    ),
    (
        "part null text",
        jsonl(example(("user", [{"text": None}]), ("model", "b"))),
        'contents[0].parts[0] has no "text" or "fileData"',
    ),
    (
        "part two kinds",
        jsonl(example(("user", [{"text": "a", **FILE}]), ("model", "b"))),
        "contents[0].parts[0] has both text and fileData",
    ),
    (
        "text type",
        jsonl(example(("user", "a"), ("model", [{"text": 4}]))),
        "contents[1].parts[0].text is a number, not a string",
    ),
    (
        "text empty",
        jsonl(example(("user", "a"), ("model", [{"text": "b"}, {"text": ""}]))),
        "contents[1].parts[1].text is empty",
    ),
    (
        "inline data",
        jsonl(example(("user", [{"inlineData": {"mimeType": "image/png", "data": "iVBO"}}]), ("model", "b"))),
        "contents[0].parts[0] has inlineData",
    ),
    (
        "file type",
        jsonl(example(("user", [{"fileData": "gs://media/cat.png"}]), ("model", "b"))),
        "contents[0].parts[0].fileData is a string, not an object",
    ),
    (
        "file mime missing",
        jsonl(example(("user", [{"fileData": {"fileUri": "gs://m/c.png"}}]), ("model", "b"))),
        "contents[0].parts[0].fileData.mimeType is missing",
    ),
    (
        "file mime bad",
        jsonl(example(("user", [{"fileData": {"mimeType": "png", "fileUri": "gs://m/c.png"}}]), ("model", "b"))),
        "fileData.mimeType 'png' is not a MIME type",
    ),
    (
        "file uri missing",
        jsonl(example(("user", [{"fileData": {"mimeType": "image/png"}}]), ("model", "b"))),
        "contents[0].parts[0].fileData.fileUri is missing",
    ),
    (
        "file uri not gs",
        jsonl(example(
            ("user", [{"fileData": {"mimeType": "image/png", "fileUri": "https://x.com/c.png"}}]), ("model", "b")
        )),
        "fileUri 'https://x.com/c.png' is not a gs://bucket/object URI",
    ),
    (
        "file uri no object",
        jsonl(example(("user", [{"fileData": {"mimeType": "image/png", "fileUri": "gs://bucket"}}]), ("model", "b"))),
        "is not a gs://bucket/object URI",
    ),
    (
        "same role twice",
        jsonl(example(("user", "a"), ("user", "b"), ("model", "c"))),
        "contents[1] has role 'user' right after another 'user' turn: alternate user and model turns",
    ),
    (
        "model twice",
        jsonl(example(("user", "a"), ("model", "b"), ("model", "c"))),
        "contents[2] has role 'model' right after another 'model' turn",
    ),
    (
        "ends with user",
        jsonl(example(("user", "a"), ("model", "b"), ("user", "c"))),
        "the last turn, contents[2], has role 'user': end each example with the model's answer",
    ),
    ("only a user turn", jsonl(example(("user", "a"))), "the last turn, contents[0], has role 'user'"),
    (
        "system type",
        jsonl(example(("user", "a"), ("model", "b"), system="Be brief.")),
        "systemInstruction is a string, not an object",
    ),
    (
        "system parts empty",
        jsonl(example(("user", "a"), ("model", "b"), system={"parts": []})),
        "systemInstruction.parts is empty",
    ),
    (
        "system text empty",
        jsonl(example(("user", "a"), ("model", "b"), system={"parts": [{"text": ""}]})),
        "systemInstruction.parts[0].text is empty",
    ),
    (
        "system not text",
        jsonl(example(("user", "a"), ("model", "b"), system={"parts": [FILE]})),
        'systemInstruction.parts[0] has no "text"',
    ),
    (
        "tools type",
        jsonl(example(("user", "a"), ("model", "b"), tools={"functionDeclarations": []})),
        "tools is an object, not a list",
    ),
    (
        "tool type",
        jsonl(example(("user", "a"), ("model", "b"), tools=["search"])),
        "tools[0] is a string, not a tool object",
    ),
    (
        "function call name",
        jsonl(example(("user", "a"), ("model", [{"functionCall": {"args": {}}}]), ("user", "c"), ("model", "d"))),
        "contents[1].parts[0].functionCall.name is missing",
    ),
    (
        "tokens",
        jsonl(example(("user", "a" * (MAX_CHARS - 1)), ("model", "bc"))),
        f"about {MAX_TOKENS_PER_EXAMPLE + 1:,} tokens (an estimate at ~4 characters per token), "
        f"over the limit of {MAX_TOKENS_PER_EXAMPLE:,}",
    ),
    (
        "tokens with system",
        jsonl(example(("user", "a" * (MAX_CHARS - 1)), ("model", "b"), system={"parts": [{"text": "c"}]})),
        "over the limit of",
    ),
    (
        "tokens multimodal",
        jsonl(example(("user", [FILE, {"text": "a" * MAX_CHARS}]), ("model", "b"))),
        "over the limit of",
    ),
    # Beside the fields the rules read, too: the fast path once let these through.
    ("utf-8 in another field", VALID[:-1] + b', "note": "caf\xe9"}', "is not valid UTF-8 (byte 0xe9 at column"),
    ("number out of range", VALID[:-1] + b', "weight": 1e999}', "is not valid JSON (Number out of range"),
    ("nesting", b'{"contents": ' + b"[" * 5000 + b"]" * 5000 + b"}", "nests JSON too deeply to read"),
]

# (rule, passing line, characters it counts, multimodal)
PASSING: list[tuple[str, bytes, int, bool]] = [
    ("one exchange", VALID, len("What is 2 + 2?4."), False),
    (
        "several turns",
        jsonl(example(("user", "ab"), ("model", "c"), ("user", "d"), ("model", [{"text": "e"}, {"text": "fg"}]))),
        7,
        False,
    ),
    (
        "starts with model",
        jsonl(example(("model", "Hello, how can I help?"), ("user", "hi"), ("model", "ok"))),
        len("Hello, how can I help?hiok"),
        False,
    ),
    (
        "unicode",
        jsonl(example(("user", "¿Qué es 東京? 😀"), ("model", "Una città."))),
        len("¿Qué es 東京? 😀Una città."),
        False,
    ),
    (
        "escapes",
        b'{"contents":[{"role":"user","parts":[{"text":"a\\nb\\u00e9\\ud83d\\ude00"}]},{"role":"model","parts":[{"text":"\\"q\\""}]}]}',
        8,
        False,
    ),
    (
        "system instruction",
        jsonl(example(("user", "a"), ("model", "b"), system={"role": "whatever", "parts": [{"text": "Be brief."}]})),
        11,
        False,
    ),
    (
        "system without role",
        jsonl(example(("user", "a"), ("model", "b"), system={"parts": [{"text": "x"}, {"text": "y"}]})),
        4,
        False,
    ),
    (
        "null optionals",
        jsonl({**example(("user", "a"), ("model", "b")), "systemInstruction": None, "tools": None}),
        2,
        False,
    ),
    (
        "unknown keys ignored",
        jsonl({**example(("user", "a"), ("model", "b")), "metadata": {"id": 1}}),
        2,
        False,
    ),
    ("file data", jsonl(example(("user", [FILE, {"text": "What is it?"}]), ("model", "A cat."))), 17, True),
    ("file data only", jsonl(example(("user", [FILE]), ("model", "A cat."))), 6, True),
    ("tools and function parts", jsonl(example(
        ("user", "Weather in Rome?"),
        ("model", [{"functionCall": {"name": "get_weather", "args": {"city": "Rome"}}}]),
        ("user", [{"functionResponse": {"name": "get_weather", "response": {"c": 21}}}]),
        ("model", "21 °C."),
        tools=TOOLS,
    )), -1, False),
    (
        "tokens at the limit",
        jsonl(example(("user", "a" * (MAX_CHARS - 1)), ("model", "b"))),
        MAX_CHARS,
        False,
    ),
    ("crlf line end", VALID + b"\r", len("What is 2 + 2?4."), False),
]


@pytest.mark.parametrize(("rule", "line", "words"), FAILING, ids=[case[0] for case in FAILING])
def test_failing_line_is_reported_by_number(tmp_path: Path, rule: str, line: bytes, words: str) -> None:
    report = report_for(tmp_path, VALID, line, VALID)

    assert not report.ok
    assert report.error_count == 1
    [error] = report.errors
    assert error.line == 2
    assert words in error.message
    assert error.message.endswith("."), "messages are whole sentences"
    assert (report.examples, report.bad_lines, report.lines) == (2, 1, 3)  # a bad line is no example


@pytest.mark.parametrize(("rule", "line", "characters", "multimodal"), PASSING, ids=[case[0] for case in PASSING])
def test_passing_line(tmp_path: Path, rule: str, line: bytes, characters: int, multimodal: bool) -> None:
    report = report_for(tmp_path, VALID, line)

    assert report.errors == []
    assert report.ok
    assert report.examples == 2
    assert report.multimodal_examples == int(multimodal)
    counted = report.characters - len("What is 2 + 2?4.")
    if characters >= 0:
        assert counted == characters
        assert report.max_example_tokens == math.ceil(max(characters, 16) / 4)
    else:  # tools and function parts count by their JSON length
        assert counted > len("Weather in Rome?21 °C.")


@pytest.mark.parametrize(("rule", "line", "characters", "multimodal"), PASSING, ids=[case[0] for case in PASSING])
def test_precise_checker_agrees_with_the_fast_path(
    tmp_path: Path, rule: str, line: bytes, characters: int, multimodal: bool
) -> None:
    fast = report_for(tmp_path, line)
    verdict = check_line(line)

    assert verdict.problem is None
    assert verdict.characters == fast.characters
    assert verdict.multimodal is multimodal


def test_token_counts_are_estimates_per_example(tmp_path: Path) -> None:
    report = report_for(tmp_path, jsonl(example(("user", "a" * 10), ("model", "b" * 7))), VALID)
    assert report.characters == 17 + 16
    assert report.estimated_tokens == 9  # ceil(33 / 4)
    assert report.max_example_tokens == 5  # ceil(17 / 4)


def test_an_error_per_line_and_every_bad_line(tmp_path: Path) -> None:
    bad: list[Any] = [b"nope", jsonl(example(("user", "a"), ("user", "b"))), b"[]"]
    report = report_for(tmp_path, bad[0], VALID, bad[1], VALID, bad[2])

    assert [error.line for error in report.errors] == [1, 3, 5]
    assert report.error_count == 3
    assert (report.examples, report.bad_lines) == (2, 3)
