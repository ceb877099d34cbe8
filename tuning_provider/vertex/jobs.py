"""Tuning jobs in Vertex: submit (or adopt) one, read, find and list them, wait for one, and
cancel one and wait for it to stop.

Each operation is safe to repeat after an answer was lost on the way back (the request took
effect, the caller never heard): `submit_or_adopt` looks the job up by its fingerprint label
before every attempt, so a lost answer to a create is adopted, never paid for twice; a cancel
that meets its own earlier attempt (Vertex answers 400: the job is CANCELLING or CANCELLED) is
the success it looks like.
"""

from __future__ import annotations

import functools
import time
import warnings
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from tuning_provider.connection import Connection
from tuning_provider.errors import InvalidRequest, NotFound, WaitTimeout
from tuning_provider.lazy import lazy_module
from tuning_provider.records import FAILED_STATES, TERMINAL_STATES, JobRecord, JobState
from tuning_provider.spec import FINGERPRINT_LABEL, TuningJobSpec
from tuning_provider.times import format_duration
from tuning_provider.vertex.boundary import DEFAULT_RETRY, RetryPolicy, call, progress
from tuning_provider.vertex.client import with_client
from tuning_provider.vertex.convert import record, tune_arguments
from tuning_provider.vertex.models import serving_problem

if TYPE_CHECKING:
    from google.genai import Client, types
    from google.genai import errors as genai_errors
    from google.genai.pagers import Pager
else:
    types = lazy_module("google.genai.types")
    genai_errors = lazy_module("google.genai.errors")

__all__ = [
    "cancel_and_wait",
    "find_tuning_job",
    "find_tuning_job_by_fingerprint",
    "get_tuning_job",
    "list_tuning_jobs",
    "request_cancel",
    "submit_or_adopt",
    "wait_for_tuning_job",
]


def get_tuning_job(conn: Connection, name: str, retry: RetryPolicy = DEFAULT_RETRY) -> JobRecord:
    """The job by name or id; NotFound if Vertex has no such job."""
    full = conn.job_name(name)
    return record(call(f"reading tuning job {full}", lambda: with_client(conn, lambda c: c.tunings.get(name=full)),
                       retry))


def find_tuning_job(conn: Connection, name: str, retry: RetryPolicy = DEFAULT_RETRY) -> JobRecord | None:
    """The job by name or id, or None if it does not exist."""
    try:
        return get_tuning_job(conn, name, retry)
    except NotFound:
        return None


def list_tuning_jobs(
    conn: Connection,
    *,
    state: str | None = None,
    labels: dict[str, str] | None = None,
    page_size: int = 100,
    retry: RetryPolicy = DEFAULT_RETRY,
) -> Iterator[JobRecord]:
    """Every job in the connection's project and region matching the filters, newest pages
    first as Vertex returns them, fetched page by page."""
    wanted = JobState.of(state) if state else None
    clauses = [f'labels.{k}="{v}"' for k, v in (labels or {}).items()]
    if wanted:
        clauses.append(f'state="JOB_STATE_{wanted}"')
    filter_ = " AND ".join(clauses) or None
    action = f"listing tuning jobs in {conn.resource_prefix()}"
    page_token: str | None = None
    while True:
        config = types.ListTuningJobsConfig(page_size=page_size, filter=filter_, page_token=page_token)
        pager = call(action, functools.partial(with_client, conn, functools.partial(_list_page, config=config)),
                     retry)
        for job in map(record, pager.page):
            # Filter here too: how far Vertex's list filter supports labels is not documented.
            if all(job.labels.get(k) == v for k, v in (labels or {}).items()) and wanted in (None, job.state):
                yield job
        page_token = pager.config.get("page_token")
        if not page_token:
            return


def _list_page(client: Client, *, config: types.ListTuningJobsConfig) -> Pager[types.TuningJob]:
    return client.tunings.list(config=config)


def find_tuning_job_by_fingerprint(
    conn: Connection,
    fingerprint: str,
    retry: RetryPolicy = DEFAULT_RETRY,
    on_progress: Callable[[str], None] = progress,
    *,
    unfiltered: bool = False,
) -> JobRecord | None:
    """The newest job carrying this fingerprint label that can stand in for a new one: a live
    job, or a SUCCEEDED one whose tuned model still serves. A succeeded job whose model or
    endpoint is gone (a destroyed stack, a setting changed and changed back) is passed over
    with a line saying why: adopting it would put a dead endpoint in the stack outputs.

    Vertex's filtered lists are read from an index that may lag behind a create, so a job made
    seconds ago by a submit whose answer was lost may be missing from one. `unfiltered` lists
    every job of the project instead (a plain list sees a new job at once) and picks by label
    here: dearer, for the retry after such a submit."""
    listed = (list_tuning_jobs(conn, retry=retry) if unfiltered
              else list_tuning_jobs(conn, labels={FINGERPRINT_LABEL: fingerprint}, retry=retry))
    candidates = [job for job in listed
                  if job.labels.get(FINGERPRINT_LABEL) == fingerprint and job.state not in FAILED_STATES]
    candidates.sort(key=lambda j: j.outputs.create_time or "", reverse=True)
    for job in candidates:
        problem = None if job.live else serving_problem(conn, job, retry)
        if problem is None:
            return job
        on_progress(f"not adopting tuning job {job.name}, which has the same settings: {problem}")
    return None


