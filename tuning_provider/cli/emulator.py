"""`python -m tuning_provider emulator`: run the local Vertex tuning emulator in the foreground.

Prints exactly one line on stdout, `listening on http://HOST:PORT`, once it serves requests,
and stops cleanly (exit 0) on SIGTERM or SIGINT. Each fault it injects is one line on stderr.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from tuning_provider.cli.numbers import number

__all__ = ["register"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "emulator",
        help="run the local Vertex AI tuning emulator",
        description=(
            "Serve the Vertex AI tuning REST subset (jobs, tuned models, endpoints, "
            "generateContent, the jobs' experiments and TensorBoard metrics) and Cloud Storage "
            "reads of --gcs-dir on one port, with state in SQLite under --state-dir. "
            "gs://BUCKET/OBJECT is the file GCS_DIR/BUCKET/OBJECT; the BigQuery table "
            "bq://PROJECT.DATASET.TABLE of a multimodal dataset is the JSONL file "
            "BIGQUERY_DIR/PROJECT/DATASET/TABLE.jsonl, one row a line. "
            "Tuned endpoints imitate a tuned model by recalling training examples: no neural network."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    parser.add_argument("--port", type=number(int, at_least=0, at_most=65535), default=8765,
                        help="port to bind; 0 picks a free one (default: %(default)s)")
    parser.add_argument("--state-dir", type=Path, default=Path(".state/emulator"),
                        help="where the SQLite state lives (default: %(default)s)")
    parser.add_argument("--gcs-dir", type=Path, default=Path(".state/gcs"),
                        help="folder of buckets served as gs:// (default: %(default)s)")
    parser.add_argument("--bigquery-dir", type=Path, default=Path(".state/bigquery"),
                        help="folder of BigQuery tables for multimodal datasets (default: %(default)s)")
    parser.add_argument("--job-duration", type=number(float, more_than=0), default=2.0, metavar="SECONDS",
                        help="how long a new tuning job takes to succeed (default: %(default)s)")
    parser.add_argument("--fault-rate", type=number(float, at_least=0, at_most=1), default=0.0, metavar="FRACTION",
                        help="fraction of Vertex requests answered 429 or 503 (default: %(default)s)")
    parser.add_argument("--fault-seed", type=number(int), default=None, metavar="N",
                        help="seed that makes the injected faults reproducible")
    parser.add_argument("--fault", type=fault_rules, action="append", default=[], metavar="RULE",
                        help="fail chosen requests, before they act or after: 'METHOD PATH before=STATUS', "
                             "'after=reset', 'after=STATUS' or 'after=delay:SECONDS', then [skip=N] [every=K] "
                             "[times=N|all], e.g. 'POST tuningJobs after=reset'; repeat it, or separate rules "
                             "with ';' (docs/emulator.md)")
    parser.add_argument("--list-lag", type=number(float, at_least=0), default=0.0, metavar="SECONDS",
                        help="how long a new tuning job stays out of filtered lists (default: %(default)s)")
    parser.set_defaults(func=run)


def fault_rules(text: str) -> tuple[Any, ...]:
    """The rules of one --fault: a usage error (exit 2) that names what is wrong."""
    from tuning_provider.emulator.http.faults import parse_rules  # only when faults are asked for

    try:
        rules = parse_rules(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if not rules:
        raise argparse.ArgumentTypeError("no rule given")
    return rules


def run(args: argparse.Namespace) -> int:
    # Imported here so other subcommands do not pay for the server's imports.
    from tuning_provider.emulator.server import Emulator, serve_until_signalled

    emulator = Emulator(
        args.state_dir,
        args.gcs_dir,
        job_duration=args.job_duration,
        fault_rate=args.fault_rate,
        fault_seed=args.fault_seed,
        host=args.host,
        port=args.port,
        bigquery_dir=args.bigquery_dir,
        faults=[rule for rules in args.fault for rule in rules],
        list_lag=args.list_lag,
    )
    try:
        serve_until_signalled(emulator, on_ready=lambda url: print(f"listening on {url}", flush=True))
    except OSError as exc:
        print(f"error: cannot serve on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    return 0
