"""The rules of a tuning example, and their messages: the authority on what a line may hold.

`check_line` decodes one non-blank line and checks it against every rule of the package's
docstring; the fast path (fast.py) accepts only lines this module would accept, and hands it
every other one, so each message a user sees is written here. The example's token estimate
against the per-example limit is judged by the scan (it knows the limit it was handed).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from tuning_provider.catalog import CHARS_PER_TOKEN
from tuning_provider.names import gcs_object

__all__ = ["Verdict", "check_example", "check_line", "is_blank", "line_too_long", "too_many_tokens"]

_BLANK = b" \t\r"  # JSON whitespace that may sit on a line of its own
_BOM = b"\xef\xbb\xbf"
_ROLES = ("user", "model")
_PART_KINDS = ("text", "fileData", "functionCall", "functionResponse")
_TOO_DEEP = "the line nests JSON too deeply to read (about a thousand levels of arrays or objects): flatten it."


@dataclass(frozen=True)
class Verdict:
    """The precise checker's finding on one example."""

    problem: str | None = None
    characters: int = 0
    multimodal: bool = False


def check_line(line: bytes) -> Verdict:
    """Decode one non-blank line and check it; the slow path, for lines the fast one refused."""
    if line.startswith(_BOM):
        return Verdict(
            "the line starts with a UTF-8 byte order mark (BOM): save the file as UTF-8 "
            "without a BOM."
        )
    try:
        example = msgspec.json.decode(line)
    except RecursionError:
        return Verdict(_TOO_DEEP)
    except UnicodeDecodeError:
        return Verdict(_utf8_problem(line))
    except msgspec.DecodeError as exc:
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            return Verdict(_utf8_problem(line))
        return Verdict(
            f"the line is not valid JSON ({_json_detail(exc)}): put exactly one complete JSON "
            "object on each line."
        )
    try:
        return check_example(example)
    except RecursionError:  # counting a function part's or the tools' JSON goes as deep
        return Verdict(_TOO_DEEP)


def check_example(example: Any) -> Verdict:
    """Check one decoded example against every rule; count its characters if it is valid."""
    if not isinstance(example, dict):
        return Verdict(
            f"the line is {_a(example)}, not a JSON object: each line must be one object "
            'with a "contents" list of user and model turns.'
        )
    contents = example.get("contents")
    if contents is None:
        if "messages" in example:
            return Verdict(
                'the line uses "messages", the legacy format of gemini-1.0-pro-002: write the '
                'conversation as "contents", a list of {"role": "user"|"model", "parts": '
                '[{"text": ...}]} turns, and put any system message in "systemInstruction".'
            )
        return Verdict(
            'the line has no "contents": add a list of turns, each {"role": "user" or '
            '"model", "parts": [{"text": ...}]}.'
        )
    problem, characters, multimodal = _check_contents(contents)
    if problem:
        return Verdict(problem)
    for key, check in _OPTIONAL_PARTS:
        if (value := example.get(key)) is not None:
            problem, part_characters = check(value)
            if problem:
                return Verdict(problem)
            characters += part_characters
    return Verdict(None, characters, multimodal)


def _check_contents(contents: Any) -> tuple[str | None, int, bool]:
    """Check the turns; returns (problem, characters, has fileData)."""
    if not isinstance(contents, list):
        return f"contents is {_a(contents)}, not a list of turns: make it a list.", 0, False
    if not contents:
        return "contents is empty: give the example at least a user turn and the model's answer.", 0, False
    characters = 0
    multimodal = False
    previous_role = None
    for index, turn in enumerate(contents):
        where = f"contents[{index}]"
        if not isinstance(turn, dict):
            return f'{where} is {_a(turn)}, not a turn: make it an object with "role" and "parts".', 0, False
        role = turn.get("role")
        if role is None:
            return f'{where} has no role: set "role" to "user" or "model".', 0, False
        if role not in _ROLES:
            return _role_problem(where, role), 0, False
        if role == previous_role:
            return (
                f"{where} has role '{role}' right after another '{role}' turn: alternate user "
                "and model turns (merge the two turns' parts into one turn)."
            ), 0, False
        previous_role = role
        problem, turn_characters, turn_multimodal = _check_parts(where, turn.get("parts"))
        if problem:
            return problem, 0, False
        characters += turn_characters
        multimodal = multimodal or turn_multimodal
    if previous_role != "model":
        return (
            f"the last turn, contents[{len(contents) - 1}], has role 'user': end each example "
            "with the model's answer, which is what tuning teaches."
        ), 0, False
    return None, characters, multimodal


