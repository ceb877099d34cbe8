"""The stack's config file, Pulumi.<stack>.yaml: where it is, and which line holds each key.

Problems are reported as `FILE:LINE: KEY: sentence`, as compilers and linters do, so that an
editor jumps to them. The settings a running program judges come from the engine (which also
takes `pulumi config set` and `--config` values); this module only finds them in the file.
`read_stack_file` reads the settings from the file itself, for checks that run without the
engine (before `pulumi` starts, or in tests).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import yaml

from tuning_provider.errors import ConfigError, ConfigProblem

__all__ = ["display_path", "key_lines", "read_stack_file", "stack_file"]


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
