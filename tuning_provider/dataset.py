"""A streaming validator of Gemini supervised-tuning datasets (JSONL).

`validate_dataset` reads a local file, a binary file object or a gs:// object in large
chunks (memory stays bounded whatever the file size) and returns a `DatasetReport`: the
counts of lines, examples, characters and estimated tokens, and every bad line by its
1-based number with one sentence saying what is wrong and how to fix it.

The rules, for each non-blank line (an example):
- it is UTF-8 and one JSON object;
- `contents` is a non-empty list of turns, each with `role` "user" or "model" and a
  non-empty `parts` list; a part holds exactly one of a non-empty `text`, a `fileData`
  (`mimeType` and a gs:// `fileUri`; it makes the example multimodal), a `functionCall`
  or a `functionResponse` (function-calling datasets, with `tools`);
- no two consecutive turns have the same role, and the last turn is the model's;
- `systemInstruction` (optional) has non-empty text parts; its role is ignored, as Vertex
  ignores it; `tools` (optional) is a list of objects;
- the example's estimated tokens (characters / CHARS_PER_TOKEN of text, system
  instruction, tools and function parts; media is not counted) stay within
  MAX_TOKENS_PER_EXAMPLE. Token counts are estimates, and the report says so.
Each bad line gets one error, the first problem found in it, and is not counted as an
example (the example limits below count it, since Vertex reads it).
For the whole file: its size, the number of examples (training: a warning under
MIN_RECOMMENDED_EXAMPLES, an error over MAX_TRAINING_EXAMPLES or, for multimodal examples,
MAX_TRAINING_EXAMPLES_MULTIMODAL; validation: an error over MAX_VALIDATION_EXAMPLES), and
the base model when one is named (unknown: an error; retired or deprecated: a warning naming
the replacement). Such errors have line 0.

Blank lines: a line holding nothing but spaces, tabs or a carriage return is skipped and
not counted as an example (a single warning says how many there were, since whether Vertex
skips them or counts them as dropped examples is unconfirmed); a final newline is not a
blank line. CRLF line ends are fine.

Speed: each line is decoded by msgspec straight into Structs that encode the common
text-only case of the rules, so a valid line costs one C call and a few list operations.
A line that fails that fast path (an error, or a rarer valid shape: fileData, function
calls, tools) goes through `_check_example`, the precise checker that is the authority on
the rules and writes the messages. With `workers` > 1, a local file is split into byte
ranges aligned to line ends and scanned by a process pool; line numbers stay exact.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import date
from multiprocessing import get_context
from typing import IO, TYPE_CHECKING, Annotated, Any, Literal

import msgspec

from tuning_provider.catalog import (
    CHARS_PER_TOKEN,
    MAX_DATASET_BYTES,
    MAX_TOKENS_PER_EXAMPLE,
    MAX_TRAINING_EXAMPLES,
    MAX_TRAINING_EXAMPLES_MULTIMODAL,
    MAX_VALIDATION_EXAMPLES,
    MIN_RECOMMENDED_EXAMPLES,
    deprecation_warning,
    find_model,
    retirement_error,
    tunable_model_ids,
)
from tuning_provider.connection import GOOGLE_STORAGE_URL, Service, storage_service
from tuning_provider.errors import ApiError, DatasetError, NotFound, PermissionDenied, Unauthenticated, Unreachable
from tuning_provider.names import gcs_object, is_tuned_model

if TYPE_CHECKING:
    from tuning_provider.vertex.storage import StoredObject

__all__ = ["DatasetKind", "DatasetReport", "GcsObjectVersion", "LineError", "gcs_object_version", "validate_dataset"]

DatasetKind = Literal["training", "validation"]

# Read size: big enough that per-chunk overhead vanishes, small enough to stay in the CPU's
# L2 cache while its lines are parsed (measured: 2 MiB is ~10% faster than 8 MiB).
_CHUNK_BYTES = 2 << 20
# A line longer than this cannot be a valid example (MAX_TOKENS_PER_EXAMPLE * CHARS_PER_TOKEN
# characters is ~0.5 M; even as \\u escapes that is ~6 MB), so it is skipped unread to keep
# memory bounded.
_MAX_LINE_BYTES = 32 << 20
# Below this many bytes per extra worker, starting processes costs more than it saves.
_MIN_BYTES_PER_WORKER = 32 << 20
_MAX_CHARS_PER_EXAMPLE = MAX_TOKENS_PER_EXAMPLE * CHARS_PER_TOKEN
_BLANK = b" \t\r"  # JSON whitespace that may sit on a line of its own
_BOM = b"\xef\xbb\xbf"
_ROLES = ("user", "model")
_PART_KINDS = ("text", "fileData", "functionCall", "functionResponse")


@dataclass(frozen=True)
class LineError:
    """One problem in a dataset: `line` is 1-based, or 0 for a whole-file problem."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