def _check_parts(turn: str, parts: Any) -> tuple[str | None, int, bool]:
    """Check the parts of the turn at `turn`; returns (problem, characters, has fileData)."""
    if parts is None:
        return f'{turn} has no parts: give it a "parts" list such as [{{"text": ...}}].', 0, False
    if not isinstance(parts, list):
        return f"{turn}.parts is {_a(parts)}, not a list: make it a list of parts.", 0, False
    if not parts:
        return f"{turn}.parts is empty: give the turn at least one part with text or fileData.", 0, False
    characters = 0
    multimodal = False
    for index, part in enumerate(parts):
        here = f"{turn}.parts[{index}]"
        problem, part_characters, is_file = _check_part(here, part)
        if problem:
            return problem, 0, False
        characters += part_characters
        multimodal = multimodal or is_file
    return None, characters, multimodal


def _check_part(where: str, part: Any) -> tuple[str | None, int, bool]:
    """Check one part: exactly one non-null kind among text, fileData and function parts."""
    if not isinstance(part, dict):
        return f'{where} is {_a(part)}, not a part: make it an object such as {{"text": ...}}.', 0, False
    kinds = [kind for kind in _PART_KINDS if part.get(kind) is not None]
    if not kinds:
        if part.get("inlineData") is not None:
            return (
                f"{where} has inlineData, which tuning datasets do not take: upload the file to "
                'Cloud Storage and refer to it with "fileData": {"mimeType": ..., "fileUri": '
                '"gs://..."}.'
            ), 0, False
        return (
            f'{where} has no "text" or "fileData": give each part exactly one of them '
            "(keys are case-sensitive camelCase)."
        ), 0, False
    if len(kinds) > 1:
        return f"{where} has both {kinds[0]} and {kinds[1]}: put each in a part of its own.", 0, False
    kind = kinds[0]
    value = part[kind]
    if kind == "text":
        if not isinstance(value, str):
            return f"{where}.text is {_a(value)}, not a string: quote it.", 0, False
        if not value:
            return f"{where}.text is empty: write the text, or remove the part.", 0, False
        return None, len(value), False
    if kind == "fileData":
        return _check_file_data(f"{where}.fileData", value), 0, True
    return _check_function_part(f"{where}.{kind}", kind, value)


def _check_file_data(where: str, data: Any) -> str | None:
    if not isinstance(data, dict):
        return f'{where} is {_a(data)}, not an object: give it "mimeType" and "fileUri".'
    mime_type = data.get("mimeType")
    if not isinstance(mime_type, str) or not mime_type:
        return _no_text(f"{where}.mimeType", mime_type,
                        'the file\'s MIME type, such as "image/jpeg" or "application/pdf"')
    if mime_type.count("/") != 1 or mime_type.startswith("/") or mime_type.endswith("/"):
        return f"{where}.mimeType '{mime_type}' is not a MIME type such as \"image/png\": fix it."
    uri = data.get("fileUri")
    if not isinstance(uri, str) or not uri:
        return _no_text(f"{where}.fileUri", uri, 'the file\'s Cloud Storage URI, "gs://bucket/object"')
    if gcs_object(uri) is None:
        return (
            f"{where}.fileUri '{_clip(uri)}' is not a gs://bucket/object URI: tuning reads "
            "media from Cloud Storage, so upload the file there and use its gs:// URI."
        )
    return None


def _check_function_part(where: str, kind: str, value: Any) -> tuple[str | None, int, bool]:
    """functionCall {name, args} and functionResponse {name, response}: count their JSON."""
    if not isinstance(value, dict):
        return f'{where} is {_a(value)}, not an object: give it a "name".', 0, False
    name = value.get("name")
    if not isinstance(name, str) or not name:
        return f"{where}.name is {_described(name)}: name the function.", 0, False
    return None, len(msgspec.json.encode(value)), False


