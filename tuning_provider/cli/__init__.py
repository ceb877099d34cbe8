"""`python -m tuning_provider`: parsing and exit codes only; the work lives in the library.

Each subcommand lives in its own module with `register(subparsers)`, which adds its parser
and sets `func(args) -> int` as the default to run.
Exit codes: 0 success, 1 the thing checked is bad (invalid dataset, failed job),
2 usage or unreadable input, 3 an API error (not found, permission, quota).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from tuning_provider.errors import TuningError

__all__ = ["main"]


def build_parser() -> argparse.ArgumentParser:
    from tuning_provider.cli import ask, emulator, jobs, validate

    parser = argparse.ArgumentParser(
        prog="python -m tuning_provider",
        description="Gemini supervised tuning on Vertex AI: datasets, jobs, tuned models, emulator.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (validate, emulator, jobs, ask):
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except TuningError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        return 130