@dataclass
class DatasetReport:
    """What `validate_dataset` found. Token counts are estimates (CHARS_PER_TOKEN)."""

    uri: str
    kind: DatasetKind
    bytes: int = 0
    """Size of the file in bytes."""
    lines: int = 0
    """Lines in the file, blank ones included; a final newline does not start a line."""
    examples: int = 0
    """Valid examples: non-blank lines with no error."""
    bad_lines: int = 0
    """Non-blank lines with an error: not examples, and listed (up to `max_errors`) in `errors`."""
    multimodal_examples: int = 0
    """Valid examples with at least one fileData part."""
    characters: int = 0
    """Characters of text, system instructions, tools and function parts of valid examples."""
    estimated_tokens: int = 0
    """characters / CHARS_PER_TOKEN, rounded up: an estimate, not Vertex's billable count."""
    max_example_tokens: int = 0
    """Estimated tokens of the longest valid example."""
    errors: list[LineError] = field(default_factory=list)
    """The first errors found, in line order, at most `max_errors` of them."""
    error_count: int = 0
    """All errors found, listed or not."""
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the dataset has no errors (warnings are allowed)."""
        return self.error_count == 0

    def summary(self) -> str:
        """One human sentence: valid with its size, or the error count and the first error."""
        if self.ok:
            return (
                f"{self.uri}: valid {self.kind} dataset, {self.examples:,} examples in "
                f"{self.lines:,} lines, about {self.estimated_tokens:,} tokens (estimated at "
                f"~{CHARS_PER_TOKEN} characters per token)."
            )
        noun = "error" if self.error_count == 1 else "errors"
        first = f"; {self.errors[0]}" if self.errors else ""
        return f"{self.uri}: {self.error_count:,} {noun} in {self.lines:,} lines{first}"

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON: every field, plus `ok` and the characters-per-token ratio."""
        data = asdict(self)
        data["ok"] = self.ok
        data["chars_per_token"] = CHARS_PER_TOKEN
        return data


def validate_dataset(
    source: str | os.PathLike[str] | IO[bytes],
    *,
    kind: DatasetKind = "training",
    base_model: str | None = None,
    max_errors: int = 50,
    workers: int = 1,
    storage: Service | None = None,
    today: date | None = None,
    generation: int | None = None,
) -> DatasetReport:
    """Check a tuning dataset against Vertex's rules and limits, line by line.

    `source` is a local path, a binary file object, or a "gs://bucket/object" URI, read from
    the Cloud Storage `storage` names (None: Google's with Application Default Credentials, or
    $STORAGE_EMULATOR_HOST's; see tuning_provider.connection). `workers` > 1 scans a local file in that many
    processes; other sources are read by one. Raises DatasetError when the source cannot be
    read at all; problems in the data are in the report, never raised. `base_model` is judged
    deprecated or retired on `today` (None: the real today). `generation` reads that version of
    a gs:// object (see `gcs_object_version`).
    """
    if kind not in ("training", "validation"):
        raise ValueError(f"kind must be 'training' or 'validation', not {kind!r}")
    if max_errors < 0:
        raise ValueError(f"max_errors must be 0 or more, not {max_errors}")
    uri, path = _describe(source)
    if path is not None:
        ranges = _split_ranges(uri, path, workers) if workers > 1 else []
        if len(ranges) > 1:
            tally = _scan_ranges_in_pool(uri, path, ranges, max_errors)
        else:
            tally = _scan_file(uri, path, max_errors)
    elif isinstance(source, str):
        tally = _scan_gcs(source, max_errors, storage, generation)
    else:
        tally = _scan_stream(uri, source, max_errors)  # type: ignore[arg-type]
    return _report(uri, kind, base_model, tally, max_errors, today)


