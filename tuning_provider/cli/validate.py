"""`validate`: check a tuning dataset before paying for a job.

    python -m tuning_provider validate PATH_OR_GS_URI [--validation] [--base-model M] [--json]
        [--max-errors N] [--workers N] [--storage-endpoint URL]

Prints a readable report (counts, estimated tokens, warnings, every listed error as
`line N: sentence`), or with --json the report as one JSON object. Exit codes: 0 the dataset
is valid (warnings allowed), 1 it is not, 2 a usage error (a --base-model the catalog does
not know: the flag is wrong, not the dataset) or a dataset that could not be read (missing
file, no permission, bad URI). The work lives in `tuning_provider.dataset`; what is said of
the base model, in `tuning_provider.catalog`, judged on the command's day (`main`'s clock).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from tuning_provider.catalog import CHARS_PER_TOKEN, base_model_notes
from tuning_provider.cli import utc_now
from tuning_provider.cli.numbers import number
from tuning_provider.connection import storage_service
from tuning_provider.dataset import DatasetReport, validate_dataset
from tuning_provider.errors import DatasetError

__all__ = ["format_report", "register", "run"]

EXIT_VALID = 0
EXIT_INVALID = 1
EXIT_UNREADABLE = 2
EXIT_USAGE = 2


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="check a tuning dataset (JSONL) line by line",
        description=(
            "Check a Gemini supervised-tuning dataset against Vertex AI's rules and limits, "
            "and count its examples and estimated tokens. Exit code 0: valid; 1: invalid; "
            "2: unreadable, or a bad flag value."
        ),
    )
    parser.add_argument("source", metavar="PATH_OR_GS_URI", help="a local JSONL file or gs://bucket/object")
    parser.add_argument(
        "--validation", action="store_true",
        help="check it as a validation set (at most 5,000 examples) rather than a training set",
    )
    parser.add_argument(
        "--base-model", metavar="M", help="the base model to tune, checked against the catalog"
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--max-errors", type=number(int, at_least=0), default=50, metavar="N",
        help="list at most N errors (all are counted; default 50)",
    )
    parser.add_argument(
        "--workers", type=number(int, at_least=1), default=None, metavar="N",
        help="processes to scan a large local file with (default: one per CPU, each with 32 MiB of the file at "
        "least)",
    )
    parser.add_argument(
        "--storage-endpoint", metavar="URL",
        help=(
            "Cloud Storage endpoint for gs:// (an emulator on this machine is read without credentials, "
            "any other with Application Default Credentials); default $STORAGE_EMULATOR_HOST, else Google's"
        ),
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    base_error, base_warning = (
        base_model_notes(args.base_model, utc_now(args).date()) if args.base_model is not None else (None, None)
    )
    if base_error is not None:
        print(f"error: argument --base-model: {base_error.rstrip('.')}", file=err)
        return EXIT_USAGE
    try:
        report = validate_dataset(
            args.source,
            kind="validation" if args.validation else "training",
            max_errors=args.max_errors,
            workers=args.workers,
            storage=storage_service(args.storage_endpoint),
        )
    except DatasetError as exc:
        if args.json:
            json.dump({"uri": exc.uri, "ok": False, "unreadable": exc.message}, out)
            out.write("\n")
        print(f"error: {exc}", file=err)
        return EXIT_UNREADABLE
    if base_warning is not None:  # retired or deprecated: the data itself is fine
        report = report.with_file_notes([], [base_warning], args.max_errors)
    if args.json:
        json.dump(report.to_dict(), out, ensure_ascii=False)
        out.write("\n")
    else:
        out.write(format_report(report))
    return EXIT_VALID if report.ok else EXIT_INVALID


def format_report(report: DatasetReport) -> str:
    """The report for people: verdict, counts, warnings, then the listed errors."""
    noun = "error" if report.error_count == 1 else "errors"
    verdict = "valid" if report.ok else f"INVALID: {report.error_count:,} {noun}"
    lines = [
        f"{report.uri} ({report.kind} dataset): {verdict}",
        f"  size:        {report.bytes:,} bytes, {report.lines:,} lines",
        f"  examples:    {report.examples:,} ({report.multimodal_examples:,} multimodal)" + _bad_lines(report),
        f"  characters:  {report.characters:,}",
        f"  tokens:      ~{report.estimated_tokens:,} in all, ~{report.max_example_tokens:,} in the "
        f"longest example (estimates at ~{CHARS_PER_TOKEN} characters per token; media not counted)",
    ]
    for warning in report.warnings:
        lines.append(f"warning: {warning}")
    for error in report.errors:
        lines.append(f"line {error.line}: {error.message}" if error.line else f"file: {error.message}")
    unlisted = report.error_count - len(report.errors)
    if unlisted > 0:
        lines.append(f"… and {unlisted:,} more error{'s' if unlisted != 1 else ''}")
    return "\n".join(lines) + "\n"


def _bad_lines(report: DatasetReport) -> str:
    if not report.bad_lines:
        return ""
    return f", and {report.bad_lines:,} bad {'line' if report.bad_lines == 1 else 'lines'} not counted"