def _check_system_instruction(instruction: Any) -> tuple[str | None, int]:
    where = "systemInstruction"
    if isinstance(instruction, str):
        return (
            f'{where} is a string, not an object: write it as {{"parts": [{{"text": ...}}]}}.',
            0,
        )
    if not isinstance(instruction, dict):
        return f'{where} is {_a(instruction)}, not an object with "parts": fix it.', 0
    parts = instruction.get("parts")
    if parts is None:
        return f'{where} has no parts: give it "parts": [{{"text": ...}}], or remove it.', 0
    if not isinstance(parts, list):
        return f"{where}.parts is {_a(parts)}, not a list: make it a list of text parts.", 0
    if not parts:
        return f"{where}.parts is empty: give it a text part, or remove the systemInstruction.", 0
    characters = 0
    for index, part in enumerate(parts):
        here = f"{where}.parts[{index}]"
        if not isinstance(part, dict) or part.get("text") is None:
            return f'{here} has no "text": a system instruction is text only.', 0
        problem, part_characters, _ = _check_part(here, part)
        if problem:
            return problem, 0
        characters += part_characters
    return None, characters


def _check_tools(tools: Any) -> tuple[str | None, int]:
    if not isinstance(tools, list):
        return f"tools is {_a(tools)}, not a list: make it a list of tool objects.", 0
    for index, tool in enumerate(tools):
        if not isinstance(tool, dict):
            return (
                f'tools[{index}] is {_a(tool)}, not a tool object such as '
                '{"functionDeclarations": [...]}: fix it.'
            ), 0
    return None, len(msgspec.json.encode(tools))


# The keys an example may hold beside "contents", each checked by its rule and counted, in order.
_OPTIONAL_PARTS: tuple[tuple[str, Callable[[Any], tuple[str | None, int]]], ...] = (
    ("systemInstruction", _check_system_instruction),
    ("tools", _check_tools),
)


def _role_problem(where: str, role: Any) -> str:
    if not isinstance(role, str):
        return f'{where}.role is {_a(role)}: set it to "user" or "model".'
    hint = {
        "assistant": ' (Gemini calls the assistant "model")',
        "system": ' (put system text in "systemInstruction" instead)',
        "function": ' (function responses go in a "user" turn)',
    }.get(role.lower(), "")
    if role.lower() in _ROLES:
        hint = " (roles are lowercase)"
    return f"{where}.role is '{_clip(role)}': use 'user' or 'model'{hint}."


def _a(value: Any) -> str:
    """A JSON value's kind with its article: "an array", "a string", "null"."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _no_text(where: str, value: Any, wanted: str) -> str:
    """The problem of a key that must hold a non-empty string and does not."""
    return f"{where} is {_described(value)}: give {wanted}."


def _described(value: Any) -> str:
    if value is None:
        return "missing"
    if value == "":
        return "empty"
    return _a(value)


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _json_detail(exc: msgspec.DecodeError) -> str:
    """msgspec's "JSON is malformed: invalid character (byte 12)" as "invalid character at column 13"."""
    detail = str(exc).removeprefix("JSON is malformed: ")
    if detail == "Input data was truncated":
        return "it ends before the JSON value is complete"
    head, marker, tail = detail.rpartition(" (byte ")
    if marker and tail.endswith(")") and tail[:-1].isdigit():
        return f"{head} at column {int(tail[:-1]) + 1}"
    return detail


def _utf8_problem(line: bytes) -> str:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = line[exc.start : exc.start + 1].hex()
        return (
            f"the line is not valid UTF-8 (byte 0x{bad} at column {exc.start + 1}): save the "
            "file as UTF-8."
        )
    return "the line is not valid UTF-8: save the file as UTF-8."



def is_blank(line: bytes) -> bool:
    """A line of nothing but spaces, tabs or a carriage return: skipped, not an example."""
    return not line.strip(_BLANK)


def too_many_tokens(characters: int, max_tokens: int) -> str:
    """The problem of an example whose estimated tokens exceed `max_tokens`."""
    tokens = math.ceil(characters / CHARS_PER_TOKEN)
    return (
        f"the example has about {tokens:,} tokens (an estimate at ~{CHARS_PER_TOKEN} characters "
        f"per token), over the limit of {max_tokens:,} per example: shorten or split "
        "it, or Vertex will truncate it."
    )


def line_too_long(size: int, max_tokens: int) -> str:
    """The problem of a line too long to hold in memory (skipped unread)."""
    return (
        f"the line is {size:,} bytes long, too long to be an example within the "
        f"{max_tokens:,}-token limit (it was skipped unread): split or shorten it."
    )
