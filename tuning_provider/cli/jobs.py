"""`jobs list | get | cancel | metrics | delete-model`: day-2 operations on tuning jobs.

    python -m tuning_provider jobs list [--state S] [--label k=v] [--limit N] [--json [--no-metrics]]
    python -m tuning_provider jobs get NAME_OR_ID [--json]
    python -m tuning_provider jobs cancel NAME_OR_ID [--wait [--api-outage-tolerance SECONDS]]
    python -m tuning_provider jobs metrics NAME_OR_ID [--json] [--plot loss.png]
    python -m tuning_provider jobs delete-model NAME_OR_ID

Project, location and API endpoint: see `tuning_provider.cli.connection`. Tables and details
go to stdout; progress of waits goes to stderr. `--json` measures each job as the provider
does (metrics.measured_outputs over its metric series: final figures, each checkpoint's eval
loss, the serving checkpoint), which reads its metrics: up to five calls a job, made
METRIC_READERS at a time for a list (`--limit` bounds them, `--no-metrics` skips them).
Exit codes: 0 done (a job found cancelling or cancelled already, and a model found gone
already, are done: each says so); 1 nothing to cancel (the job had ended otherwise) or the wait
ended otherwise than CANCELLED or gave up (its timeout, or an outage past its tolerance), or no
model to delete (none, or one a stack holds: see `lifecycle`'s holder aliases); 2 usage;
3 API error (not found, permission denied, quota, Vertex silent before it acknowledged a cancel).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TextIO

from tuning_provider import catalog, metrics, times
from tuning_provider.cli import utc_now
from tuning_provider.cli.connection import (
    CLI_RETRY,
    add_connection_options,
    command,
    not_found_in,
    resolve_connection,
    split_resource_name,
)
from tuning_provider.cli.metrics import metrics_json, metrics_table, plot_metrics
from tuning_provider.cli.numbers import number
from tuning_provider.errors import ApiError, ApiOutage, WaitTimeout
from tuning_provider.names import TuningJobName, resource_id
from tuning_provider.records import JobRecord, JobState
from tuning_provider.times import parse_rfc3339
from tuning_provider.vertex import (
    Connection,
    delete_tuned_model,
    get_tuning_job,
    list_tuning_jobs,
    outage_tolerant,
    read_metric_series,
    request_cancel,
    tuned_model_holders,
    wait_for_tuning_job,
)

__all__ = [
    "format_duration",
    "format_time",
    "job_details",
    "job_json",
    "job_seconds",
    "jobs_table",
    "measured",
    "register",
]

STATES = sorted(state for state in JobState if state is not JobState.UNSPECIFIED)
TABLE_HEADERS = ("ID", "DISPLAY NAME", "BASE MODEL", "STATE", "CREATED (UTC)", "DURATION")
# Jobs whose metrics `list --json` reads at once (each read is up to five calls in a row).
METRIC_READERS = 8


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    jobs = subparsers.add_parser(
        "jobs", help="list, inspect and cancel tuning jobs",
        description="List, inspect and cancel Vertex AI tuning jobs (or the emulator's).",
    )
    actions = jobs.add_subparsers(dest="action", required=True, metavar="ACTION")

    listing = actions.add_parser("list", help="a table of tuning jobs, newest first",
                                 description="A table of the tuning jobs in a project and region.")
    listing.add_argument("--state", type=_state, metavar="STATE",
                         help=f"only jobs in this state ({', '.join(STATES)})")
    listing.add_argument("--label", action="append", type=_label, default=[], metavar="KEY=VALUE",
                         help="only jobs with this label (repeat for more)")
    listing.add_argument("--limit", type=number(int, at_least=1), metavar="N", help="at most N jobs")
    listing.add_argument("--page-size", type=number(int, at_least=1), default=100, metavar="N",
                         help="jobs fetched per API call (default 100)")
    listing.add_argument("--json", action="store_true",
                         help="a JSON array instead of a table, each job measured as `jobs get --json` does")
    listing.add_argument("--no-metrics", action="store_true",
                         help="with --json, do not read the jobs' metrics (they stay null): one call per page, "
                              "instead of up to five more per job")
    add_connection_options(listing)
    listing.set_defaults(func=list_command)

    get = actions.add_parser("get", help="every detail of one tuning job",
                             description="State, timing, settings, data, tuned model and error of one job.")
    get.add_argument("job", metavar="NAME_OR_ID", help="the job's resource name or its bare id")
    get.add_argument("--json", action="store_true",
                     help="one JSON object instead of text, with the job's metrics, each checkpoint's eval loss "
                          "and the serving checkpoint")
    add_connection_options(get)
    get.set_defaults(func=get_command)

    cancel = actions.add_parser("cancel", help="cancel a queued or running tuning job",
                                description="Ask Vertex to cancel a job; with --wait, wait until it stops.")
    cancel.add_argument("job", metavar="NAME_OR_ID", help="the job's resource name or its bare id")
    cancel.add_argument("--wait", action="store_true", help="wait until the job has stopped, showing progress")
    cancel.add_argument("--timeout", type=number(float, more_than=0), default=1800.0, metavar="SECONDS",
                        help="give up waiting after this long (default 1800)")
    cancel.add_argument("--poll-interval", type=number(float, more_than=0), default=10.0, metavar="SECONDS",
                        help=argparse.SUPPRESS)
    cancel.add_argument("--api-outage-tolerance", type=number(float, at_least=0), default=600.0, metavar="SECONDS",
                        help="while waiting, ride out Vertex AI not answering for up to this long (default 600)")
    add_connection_options(cancel)
    cancel.set_defaults(func=cancel_command)

    shown = actions.add_parser("metrics", help="a job's training metrics as a table with sparklines",
                               description="Loss and token accuracy series of a job, train and eval.")
    shown.add_argument("job", metavar="NAME_OR_ID", help="the job's resource name or its bare id")
    shown.add_argument("--json", action="store_true", help="every point as JSON instead of the table")
    shown.add_argument("--plot", type=Path, metavar="FILE.png",
                       help="also write the curves to an image (needs the 'plot' extra: matplotlib)")
    add_connection_options(shown)
    shown.set_defaults(func=metrics_command)

    delete = actions.add_parser(
        "delete-model", help="delete a finished job's tuned model and its endpoints",
        description="Undeploy and delete the tuned model of a SUCCEEDED job and its (checkpoint) endpoints, "
        "for a model no stack serves (one that failed the quality gate, say).",
    )
    delete.add_argument("job", metavar="NAME_OR_ID", help="the job's resource name or its bare id")
    add_connection_options(delete)
    delete.set_defaults(func=delete_model_command)


# --- argument types ------------------------------------------------------------------------


def _state(value: str) -> str:
    state = value.strip().upper().removeprefix("JOB_STATE_")
    if state not in STATES:
        raise argparse.ArgumentTypeError(f"{value!r} is not a job state; use one of {', '.join(STATES)}")
    return state


def _label(value: str) -> tuple[str, str]:
    key, sep, label_value = value.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"{value!r} is not KEY=VALUE")
    return key, label_value


# --- commands ------------------------------------------------------------------------------


def _job_connection(args: argparse.Namespace) -> tuple[Connection, str]:
    """The connection and the job's full name; a full name brings its own project and region."""
    resource = split_resource_name(args.job, TuningJobName)
    conn = resolve_connection(args, resource=resource)
    return conn, conn.job_name(args.job)


