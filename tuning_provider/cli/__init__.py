"""`python -m tuning_provider`: parsing and exit codes only; the work lives in the library.

Each subcommand lives in its own module with `register(subparsers)`, which adds its parser
and sets `func(args) -> int` as the default to run. "Now" is `main`'s `clock` (the wall clock
but in tests), handed to the command as `args.clock`: a command never reads the time itself,
so a test can hand in the emulator's manual clock and compare like with like.
Exit codes: 0 success, 1 the thing checked is bad (invalid dataset, failed job),
2 usage or unreadable input, 3 an API error (not found, permission, quota).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import sys
import time
from collections.abc import Callable, Sequence
from typing import NoReturn

from tuning_provider.errors import TuningError

__all__ = ["Clock", "main", "utc_now"]

# The time in epoch seconds, as time.time gives it.
Clock = Callable[[], float]


# Each subcommand's module, in the order `--help` lists them.
COMMANDS = {name: f"tuning_provider.cli.{name}" for name in ("validate", "emulator", "jobs", "ask")}


class Parser(argparse.ArgumentParser):
    """argparse's parser (every subcommand's too), but a usage error is the one `error:` line
    that every error of the command line is, not argparse's whole usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message}; see `{self.prog} --help`\n")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every subcommand, or of `only` that one: `validate` then never imports
    what `jobs` and `ask` need to reach Vertex (google-genai, pydantic), so it starts fast."""
    parser = Parser(
        prog="python -m tuning_provider",
        description="Gemini supervised tuning on Vertex AI: datasets, jobs, tuned models, emulator.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in COMMANDS.items():
        if only is None or name == only:
            importlib.import_module(module).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None, *, clock: Clock = time.time) -> int:
    """Run one command line; `clock` is what every command takes "now" from."""
    argv = list(sys.argv[1:] if argv is None else argv)
    # The first word is the subcommand unless it is an option (`--help`) or unknown: then the
    # full parser answers, listing every subcommand.
    command = argv[0] if argv and argv[0] in COMMANDS else None
    try:
        args = build_parser(command).parse_args(argv)
    except SystemExit as exc:  # a usage error (2), already said, or --help (0)
        return exc.code if isinstance(exc.code, int) else 2
    args.clock = clock
    try:
        return int(args.func(args))
    except TuningError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        return 130


def utc_now(args: argparse.Namespace) -> dt.datetime:
    """The command's "now" (from `main`'s clock), in UTC."""
    clock: Clock = args.clock
    return dt.datetime.fromtimestamp(clock(), dt.UTC)
