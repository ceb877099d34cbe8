"""Deterministic answers for `generateContent` on the emulator's tuned endpoints.

This IMITATES a tuned model; it runs no neural network. A tuned model is recalled, not
simulated: the answer is the model turn of the training example whose user turn shares the
most words with the prompt (Jaccard overlap of lowercase word sets, ties to the earlier
example). So asking a training question returns its training answer, and a paraphrase
usually does too, which is what tests and demos of a pipeline need.

Generation settings:
- maxOutputTokens truncates the text to about four characters per token
  (`catalog.CHARS_PER_TOKEN`) and sets finishReason MAX_TOKENS;
- candidateCount returns the best N distinct examples, best first;
- stopSequences cut the text before the first stop sequence found;
- temperature, topP, topK, seed, thinkingConfig and systemInstruction are checked for range
  the way Vertex checks them, then have no effect: the answer never varies.
Every response says so in `modelVersion` (see MODEL_VERSION).
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tuning_provider.catalog import CHARS_PER_TOKEN
from tuning_provider.emulator.formats import snake_name
from tuning_provider.errors import InvalidRequest

__all__ = [
    "MAX_REMEMBERED_EXAMPLES",
    "MODEL_VERSION",
    "Example",
    "GenerationRequest",
    "examples_from_lines",
    "parse_generation_request",
    "respond",
]

# Shown as the response's modelVersion so nobody mistakes the emulator's answers for a model's.
MODEL_VERSION = "emulator (imitates a tuned model by recalling its training examples; no neural network)"
# A tuned endpoint remembers at most this many examples of its training file.
MAX_REMEMBERED_EXAMPLES = 10_000
# Vertex's limits on generation settings.
_MAX_CANDIDATES = 8
_TEMPERATURE_RANGE = (0.0, 2.0)
_ROLES = ("user", "model")
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Example:
    """One thing the imitated model learned: a user turn and the model turn that answered it."""

    prompt: str
    answer: str


@dataclass(frozen=True)
class GenerationRequest:
    """What the responder needs from a generateContent body."""

    prompt: str  # the text of the last user turn: what is being asked now
    prompt_characters: int  # every text sent (turns and system instruction), for usage counts
    candidate_count: int = 1
    max_output_tokens: int | None = None
    stop_sequences: tuple[str, ...] = ()


def examples_from_lines(lines: Iterable[bytes], limit: int = MAX_REMEMBERED_EXAMPLES) -> list[Example]:
    """The (user turn, model turn) pairs of tuning examples, one JSON line each, in order.

    Each model turn is paired with the user turn before it, so multi-turn examples teach
    every answer. Lines that are not tuning examples are skipped: the dataset validator has
    judged them already.
    """
    examples: list[Example] = []
    for raw in lines:
        try:
            record = json.loads(raw)
        except ValueError:
            continue
        contents = record.get("contents") if isinstance(record, dict) else None
        if not isinstance(contents, list):
            continue
        asked = ""
        for turn in contents:
            if not isinstance(turn, dict):
                continue
            text = _text_of(turn.get("parts"))
            role = str(turn.get("role", "")).lower()
            if role == "user":
                asked = text
            elif role == "model" and text:
                examples.append(Example(prompt=asked, answer=text))
                if len(examples) >= limit:
                    return examples
    return examples


def parse_generation_request(body: Mapping[str, Any]) -> GenerationRequest:
    """Check a generateContent body (keys already camelCase) and keep what matters.

    Raises InvalidRequest with Vertex's wording for what Vertex rejects.
    """
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        raise InvalidRequest("Unable to submit request because it must include at least one contents field.")
    prompt = ""
    characters = 0
    for turn in contents:
        if not isinstance(turn, dict):
            raise InvalidRequest("Invalid JSON payload received. Each item of contents must be an object.")
        role = str(turn.get("role") or "user").lower()
        if role not in _ROLES:
            raise InvalidRequest(f"Please use a valid role: {', '.join(_ROLES)}. Got {turn.get('role')!r}.")
        parts = turn.get("parts")
        if not isinstance(parts, list) or not parts:
            raise InvalidRequest(
                "Unable to submit request because it must include at least one parts field, "
                "which describes the prompt input."
            )
        text = _text_of(parts)
        characters += len(text)
        if role == "user":
            prompt = text
    system = body.get("systemInstruction")
    if isinstance(system, dict):
        characters += len(_text_of(system.get("parts")))

    config = body.get("generationConfig") or {}
    if not isinstance(config, dict):
        raise InvalidRequest("Invalid JSON payload received. generationConfig must be an object.")
    _check_range(config, "temperature", *_TEMPERATURE_RANGE)
    _check_range(config, "topP", 0.0, 1.0)
    _check_range(config, "topK", 1.0, math.inf)
    candidate_count = int(_check_range(config, "candidateCount", 1, _MAX_CANDIDATES) or 1)
    max_tokens = _check_range(config, "maxOutputTokens", 1, math.inf)
    stops = config.get("stopSequences") or []
    if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
        raise InvalidRequest("generation_config.stop_sequences must be a list of strings.")
    return GenerationRequest(
        prompt=prompt,
        prompt_characters=characters,
        candidate_count=candidate_count,
        max_output_tokens=int(max_tokens) if max_tokens is not None else None,
        stop_sequences=tuple(s for s in stops if s),
    )


def respond(examples: Sequence[Example], request: GenerationRequest, *, create_time: str) -> dict[str, Any]:
    """A GenerateContentResponse (JSON) answering `request` from `examples`."""
    ranked = _rank(examples, request.prompt)
    candidates = []
    candidates_tokens = 0
    for index in range(request.candidate_count):
        answer = ranked[index % len(ranked)].answer if ranked else ""
        text, finish_reason = _shape(answer, request)
        candidates_tokens += _estimate_tokens(text)
        candidate: dict[str, Any] = {
            "content": {"role": "model", "parts": [{"text": text}]},
            "finishReason": finish_reason,
        }
        if index:  # proto3 JSON leaves the default 0 out
            candidate["index"] = index
        candidates.append(candidate)
    prompt_tokens = max(1, math.ceil(request.prompt_characters / CHARS_PER_TOKEN))
    return {
        "candidates": candidates,
        "usageMetadata": {
            "promptTokenCount": prompt_tokens,
            "candidatesTokenCount": candidates_tokens,
            "totalTokenCount": prompt_tokens + candidates_tokens,
        },
        "modelVersion": MODEL_VERSION,
        "createTime": create_time,
        "responseId": uuid.uuid4().hex[:22],
    }


def _estimate_tokens(text: str) -> int:
    """Tokens in `text` at the catalog's characters-per-token rate."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def _rank(examples: Sequence[Example], prompt: str) -> list[Example]:
    """Examples by similarity to the prompt, best first; one per distinct answer."""
    asked = _words(prompt)

    def similarity(item: tuple[int, Example]) -> tuple[float, int]:
        index, example = item
        known = _words(example.prompt)
        union = asked | known
        score = len(asked & known) / len(union) if union else 0.0
        return (-score, index)

    ranked: list[Example] = []
    seen: set[str] = set()
    for _, example in sorted(enumerate(examples), key=similarity):
        if example.answer not in seen:
            seen.add(example.answer)
            ranked.append(example)
    return ranked