def _read_job(conn: Connection, name: str) -> JobRecord:
    with not_found_in(conn, f"tuning job {resource_id(name)}", "check the id, the project and the location"):
        return get_tuning_job(conn, name, CLI_RETRY)


@command
def list_command(args: argparse.Namespace) -> int:
    conn = resolve_connection(args)
    labels = dict(args.label)
    page_size = min(args.page_size, args.limit) if args.limit else args.page_size
    records: list[JobRecord] = []
    for record in list_tuning_jobs(conn, state=args.state, labels=labels, page_size=page_size, retry=CLI_RETRY):
        records.append(record)
        if args.limit and len(records) >= args.limit:
            break
    moment = utc_now(args)
    if args.json:
        if not args.no_metrics:
            with ThreadPoolExecutor(max_workers=METRIC_READERS) as pool:
                records = list(pool.map(lambda record: measured(conn, record), records))
        print(json.dumps([job_json(r, moment) for r in records], indent=2))
    elif records:
        print(jobs_table(records, moment))
    else:
        filters = [f"state {args.state}"] if args.state else []
        filters += [f"label {k}={v}" for k, v in labels.items()]
        suffix = f" with {' and '.join(filters)}" if filters else ""
        print(f"no tuning jobs in {conn.resource_prefix()}{suffix}")
    return 0