# --- The fast path: Structs that accept only valid text-only examples -----------------------

_NonEmptyText = Annotated[str, msgspec.Meta(min_length=1)]


class _FastPart(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    text: _NonEmptyText


class _FastTurn(msgspec.Struct, gc=False):
    role: Literal["user", "model"]
    parts: Annotated[list[_FastPart], msgspec.Meta(min_length=1)]


class _FastSystemInstruction(msgspec.Struct, gc=False):
    parts: Annotated[list[_FastPart], msgspec.Meta(min_length=1)]


class _FastExample(msgspec.Struct, gc=False):
    contents: Annotated[list[_FastTurn], msgspec.Meta(min_length=1)]
    systemInstruction: _FastSystemInstruction | None = None
    # Any other shape (tools, legacy messages) goes to the precise checker.
    tools: None = None
    messages: None = None


_fast_decode = msgspec.json.Decoder(_FastExample).decode


# --- The precise checker: the authority on the rules, and their messages --------------------


@dataclass(frozen=True)
class _Verdict:
    """The precise checker's finding on one example."""

    problem: str | None = None
    characters: int = 0
    multimodal: bool = False


def _check_line(line: bytes) -> _Verdict:
    """Decode one non-blank line and check it; the slow path, for lines the fast one refused."""
    if line.startswith(_BOM):
        return _Verdict(
            "the line starts with a UTF-8 byte order mark (BOM): save the file as UTF-8 "
            "without a BOM."
        )
    try:
        example = msgspec.json.decode(line)
    except UnicodeDecodeError:
        return _Verdict(_utf8_problem(line))
    except msgspec.DecodeError as exc:
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            return _Verdict(_utf8_problem(line))
        return _Verdict(
            f"the line is not valid JSON ({_json_detail(exc)}): put exactly one complete JSON "
            "object on each line."
        )
    return _check_example(example)


def _check_example(example: Any) -> _Verdict:
    """Check one decoded example against every rule; count its characters if it is valid."""
    if not isinstance(example, dict):
        return _Verdict(
            f"the line is {_a(example)}, not a JSON object: each line must be one object "
            'with a "contents" list of user and model turns.'
        )
    contents = example.get("contents")
    if contents is None:
        if "messages" in example:
            return _Verdict(
                'the line uses "messages", the legacy format of gemini-1.0-pro-002: write the '
                'conversation as "contents", a list of {"role": "user"|"model", "parts": '
                '[{"text": ...}]} turns, and put any system message in "systemInstruction".'
            )
        return _Verdict(
            'the line has no "contents": add a list of turns, each {"role": "user" or '
            '"model", "parts": [{"text": ...}]}.'
        )
    if not isinstance(contents, list):
        return _Verdict(f"contents is {_a(contents)}, not a list of turns: make it a list.")
    if not contents:
        return _Verdict(
            "contents is empty: give the example at least a user turn and the model's answer."
        )
    characters = 0
    multimodal = False
    previous_role = None
    for index, turn in enumerate(contents):
        where = f"contents[{index}]"
        if not isinstance(turn, dict):
            return _Verdict(
                f'{where} is {_a(turn)}, not a turn: make it an object with "role" and "parts".'
            )
        role = turn.get("role")
        if role is None:
            return _Verdict(f'{where} has no role: set "role" to "user" or "model".')
        if role not in _ROLES:
            return _Verdict(_role_problem(where, role))
        if role == previous_role:
            return _Verdict(
                f"{where} has role '{role}' right after another '{role}' turn: alternate user "
                "and model turns (merge the two turns' parts into one turn)."
            )
        previous_role = role
        problem, turn_characters, turn_multimodal = _check_parts(where, turn.get("parts"))
        if problem:
            return _Verdict(problem)
        characters += turn_characters
        multimodal = multimodal or turn_multimodal
    if previous_role != "model":
        return _Verdict(
            f"the last turn, contents[{len(contents) - 1}], has role 'user': end each example "
            "with the model's answer, which is what tuning teaches."
        )
    instruction = example.get("systemInstruction")
    if instruction is not None:
        problem, instruction_characters = _check_system_instruction(instruction)
        if problem:
            return _Verdict(problem)
        characters += instruction_characters
    tools = example.get("tools")
    if tools is not None:
        problem, tools_characters = _check_tools(tools)
        if problem:
            return _Verdict(problem)
        characters += tools_characters
    return _Verdict(None, characters, multimodal)


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
        return (
            f"{where}.mimeType is {_described(mime_type)}: give the file's MIME type, such as "
            '"image/jpeg" or "application/pdf".'
        )
    if mime_type.count("/") != 1 or mime_type.startswith("/") or mime_type.endswith("/"):
        return f"{where}.mimeType '{mime_type}' is not a MIME type such as \"image/png\": fix it."
    uri = data.get("fileUri")
    if not isinstance(uri, str) or not uri:
        return (
            f"{where}.fileUri is {_described(uri)}: give the file's Cloud Storage URI, "
            '"gs://bucket/object".'
        )
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


# --- Scanning: lines in, counts and errors out ----------------------------------------------


class _TooLong:
    """Stands in for a line too long to hold in memory; the fast decoder rejects it."""

    def __init__(self, size: int) -> None:
        self.size = size


@dataclass
class _Tally:
    """Counts and errors of a run of lines; tallies of consecutive ranges merge."""

    max_errors: int
    bytes: int = 0
    lines: int = 0
    blank_lines: int = 0
    first_blank_line: int = 0
    multimodal_examples: int = 0
    characters: int = 0
    max_example_characters: int = 0
    errors: list[LineError] = field(default_factory=list)
    error_count: int = 0

    def add_error(self, line: int, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < self.max_errors:
            self.errors.append(LineError(line, message))

    def scan(self, lines: list[memoryview | _TooLong]) -> None:
        """Check a batch of consecutive lines. The hot loop: keep it lean."""
        decode = _fast_decode
        lineno = self.lines
        characters = 0
        longest = self.max_example_characters
        for line in lines:
            lineno += 1
            try:
                # A _TooLong placeholder is no buffer: msgspec's TypeError sends it to slow().
                example = decode(line)  # type: ignore[arg-type]
            except (msgspec.DecodeError, UnicodeDecodeError, TypeError):
                self.slow(line, lineno)
                continue
            # A plain loop is the fastest way here (faster than comprehensions or map).
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
                    if count > _MAX_CHARS_PER_EXAMPLE:
                        self.add_error(lineno, _too_many_tokens(count))
                    characters += count
                    if count > longest:
                        longest = count
                    continue
            self.slow(line, lineno)
        self.lines = lineno
        self.characters += characters
        # slow() may have raised the maximum meanwhile
        self.max_example_characters = max(self.max_example_characters, longest)

    def slow(self, line: memoryview | _TooLong, lineno: int) -> None:
        """A line the fast path refused: blank, too long, or for the precise checker."""
        if isinstance(line, _TooLong):
            self.add_error(
                lineno,
                f"the line is {line.size:,} bytes long, too long to be an example within the "
                f"{MAX_TOKENS_PER_EXAMPLE:,}-token limit (it was skipped unread): split or "
                "shorten it.",
            )
            return
        data = bytes(line)  # the view is valid only for this batch
        if not data.strip(_BLANK):
            self.blank_lines += 1
            if not self.first_blank_line:
                self.first_blank_line = lineno
            return
        verdict = _check_line(data)
        if verdict.problem:
            self.add_error(lineno, verdict.problem)
            return
        count = verdict.characters
        if count > _MAX_CHARS_PER_EXAMPLE:
            self.add_error(lineno, _too_many_tokens(count))
        self.characters += count
        self.max_example_characters = max(self.max_example_characters, count)
        self.multimodal_examples += verdict.multimodal

    def merge(self, later: _Tally) -> None:
        """Append the tally of the range that follows this one, renumbering its lines."""
        offset = self.lines
        for error in later.errors:
            if len(self.errors) >= self.max_errors:
                break
            self.errors.append(LineError(error.line + offset, error.message))
        self.error_count += later.error_count
        if later.blank_lines and not self.first_blank_line:
            self.first_blank_line = later.first_blank_line + offset
        self.blank_lines += later.blank_lines
        self.bytes += later.bytes
        self.lines += later.lines
        self.multimodal_examples += later.multimodal_examples
        self.characters += later.characters
        self.max_example_characters = max(self.max_example_characters, later.max_example_characters)


def _too_many_tokens(characters: int) -> str:
    tokens = math.ceil(characters / CHARS_PER_TOKEN)
    return (
        f"the example has about {tokens:,} tokens (an estimate at ~{CHARS_PER_TOKEN} characters "
        f"per token), over the limit of {MAX_TOKENS_PER_EXAMPLE:,} per example: shorten or split "
        "it, or Vertex will truncate it."
    )


# Reads into the buffer it is given and returns the number of bytes read, 0 at the end.
_ReadInto = Callable[[memoryview], int]


def _line_batches(readinto: _ReadInto, limit: int | None = None) -> Iterator[list[Any]]:
    """The lines of a byte stream in batches, as memoryviews without their newlines; reads at
    most `limit` bytes if given. A line over _MAX_LINE_BYTES is skipped and comes as a
    _TooLong. The views point into one reused buffer: each batch is valid only until the
    next one is asked for (no copies, which is most of the speed)."""
    buffer = bytearray(_CHUNK_BYTES)
    view = memoryview(buffer)
    filled = 0  # bytes at the start of the buffer not yet handed out: a partial line
    skipping = 0  # bytes of an over-long line thrown away so far
    remaining = limit
    while True:
        if filled == len(buffer):  # one line fills the buffer: grow it, up to the cap
            if len(buffer) < _MAX_LINE_BYTES:
                buffer = bytearray(view[:filled]) + bytes(len(buffer))
                view = memoryview(buffer)
            else:
                skipping, filled = skipping + filled, 0
        want = len(buffer) - filled if remaining is None else min(len(buffer) - filled, remaining)
        count = readinto(view[filled : filled + want]) if want else 0
        if not count:
            break
        if remaining is not None:
            remaining -= count
        filled += count
        if skipping:
            newline = buffer.find(b"\n", 0, filled)
            if newline < 0:
                skipping, filled = skipping + filled, 0
                continue
            yield [_TooLong(skipping + newline)]
            skipping = 0
            filled = _keep_tail(buffer, view, newline + 1, filled)
        end = buffer.rfind(b"\n", 0, filled)
        if end < 0:
            continue
        lines: list[memoryview | _TooLong] = []
        append = lines.append
        find = buffer.find
        start = 0
        while start <= end:
            newline = find(b"\n", start, end + 1)
            append(view[start:newline])
            start = newline + 1
        yield lines
        del lines
        filled = _keep_tail(buffer, view, end + 1, filled)
    if skipping:
        yield [_TooLong(skipping + filled)]
    elif filled:
        yield [view[:filled]]


def _keep_tail(buffer: bytearray, view: memoryview, start: int, filled: int) -> int:
    """Move buffer[start:filled] to the front; returns its length. (Copied through bytes:
    bytearray slice assignment uses memcpy, which must not see overlapping memory.)"""
    tail = filled - start
    buffer[:tail] = bytes(view[start:filled])
    return tail


def _readinto_of(read: Callable[[int], bytes]) -> _ReadInto:
    """A readinto for sources that only have read(n)."""

    def readinto(target: memoryview) -> int:
        data = read(len(target))
        target[: len(data)] = data
        return len(data)

    return readinto


def _scan(readinto: _ReadInto, max_errors: int, limit: int | None = None) -> _Tally:
    tally = _Tally(max_errors)
    counted = 0

    def counting_readinto(target: memoryview) -> int:
        nonlocal counted
        count = readinto(target) or 0
        counted += count
        return count

    for batch in _line_batches(counting_readinto, limit):
        tally.scan(batch)
    tally.bytes = counted
    return tally


# --- Sources: local files, file objects, gs:// objects --------------------------------------


def _describe(source: Any) -> tuple[str, str | None]:
    """The source's name for messages, and its local path if it is a local file."""
    if isinstance(source, str) and "://" in source:
        return source, None
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        return str(path), str(path)
    if callable(getattr(source, "read", None)):
        name = getattr(source, "name", None)
        return (name if isinstance(name, str) else "<stream>"), None
    raise TypeError(
        f"source must be a path, a gs:// URI or a binary file object, not {type(source).__name__}"
    )


def _open_error(uri: str, exc: OSError) -> DatasetError:
    if isinstance(exc, FileNotFoundError):
        return DatasetError(uri, "there is no such file: check the path.")
    if isinstance(exc, IsADirectoryError):
        return DatasetError(uri, "this is a directory, not a JSONL file: name the file itself.")
    if isinstance(exc, PermissionError):
        return DatasetError(uri, "the file cannot be read (permission denied): check its permissions.")
    return DatasetError(uri, f"the file cannot be read ({exc.strerror or exc}).")


def _scan_file(uri: str, path: str, max_errors: int) -> _Tally:
    try:
        return _scan_file_range(path, 0, None, max_errors)
    except OSError as exc:
        raise _open_error(uri, exc) from exc


def _scan_file_range(path: str, start: int, end: int | None, max_errors: int) -> _Tally:
    """Scan bytes [start, end) of a file (to its end if `end` is None); raises OSError."""
    with open(path, "rb", buffering=0) as file:
        file.seek(start)
        return _scan(file.readinto, max_errors, None if end is None else end - start)


def _scan_stream(uri: str, stream: IO[bytes], max_errors: int) -> _Tally:
    def read(size: int) -> bytes:
        data = stream.read(size)
        if isinstance(data, str):
            raise DatasetError(uri, "the file was opened in text mode: open it in binary mode ('rb').")
        return data

    try:
        readinto = getattr(stream, "readinto", None)
        return _scan(readinto if callable(readinto) else _readinto_of(read), max_errors)
    except OSError as exc:
        raise _open_error(uri, exc) from exc


@dataclass(frozen=True)
class GcsObjectVersion:
    """One version of a gs:// object: its generation and content checksum (crc32c, else md5)."""

    uri: str
    generation: int
    checksum: str


def gcs_object_version(uri: str, storage: Service | None = None) -> GcsObjectVersion:
    """The current version of a gs:// object in `storage` (None: as the environment says, see
    `connection.storage_service`): its metadata only, the content is not read. Raises
    DatasetError as `validate_dataset` does when it cannot be read."""
    with _open_gcs(uri, storage, None) as stored:
        return GcsObjectVersion(uri, stored.generation, stored.checksum)


def _scan_gcs(uri: str, max_errors: int, storage: Service | None, generation: int | None = None) -> _Tally:
    """Stream a gs:// object (at `generation`, if given) in ranged chunks."""
    with _open_gcs(uri, storage, generation) as stored:
        position = 0

        def read(want: int) -> bytes:
            nonlocal position
            if position >= stored.size:
                return b""
            data = stored.read(position, min(position + want, stored.size) - 1)  # ranges are inclusive
            position += len(data)
            return data

        return _scan(_readinto_of(read), max_errors)


@contextlib.contextmanager
def _open_gcs(uri: str, storage: Service | None, generation: int | None) -> Iterator[StoredObject]:
    """The object `uri` open for reading through the transport (tuning_provider.vertex.storage),
    its errors said again for the dataset: what is wrong with this URI, and the fix."""
    if not uri.startswith("gs://"):
        raise DatasetError(
            uri, "only local paths and gs://bucket/object URIs can be read: give one of those."
        )
    named = gcs_object(uri)
    if named is None:
        raise DatasetError(uri, "the URI names no object: write it as gs://bucket/path/to/file.jsonl.")
    # Imported here: the transport (google-cloud-storage) is slow to import and only gs:// needs it.
    from tuning_provider.vertex.storage import open_object

    service = storage or storage_service()
    try:
        with open_object(service, *named, generation=generation) as stored:
            yield stored
    except ApiError as exc:
        raise _gcs_error(uri, named, service, exc) from exc


def _gcs_error(uri: str, named: tuple[str, str], storage: Service, exc: ApiError) -> DatasetError:
    bucket, name = named
    if isinstance(exc, NotFound):
        return DatasetError(uri, f"there is no object {name} in bucket {bucket} (or no such bucket): check the URI.")
    if isinstance(exc, PermissionDenied):
        return DatasetError(
            uri, f"permission denied reading it: grant the caller roles/storage.objectViewer on bucket {bucket}."
        )
    if isinstance(exc, Unauthenticated):
        return DatasetError(
            uri, "Cloud Storage is read with Application Default Credentials, and there are none (or they were "
            "refused): run `gcloud auth application-default login`; for an emulator, name it with "
            "tuning:storageEndpoint, --storage-endpoint or STORAGE_EMULATOR_HOST.",
        )
    where = storage.url or GOOGLE_STORAGE_URL
    if isinstance(exc, Unreachable):
        return DatasetError(uri, f"nothing answers at {where}: start the emulator (`make emulator`), or name the "
                            "Cloud Storage to read with tuning:storageEndpoint, --storage-endpoint or "
                            "STORAGE_EMULATOR_HOST.")
    if exc.status is None:
        return DatasetError(uri, f"Cloud Storage at {where} could not be reached ({exc.message}): check the "
                            "network and try again.")
    return DatasetError(uri, f"Cloud Storage at {where} refused to serve it ({exc.message}).")


# --- Several processes: one byte range each, aligned to line ends ---------------------------


def _split_ranges(uri: str, path: str, workers: int) -> list[tuple[int, int]]:
    """[start, end) byte ranges covering the file, each starting at a line's first byte;
    fewer than `workers` when the file is small."""
    try:
        size = os.stat(path).st_size
        count = max(1, min(workers, size // _MIN_BYTES_PER_WORKER))
        starts = [0]
        with open(path, "rb") as file:
            for index in range(1, count):
                cut = _next_line_start(file, max(size * index // count, starts[-1]))
                if cut >= size:
                    break
                if cut > starts[-1]:
                    starts.append(cut)
    except OSError as exc:
        raise _open_error(uri, exc) from exc
    return list(zip(starts, starts[1:] + [size], strict=True))


def _next_line_start(file: IO[bytes], offset: int) -> int:
    """The offset just after the first newline at or after `offset - 1`."""
    file.seek(max(offset - 1, 0))
    position = file.tell()
    while True:
        block = file.read(1 << 16)
        if not block:
            return position
        newline = block.find(b"\n")
        if newline >= 0:
            return position + newline + 1
        position += len(block)


def _scan_ranges_in_pool(uri: str, path: str, ranges: list[tuple[int, int]], max_errors: int) -> _Tally:
    """Scan the first range here and the others in worker processes; merge in file order."""
    # fork starts fastest, but forking a process that runs threads (a Pulumi provider's gRPC
    # server) can deadlock the child: then use a fork server.
    method = "fork" if threading.active_count() == 1 else "forkserver"
    try:
        with ProcessPoolExecutor(len(ranges) - 1, mp_context=get_context(method)) as pool:
            futures = [
                pool.submit(_scan_file_range, path, start, end, max_errors) for start, end in ranges[1:]
            ]
            tally = _scan_file_range(path, *ranges[0], max_errors)
            for future in futures:
                tally.merge(future.result())
    except OSError as exc:
        raise _open_error(uri, exc) from exc
    return tally


# --- The whole-file checks and the report ---------------------------------------------------


def _report(
    uri: str, kind: DatasetKind, base_model: str | None, tally: _Tally, max_errors: int, today: date | None
) -> DatasetReport:
    # Each bad line has exactly one error, so the tally's error count is the bad lines'.
    bad_lines = tally.error_count
    filled_lines = tally.lines - tally.blank_lines  # what Vertex reads, bad lines too: for the limits
    examples = filled_lines - bad_lines
    file_errors: list[str] = []
    warnings: list[str] = []
    if tally.bytes > MAX_DATASET_BYTES:
        file_errors.append(
            f"the file is {tally.bytes / 2**30:.2f} GiB, over the {MAX_DATASET_BYTES / 2**30:.0f} GiB "
            "limit of a tuning dataset: drop examples to make it smaller."
        )
    if filled_lines == 0:
        file_errors.append("the file has no examples: write one JSON object per line.")
    elif kind == "validation" and filled_lines > MAX_VALIDATION_EXAMPLES:
        file_errors.append(
            f"the validation set has {filled_lines:,} examples, over the limit of "
            f"{MAX_VALIDATION_EXAMPLES:,}: keep at most {MAX_VALIDATION_EXAMPLES:,}."
        )
    elif kind == "training":
        if filled_lines > MAX_TRAINING_EXAMPLES:
            file_errors.append(
                f"the training set has {filled_lines:,} examples, over the limit of "
                f"{MAX_TRAINING_EXAMPLES:,}: keep at most {MAX_TRAINING_EXAMPLES:,}."
            )
        if tally.multimodal_examples > MAX_TRAINING_EXAMPLES_MULTIMODAL:
            file_errors.append(
                f"the training set has {tally.multimodal_examples:,} multimodal examples, over the "
                f"limit of {MAX_TRAINING_EXAMPLES_MULTIMODAL:,}: keep at most "
                f"{MAX_TRAINING_EXAMPLES_MULTIMODAL:,}."
            )
        if examples < MIN_RECOMMENDED_EXAMPLES:
            warnings.append(
                f"only {examples:,} training examples: Google recommends at least "
                f"{MIN_RECOMMENDED_EXAMPLES:,} (100 to 500 or more) for supervised tuning."
            )
    if base_model is not None and is_tuned_model(base_model):
        # A tuned model (continuous tuning): its own base model is not known offline, and the
        # data's rules do not depend on it; the spec check judges the name.
        base_model = None
    if base_model is not None:
        model = find_model(base_model)
        if model is None:
            file_errors.append(
                f"'{base_model}' is not a base model Vertex can tune: choose one of "
                f"{', '.join(tunable_model_ids(today))}."
            )
        # Only a warning, even when retired: the data itself is fine, and the spec check is
        # what refuses a retired model (the emulator, which validates with this, stays as it was).
        elif lifecycle_note := retirement_error(model.id, today) or deprecation_warning(model.id, today):
            warnings.append(f"{lifecycle_note}.")
    if tally.blank_lines:
        noun = "line was" if tally.blank_lines == 1 else "lines were"
        warnings.append(
            f"{tally.blank_lines:,} blank {noun} skipped (the first is line "
            f"{tally.first_blank_line:,}): remove blank lines, since Vertex may count them as "
            "dropped examples."
        )
    errors = [LineError(0, message) for message in file_errors] + tally.errors
    return DatasetReport(
        uri=uri,
        kind=kind,
        bytes=tally.bytes,
        lines=tally.lines,
        examples=examples,
        bad_lines=bad_lines,
        multimodal_examples=tally.multimodal_examples,
        characters=tally.characters,
        estimated_tokens=math.ceil(tally.characters / CHARS_PER_TOKEN),
        max_example_tokens=math.ceil(tally.max_example_characters / CHARS_PER_TOKEN),
        errors=errors[:max_errors],
        error_count=tally.error_count + len(file_errors),
        warnings=warnings,
    )