def _shape(answer: str, request: GenerationRequest) -> tuple[str, str]:
    """Apply stop sequences and the output token limit; return the text and finishReason."""
    text = answer
    for stop in request.stop_sequences:
        at = text.find(stop)
        if at >= 0:
            text = text[:at]
    if request.max_output_tokens is not None:
        limit = request.max_output_tokens * CHARS_PER_TOKEN
        if len(text) > limit:
            return text[:limit], "MAX_TOKENS"
    return text, "STOP"


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def _text_of(parts: Any) -> str:
    """The text parts of a content, joined; other parts (files, function calls) carry no text."""
    if not isinstance(parts, Iterable) or isinstance(parts, (str, bytes)):
        return ""
    return "".join(p["text"] for p in parts if isinstance(p, dict) and isinstance(p.get("text"), str))


def _check_range(config: Mapping[str, Any], field: str, low: float, high: float) -> float | None:
    """The numeric setting `field`, or None if unset; InvalidRequest if outside [low, high]."""
    value = config.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise InvalidRequest(f"Invalid value for generation_config.{snake_name(field)}: {value!r} is not a number.")
    try:
        number = float(value)
    except ValueError:
        raise InvalidRequest(
            f"Invalid value for generation_config.{snake_name(field)}: {value!r} is not a number."
        ) from None
    if not low <= number <= high:
        bounds = f"from {low:g} to {high:g}" if high != math.inf else f"at least {low:g}"
        raise InvalidRequest(
            f"Unable to submit request because it has a {snake_name(field)} value of {value} "
            f"but the supported range is {bounds}."
        )
    return number