@command
def get_command(args: argparse.Namespace) -> int:
    conn, name = _job_connection(args)
    record = _read_job(conn, name)
    if args.json:
        print(json.dumps(job_json(measured(conn, record), utc_now(args)), indent=2))
    else:
        print(job_details(record, utc_now(args)))
    return 0


@command
def cancel_command(args: argparse.Namespace) -> int:
    conn, name = _job_connection(args)
    job_id = resource_id(name)
    record = _read_job(conn, name)
    if record.state is JobState.CANCELLED:
        print(f"tuning job {job_id} is CANCELLED already")
        return 0
    if not record.live:
        return _nothing_to_cancel(record)
    if record.state is JobState.CANCELLING:
        print(f"tuning job {job_id} is being cancelled already")
    if not args.wait:
        after = request_cancel(conn, record, CLI_RETRY)
        if not after.live and after.state is not JobState.CANCELLED:
            return _nothing_to_cancel(after)  # it ended before the cancel reached it
        if record.state is not JobState.CANCELLING:
            print(f"cancel requested for tuning job {job_id} (was {record.state})")
        return 0
    return _cancel_and_wait(args, conn, record)


def _cancel_and_wait(args: argparse.Namespace, conn: Connection, record: JobRecord) -> int:
    """`cancel --wait` of a live job: the cancel, said as soon as Vertex acknowledged it, then the
    wait until the job has stopped. The job was found: from here on an API that stops answering
    is ridden out for up to --api-outage-tolerance; a longer outage ends the command as the
    wait's timeout does, saying whether the cancel was acknowledged."""
    job_id = resource_id(record.name)
    progress = Progress(sys.stderr)
    retry = outage_tolerant(args.api_outage_tolerance, progress.report, base=CLI_RETRY)
    try:
        after = request_cancel(conn, record, retry)
    except ApiOutage as exc:
        print(f"error: {exc}; the cancel of tuning job {job_id} was not acknowledged: run this command again once "
              "Vertex AI answers (it is safe to repeat)", file=sys.stderr)
        return 3
    if record.state is not JobState.CANCELLING and (after.live or after.state is JobState.CANCELLED):
        print(f"cancel requested for tuning job {job_id} (was {record.state})", flush=True)
    try:
        final = after if not after.live else wait_for_tuning_job(
            conn, record.name, timeout=args.timeout, poll_interval=args.poll_interval, retry=retry,
            on_progress=progress.report, sleep=progress.sleep)
    except (WaitTimeout, ApiOutage) as exc:
        print(f"error: {exc}; the cancel was requested: check again with `jobs get {job_id}`", file=sys.stderr)
        return 1
    if final.state is not JobState.CANCELLED:
        print(f"error: tuning job {job_id} ended {final.state} before the cancel took effect", file=sys.stderr)
        return 1
    print(f"tuning job {job_id} is CANCELLED")
    return 0


@command
def metrics_command(args: argparse.Namespace) -> int:
    conn, name = _job_connection(args)
    record = _read_job(conn, name)
    series = read_metric_series(conn, record, CLI_RETRY)
    print(metrics_json(series) if args.json else metrics_table(record, series))
    if args.plot:
        plot_metrics(record, series, args.plot)
        print(f"wrote {args.plot}", file=sys.stderr)
    return 0


