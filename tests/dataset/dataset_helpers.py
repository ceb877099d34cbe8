"""Builders of tuning examples and JSONL files for the dataset tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tuning_provider.dataset import DatasetReport, validate_dataset

__all__ = ["VALID", "example", "jsonl", "report_for", "write_jsonl"]


def example(*turns: tuple[str, Any], system: Any = None, tools: Any = None) -> dict[str, Any]:
    """{"contents": [...]} from (role, text-or-parts) pairs; a str becomes one text part."""
    contents = [
        {"role": role, "parts": [{"text": body}] if isinstance(body, str) else body}
        for role, body in turns
    ]
    data: dict[str, Any] = {"contents": contents}
    if system is not None:
        data["systemInstruction"] = system
    if tools is not None:
        data["tools"] = tools
    return data


def jsonl(value: Any) -> bytes:
    """One line of JSON, UTF-8, without its newline."""
    return json.dumps(value, ensure_ascii=False).encode()


VALID = jsonl(example(("user", "What is 2 + 2?"), ("model", "4.")))


def write_jsonl(path: Path, *lines: bytes | str | dict[str, Any], end: bytes = b"\n") -> Path:
    """Write lines (bytes as they are, str encoded, dicts as JSON) joined by newlines."""
    encoded = [
        line if isinstance(line, bytes) else line.encode() if isinstance(line, str) else jsonl(line)
        for line in lines
    ]
    path.write_bytes(b"\n".join(encoded) + (end if encoded else b""))
    return path


def report_for(tmp_path: Path, *lines: bytes | str | dict[str, Any], **options: Any) -> DatasetReport:
    """Validate a file made of `lines` (see write_jsonl)."""
    return validate_dataset(write_jsonl(tmp_path / "data.jsonl", *lines), **options)