def submit_or_adopt(
    conn: Connection,
    spec: TuningJobSpec,
    retry: RetryPolicy = DEFAULT_RETRY,
    on_progress: Callable[[str], None] = progress,
) -> tuple[JobRecord, bool]:
    """Create the job unless one with this spec's fingerprint is live or succeeded already.

    Returns the job and whether it was adopted. Before each attempt it looks the fingerprint
    up, so a create that reached Vertex but whose answer was lost is adopted, not repeated:
    exactly one job. Once a submit has been sent, the look-up lists unfiltered, which a lagging
    index cannot hide the new job from.
    """
    fingerprint = spec.fingerprint()
    labels = {**spec.labels, FINGERPRINT_LABEL: fingerprint}
    sent = False  # a submit went out: it may have made the job though no answer came back

    def attempt() -> tuple[JobRecord, bool]:
        nonlocal sent
        existing = find_tuning_job_by_fingerprint(conn, fingerprint, retry, on_progress, unfiltered=sent)
        if existing is not None:
            return existing, True
        sent = True
        with warnings.catch_warnings():
            # google-genai marks tuning experimental; the project pins the SDK version.
            warnings.simplefilter("ignore", genai_errors.ExperimentalWarning)
            job = with_client(conn, lambda c: c.tunings.tune(**tune_arguments(spec, labels)))
        return record(job), False

    # A failed submit is retried as a whole attempt: look up first, then submit again.
    return call(f"creating tuning job for {spec.base_model} in {conn.resource_prefix()}", attempt, retry)


def request_cancel(conn: Connection, job: JobRecord, retry: RetryPolicy = DEFAULT_RETRY) -> JobRecord:
    """Ask Vertex to cancel `job` if it is live and not being cancelled already, and return it
    as read afterwards: CANCELLING or CANCELLED, or ended otherwise before the cancel arrived.

    Vertex answers 400 FAILED_PRECONDITION to a cancel of a job that has ended, and that is
    also what a retried cancel meets when the first one took effect and its answer was lost:
    either way the job, read again, says what happened. A 400 for a job still live (another
    reason) is raised."""
    if not job.live or job.state is JobState.CANCELLING:
        return job
    try:
        call(f"cancelling tuning job {job.name}",
             lambda: with_client(conn, lambda c: c.tunings.cancel(name=job.name)), retry)
    except InvalidRequest:
        now = get_tuning_job(conn, job.name, retry)
        if now.live and now.state is not JobState.CANCELLING:
            raise
        return now
    return get_tuning_job(conn, job.name, retry)


def cancel_and_wait(
    conn: Connection,
    job: JobRecord,
    *,
    timeout: float,
    poll_interval: float,
    retry: RetryPolicy = DEFAULT_RETRY,
    on_progress: Callable[[str], None] = progress,
    sleep: Callable[[float], None] = time.sleep,
) -> JobRecord:
    """Cancel a live job (`request_cancel`) and wait up to `timeout` seconds until it has
    stopped; return it, ended: CANCELLED, or however it ended before the cancel took effect.
    A job that has ended already is returned as it is. Raises WaitTimeout at the bound."""
    job = request_cancel(conn, job, retry)
    if not job.live:
        return job
    return wait_for_tuning_job(conn, job.name, timeout=timeout, poll_interval=poll_interval,
                               on_progress=on_progress, retry=retry, sleep=sleep)


def wait_for_tuning_job(
    conn: Connection,
    name: str,
    *,
    timeout: float,
    poll_interval: float = 10.0,
    target: frozenset[JobState] = TERMINAL_STATES,
    on_progress: Callable[[str], None] = progress,
    on_poll: Callable[[JobRecord], None] | None = None,
    retry: RetryPolicy = DEFAULT_RETRY,
    sleep: Callable[[float], None] = time.sleep,
) -> JobRecord:
    """Poll until the job reaches a target state (terminal by default) and return it.

    Reads the job every `poll_interval` seconds: with 10 s, its end is noticed 5 s late on
    average and 10 s at most, at one read per 10 s (a ramp of quick first reads would spend
    them on jobs that run for hours). Raises WaitTimeout with the last state seen when
    `timeout` seconds pass first. Every state change is reported with elapsed time, unless
    `on_poll` is given: then it sees every poll and reports what it likes. Polls go through
    `retry`: with an `outage_tolerant` one, a Vertex that stops answering is waited out.
    """
    started = time.monotonic()
    last_state = None
    while True:
        job = get_tuning_job(conn, name, retry)
        elapsed = time.monotonic() - started
        if on_poll is not None:
            on_poll(job)
        elif job.state != last_state:
            on_progress(f"tuning job {job.name}: {job.state} after {format_duration(elapsed)}")
            last_state = job.state
        if job.state in target:
            return job
        if elapsed >= timeout:
            raise WaitTimeout(job.name, job.state, elapsed)
        sleep(min(poll_interval, max(0.0, timeout - elapsed)))