@command
def delete_model_command(args: argparse.Namespace) -> int:
    conn, name = _job_connection(args)
    record = _read_job(conn, name)
    if record.state is not JobState.SUCCEEDED or not record.outputs.tuned_model_name:
        print(f"error: tuning job {resource_id(name)} is {record.state}: it has no tuned model to delete",
              file=sys.stderr)
        return 1
    holders = tuned_model_holders(conn, record, CLI_RETRY)
    if holders:
        # A stack serves it: deleting it here would leave the stack's outputs naming a model gone.
        print(f"error: the tuned model {record.outputs.tuned_model_name} of tuning job {resource_id(name)} is held by "
              f"{len(holders)} TuningJob resource(s) of a stack (version aliases {', '.join(holders)}); nothing was "
              "deleted. Remove it through the stack: take the TuningJob out of its program and `pulumi up`, or "
              "`pulumi destroy`; the last resource that holds it deletes it", file=sys.stderr)
        return 1
    removal = delete_tuned_model(conn, record, CLI_RETRY)
    for removed in removal.removed:
        print(removed.line())
    for problem in removal.problems:
        print(f"error: {problem}", file=sys.stderr)
    if removal.problems:
        return 3
    if not removal.deleted:
        print(f"nothing deleted: the tuned model of tuning job {resource_id(name)} and its endpoints were gone already")
    return 0


def measured(conn: Connection, record: JobRecord) -> JobRecord:
    """The job with its metrics in its outputs, measured as the provider measures them
    (metrics.measured_outputs) with Vertex's serving checkpoint, the last one: a stack with
    `serve_checkpoint: best_eval_loss` exports the one it chose. A failed read leaves them null
    and says so on stderr: the job itself was read."""
    try:
        series = read_metric_series(conn, record, CLI_RETRY)
    except ApiError as exc:
        print(f"warning: the training metrics of tuning job {resource_id(record.name)} could not be read, so "
              f"its metrics, checkpoints' eval loss and serving checkpoint are null: {exc}", file=sys.stderr)
        return record
    return dataclasses.replace(record, outputs=metrics.measured_outputs(record, series))


def _nothing_to_cancel(record: JobRecord) -> int:
    print(f"error: tuning job {resource_id(record.name)} already ended {record.state}; nothing to cancel",
          file=sys.stderr)
    return 1


