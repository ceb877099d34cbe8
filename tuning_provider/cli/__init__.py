"""`python -m tuning_provider`: parsing and exit codes only; the work lives in the library.

Each subcommand lives in its own module with `register(subparsers)`, which adds its parser
and sets `func(args) -> int` as the default to run.
Exit codes: 0 success, 1 the thing checked is bad (invalid dataset, failed job),
2 usage or unreadable input, 3 an API error (not found, permission, quota).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from tuning_provider.errors import TuningError

__all__ = ["main"]


# Each subcommand's module, in the order `--help` lists them.
COMMANDS = {name: f"tuning_provider.cli.{name}" for name in ("validate", "emulator", "jobs", "ask")}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every subcommand, or of `only` that one: `validate` then never imports
    what `jobs` and `ask` need to reach Vertex (google-genai, pydantic), so it starts fast."""
    parser = argparse.ArgumentParser(
        prog="python -m tuning_provider",
        description="Gemini supervised tuning on Vertex AI: datasets, jobs, tuned models, emulator.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in COMMANDS.items():
        if only is None or name == only:
            importlib.import_module(module).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # The first word is the subcommand unless it is an option (`--help`) or unknown: then the
    # full parser answers, listing every subcommand.
    command = argv[0] if argv and argv[0] in COMMANDS else None
    args = build_parser(command).parse_args(argv)
    try:
        return int(args.func(args))
    except TuningError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        return 130
