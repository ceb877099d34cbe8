"""The stack's config file, Pulumi.<stack>.yaml: where it is, and which line holds each key.

Problems are reported as `FILE:LINE: KEY: sentence`, as compilers and linters do, so that an
editor jumps to them. The settings a running program judges come from the engine (which also
takes `pulumi config set` and `--config` values); this module only finds them in the file.
`read_stack_file` reads the settings from the file itself, for checks that run without the
engine (before `pulumi` starts, or in tests). `Problems` collects the problems a parse finds,
each once and at its line, into the one ConfigError that lists them all.
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from tuning_provider.errors import ConfigError, ConfigProblem

__all__ = ["Problems", "closest", "display_path", "key_lines", "read_stack_file", "stack_file"]


def stack_file(stack: str, project_dir: Path) -> Path:
    """Where Pulumi keeps the stack's config: Pulumi.yaml's stackConfigDir, else the project folder."""
    try:
        project = yaml.safe_load((project_dir / "Pulumi.yaml").read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        project = {}
    config_dir = project.get("stackConfigDir", ".") if isinstance(project, dict) else "."
    return project_dir / str(config_dir) / f"Pulumi.{stack}.yaml"


def display_path(path: Path) -> str:
    """The path as a person at the project folder would type it, else in full."""
    try:
        return os.path.relpath(path) if path.resolve().is_relative_to(Path.cwd()) else str(path)
    except (OSError, ValueError):
        return str(path)


def key_lines(path: Path) -> dict[str, int]:
    """The 1-based line of every key under `config:`, by key path: "tuning:region",
    "tuning:job.epoch_count". Raises ConfigError naming the file and line of a YAML syntax error."""
    text = path.read_text(encoding="utf-8")
    try:
        document = yaml.compose(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        reason = " ".join(part for part in (exc.context, exc.problem) if part)
        problem = ConfigProblem(
            "", f"is not valid YAML: {reason}; fix the file's indentation or quoting there",
            mark.line + 1 if mark else None,
        )
        raise ConfigError([problem], display_path(path)) from None
    lines: dict[str, int] = {}
    config = _child(document, "config")
    if isinstance(config, yaml.MappingNode):
        _collect(config, "", lines)
    return lines


def read_stack_file(path: Path, namespace: str) -> dict[str, Any]:
    """The `namespace:*` settings of a stack file, without the namespace, as the engine hands
    them to a program: scalars as strings, structured values as they are."""
    key_lines(path)  # a syntax error, reported with its line
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    config = document.get("config") if isinstance(document, dict) else None
    out: dict[str, Any] = {}
    for key, value in (config or {}).items():
        prefix, _, name = str(key).partition(":")
        if prefix == namespace:
            out[name] = value if isinstance(value, (dict, list)) else _engine_string(value)
    return out


def _engine_string(value: Any) -> str:
    # Pulumi stores plain config values as strings: true -> "true", 90 -> "90".
    return json.dumps(value) if isinstance(value, bool) or value is None else str(value)


def _child(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if key_node.value == key:
                found: yaml.Node = value_node
                return found
    return None


def _collect(node: yaml.MappingNode, prefix: str, lines: dict[str, int]) -> None:
    for key_node, value_node in node.value:
        path = f"{prefix}{key_node.value}"
        lines[path] = key_node.start_mark.line + 1
        if isinstance(value_node, yaml.MappingNode):
            _collect(value_node, f"{path}.", lines)


class Problems:
    """The problems a parse of the settings finds, as it finds them: each once, and in the end
    at the line of the stack file that holds its key (or its parent's, for a missing key)."""

    def __init__(self, source: Path | None = None) -> None:
        """`source`: the stack file the settings come from, when known."""
        self._source = source
        self._found: list[ConfigProblem] = []

    def add(self, key: str, message: str, value: Any = None) -> None:
        """`key` is wrong: `message` says how and the fix; `value`, the bad value, is shown
        unless the sentence quotes it already."""
        if value is not None and repr(value) not in message:
            message = f"{message} (got {value!r})"
        problem = ConfigProblem(key, message)
        if problem not in self._found:
            self._found.append(problem)

    def __bool__(self) -> bool:
        return bool(self._found)

    def error(self) -> ConfigError:
        """Every problem at once, each at its line, in the file's order (as an editor shows them).
        The file is read for its lines only now: a stack without problems never pays for it."""
        if self._source is None:
            return ConfigError(self._found)
        lines = key_lines(self._source)
        located = sorted((replace(p, line=_line_of(p.key, lines)) for p in self._found), key=lambda p: p.line or 0)
        return ConfigError(located, display_path(self._source))


def closest(name: str, valid: Iterable[str], what: str) -> str:
    """The sentence for a key `name` that is not `what`, with the closest valid one."""
    valid = sorted(valid)
    guess = difflib.get_close_matches(name, valid, n=1, cutoff=0.6)
    hint = f"did you mean {guess[0]}? " if guess else ""
    return f"{name!r} is not {what}; {hint}valid keys: {', '.join(valid)}"


def _line_of(key: str, lines: Mapping[str, int]) -> int | None:
    # A key that is not in the file (a missing one) points at its parent, if that is there.
    while key:
        if key in lines:
            return lines[key]
        key = key.rpartition(".")[0]
    return None