class Progress:
    """Progress lines for a wait: each state change, and a reminder when nothing changed for
    `every` seconds, so a long wait never looks hung."""

    def __init__(
        self,
        stream: TextIO,
        *,
        every: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.stream = stream
        self.every = every
        self.clock = clock
        self._sleep = sleep
        self.started = self.last = clock()

    def report(self, message: str) -> None:
        print(message, file=self.stream, flush=True)
        self.last = self.clock()

    def sleep(self, seconds: float) -> None:
        self._sleep(seconds)
        now = self.clock()
        if now - self.last >= self.every:
            self.report(f"  still waiting, {format_duration(now - self.started)} so far")


# --- presentation --------------------------------------------------------------------------


def format_time(value: str | None) -> str:
    """An RFC 3339 time as 'YYYY-MM-DD HH:MM:SS' in UTC; '-' when absent."""
    parsed = parse_rfc3339(value)
    return parsed.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S") if parsed else "-"


def job_seconds(record: JobRecord, now: dt.datetime) -> float | None:
    """How long the job ran (from start, else creation, to end); for a live job, until `now`
    (at least 0: this machine's clock may lag Vertex's)."""
    outputs = record.outputs
    begin = parse_rfc3339(outputs.start_time) or parse_rfc3339(outputs.create_time)
    if begin is None:
        return None
    end = parse_rfc3339(outputs.end_time)
    if end is None:
        if not record.live:
            return None
        end = now
    return max(0.0, (end - begin).total_seconds())


def format_duration(seconds: float | None) -> str:
    """12m03s, 1h02m03s; '-' when unknown."""
    return "-" if seconds is None else times.format_duration(seconds)


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    rows = [list(headers), *[list(r) for r in rows]]
    widths = [max(len(r[i]) for r in rows) for i in range(len(headers))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def jobs_table(records: Iterable[JobRecord], now: dt.datetime) -> str:
    """Aligned columns: id, display name, base model, state, created (UTC), duration."""
    return _table(TABLE_HEADERS, (
        (
            resource_id(r.name),
            r.display_name or "-",
            catalog.model_id(r.base_model) if r.base_model else "-",
            r.state,
            format_time(r.outputs.create_time),
            format_duration(job_seconds(r, now)),
        )
        for r in records
    ))


def job_json(record: JobRecord, now: dt.datetime) -> dict[str, Any]:
    """The job as plain JSON data: its outputs and the settings it was created with."""
    return {
        "id": resource_id(record.name),
        **record.outputs.model_dump(mode="json"),
        "duration_seconds": job_seconds(record, now),
        "base_model": record.base_model,
        "display_name": record.display_name,
        "description": record.description,
        "labels": record.labels,
        "training_dataset_uri": record.training_dataset_uri,
        "validation_dataset_uri": record.validation_dataset_uri,
        "hyper_parameters": record.hyper_parameters,
    }


def _hyper_parameters(values: dict[str, Any]) -> str:
    if not values:
        return "-"
    size = values.get("adapter_size")
    try:
        size_text = str(catalog.adapter_size_number(size)) if size else "auto"
    except ValueError:
        size_text = str(size)
    epochs = values.get("epoch_count")
    rate = values.get("learning_rate_multiplier")
    return (f"epochs {epochs if epochs is not None else 'auto'}, adapter size {size_text}, "
            f"learning rate multiplier {rate if rate is not None else 'auto'}")


def _data_stats(record: JobRecord) -> str:
    stats = record.outputs.tuning_data_stats
    if stats is None:
        return "-"
    parts = [
        f"{value:,} {unit}"
        for value, unit in ((stats.examples, "examples"), (stats.characters, "characters"),
                            (stats.tokens, "billable tokens"), (stats.steps, "steps"))
        if value is not None
    ]
    return ", ".join(parts) or "-"


def job_details(record: JobRecord, now: dt.datetime) -> str:
    """Every detail of a job that matters, one 'field: value' line each ('-' when absent)."""
    out = record.outputs
    lines: list[tuple[str, str]] = [
        ("name", out.name),
        ("display name", record.display_name or "-"),
        ("description", record.description or "-"),
        ("state", out.state),
        ("base model", record.base_model or "-"),
        ("created", _utc(out.create_time)),
        ("started", _utc(out.start_time)),
        ("ended", _utc(out.end_time)),
        ("updated", _utc(out.update_time)),
        ("duration", format_duration(job_seconds(record, now)) + (" so far" if record.live else "")),
        ("hyperparameters", _hyper_parameters(record.hyper_parameters)),
        ("training data", record.training_dataset_uri or "-"),
        ("validation data", record.validation_dataset_uri or "-"),
        ("data stats", _data_stats(record)),
        ("tuned model", out.tuned_model_name or "-"),
        ("endpoint", out.tuned_model_endpoint or "-"),
        ("checkpoints", str(len(out.checkpoints)) if out.checkpoints else "-"),
    ]
    for checkpoint in out.checkpoints:
        where = [f"epoch {checkpoint.epoch}" if checkpoint.epoch is not None else "",
                 f"step {checkpoint.step}" if checkpoint.step is not None else "",
                 checkpoint.endpoint or ""]
        lines.append((f"  {checkpoint.checkpoint_id}", "  ".join(w for w in where if w) or "-"))
    lines += [
        ("experiment", out.experiment or "-"),
        ("labels", ", ".join(f"{k}={v}" for k, v in sorted(record.labels.items())) or "-"),
        ("error", out.error or "-"),
    ]
    width = max(len(key) for key, _ in lines) + 1
    return "\n".join(f"{key + ':':<{width}} {value}" for key, value in lines)


def _utc(value: str | None) -> str:
    text = format_time(value)
    return text if text == "-" else f"{text} UTC"
