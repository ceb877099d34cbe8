"""The only module that talks to Vertex AI, through google-genai.

Clients are built from plain `Connection` data (Application Default Credentials, or a
placeholder bearer token for a local emulator), so nothing here needs pickling; each thread
keeps the few it built for reuse (`_with_client`). google-genai's
errors are translated once, in `_translated`, into `tuning_provider.errors`. Idempotent calls
are retried on transient failures with capped exponential backoff and full jitter; creating a
job is not retried blindly: `submit_or_adopt` looks the job up by its fingerprint label before
every attempt, so a retry never pays for a second job. Once a job is submitted or adopted, its
waits use `outage_tolerant` policies, which ride out an API that stops answering for a while.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import random
import re
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlencode, urlparse

from tuning_provider import catalog
from tuning_provider.errors import (
    ApiError,
    ApiOutage,
    Conflict,
    InvalidRequest,
    ModelVersionKept,
    NotFound,
    PermissionDenied,
    SpecError,
    Transient,
    Unauthenticated,
    Unreachable,
    WaitTimeout,
)
from tuning_provider.lazy import lazy_module
from tuning_provider.names import ModelName, TuningJobName, is_vertex_dataset, parent, resource_id
from tuning_provider.spec import (
    FINGERPRINT_LABEL,
    Checkpoint,
    DataStats,
    EvaluationRun,
    TuningJobOutputs,
    TuningJobSpec,
)
from tuning_provider.times import format_duration, rfc3339

if TYPE_CHECKING:
    from google.auth import exceptions as auth_errors
    from google.genai import Client, types
    from google.genai import errors as genai_errors
    from google.genai.pagers import Pager
else:
    # Imported on first use: google-genai costs ~0.4 s, and a preview's check and diff, or the
    # CLI's validate, never reach Vertex.
    auth_errors = lazy_module("google.auth.exceptions")
    types = lazy_module("google.genai.types")
    genai_errors = lazy_module("google.genai.errors")

__all__ = [
    "HOLDER_ALIAS_PREFIX",
    "LIVE_STATES",
    "TERMINAL_STATES",
    "Connection",
    "JobRecord",
    "MetricSeries",
    "OutageWatch",
    "RetryPolicy",
    "cancel_tuning_job",
    "creation_settings",
    "delete_tuned_model",
    "evaluation_config_problem",
    "find_tuning_job",
    "find_tuning_job_by_fingerprint",
    "tuned_model_base",
    "vertex_dataset_problem",
    "serving_problem",
    "generate_content",
    "get_tuning_job",
    "hold_tuned_model",
    "list_tuning_jobs",
    "outage_tolerant",
    "read_metric_series",
    "release_tuned_model",
    "submit_or_adopt",
    "wait_for_tuning_job",
]

# States as Vertex names them, without the JOB_STATE_ prefix.
TERMINAL_STATES = frozenset({"SUCCEEDED", "FAILED", "CANCELLED", "EXPIRED"})
LIVE_STATES = frozenset({"QUEUED", "PENDING", "RUNNING", "CANCELLING", "PAUSED", "UPDATING"})
_FAILED_STATES = TERMINAL_STATES - {"SUCCEEDED"}

T = TypeVar("T")


@dataclass(frozen=True)
class Connection:
    """Where a tuning job lives and how to reach Vertex: plain data, safe to pickle."""

    project: str
    location: str
    # None: Vertex's regional endpoint with Application Default Credentials. Otherwise a base
    # URL such as http://127.0.0.1:8765 (the emulator), reached with a placeholder token.
    api_endpoint: str | None = None

    def client(self) -> Client:
        from google.genai import Client

        options = types.HttpOptions(api_version="v1", timeout=60_000)
        credentials = None
        if self.api_endpoint:
            options.base_url = self.api_endpoint.rstrip("/") + "/"
            if _is_local(self.api_endpoint):
                from google.oauth2.credentials import Credentials

                credentials = Credentials(token="local-emulator")  # type: ignore[no-untyped-call]
        return Client(
            vertexai=True,
            project=self.project,
            location=self.location,
            credentials=credentials,
            http_options=options,
        )

    def resource_prefix(self) -> str:
        return parent(self.project, self.location)

    def job_name(self, name_or_id: str) -> str:
        """A job's full resource name from its name or bare numeric id."""
        return name_or_id if "/" in name_or_id else str(TuningJobName(self.project, self.location, name_or_id))


# Clients a thread keeps for reuse, per Connection. Building one costs ~55 ms of CPU (two TLS
# contexts loading the CA bundle, and Application Default Credentials), and a waiting create
# makes about five calls per poll: with fresh clients, eight jobs' polls kept a core busy.
_MAX_CLIENTS_PER_THREAD = 4
_clients = threading.local()


def _with_client(conn: Connection, use: Callable[[Client], T]) -> T:
    """Run one call on this thread's client for `conn`, built on first use and kept.

    One thread, one client at a time: google-genai's sync client is not documented as safe to
    share between threads. A thread keeps its last few clients (a process that talks to many
    emulators closes the oldest), and a client is closed with its thread. A client must be
    held while it is used: google-genai closes a Client's HTTP connection when the Client is
    garbage collected (`conn.client().tunings.get(...)` fails with "the client has been closed")."""
    kept: dict[Connection, Client] = _clients.__dict__.setdefault("by_connection", {})
    client = kept.pop(conn, None)
    if client is None:
        client = conn.client()
        if len(kept) >= _MAX_CLIENTS_PER_THREAD:
            kept.pop(next(iter(kept))).close()
    kept[conn] = client  # the most recently used last
    return use(client)


def _genai_private_request(client: Client, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """One Vertex REST call through google-genai's private HTTP client: the only use of
    google-genai internals in this project.

    google-genai has no public method for endpoints (get, undeployModel, delete), datasets
    (get), model versions (listVersions, deleteVersion), an experiment's metadata contexts or
    TensorBoard time series. Sending them through the same Client keeps credentials, the base
    URL (the emulator's), timeouts and error parsing (`genai_errors.APIError`, translated by
    `_call`) the same as for the public calls.

    The risk, named: `Client._api_client.request(method, path, body)` and the `.body` of what
    it returns are private to google-genai. They are read from the pinned release
    (requirements.txt: google-genai==3.4.0; pyproject allows <4). A release may rename or change
    them without notice: every call here then fails with AttributeError or TypeError, not an
    ApiError, and tests/provider and tests/vertex (which reach the emulator through this) fail.
    Check this function when moving the pin; the replacement would be google-auth's
    AuthorizedSession with the base URL and errors handled here.
    """
    response = client._api_client.request(method, path, body)
    return json.loads(response.body) if response.body else {}


def _is_local(url: str) -> bool:
    host = urlparse(url).hostname or ""
    return host in {"localhost", "::1"} or host.startswith("127.")


class OutageWatch:
    """Rides out an API that stops answering while a submitted or adopted job is waited for.

    A wait of hours must not be lost to a blip: a reset connection, a DNS hiccup, a load
    balancer restarting, a streak of 502/503/504. Shared by every call of one wait (polls,
    metric reads, endpoint probes), it measures one outage from the start of the first call
    left unanswered to the next answer, whichever call gets it, and says so twice: when the
    API stops answering and when it answers again. Past `tolerance` seconds the call raises
    ApiOutage, which the caller treats as it treats its wait bound.
    """

    def __init__(
        self,
        tolerance: float,
        report: Callable[[str], None],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.tolerance = tolerance
        self.clock = clock
        self._report = report
        self._since: float | None = None  # when the first unanswered call of this outage started
        self._tries = 0

    @staticmethod
    def covers(error: ApiError) -> bool:
        """Whether `error` means "not answering": refused or broken connections, timeouts, 5xx.
        A 429 is an answer (quota), retried by the policy's own bounds."""
        return isinstance(error, Unreachable) or (
            isinstance(error, Transient) and (error.status is None or error.status >= 500)
        )

    def unanswered(self, action: str, error: ApiError, cause: BaseException, tried_at: float) -> float:
        """Note a call the API left unanswered (`error`, translated from `cause`; the call
        started at `tried_at`) and return the pause before the next try: capped exponential
        backoff with full jitter, never past the window's end. Raises ApiOutage once the
        outage has lasted `tolerance` seconds."""
        now = self.clock()
        if self._since is None:
            self._since = tried_at
            self._report(f"Vertex AI unreachable ({_cause(error, cause)}), still "
                         f"retrying (up to {_span(self.tolerance)}); the job is not affected")
        waited = now - self._since
        if waited >= self.tolerance:
            raise ApiOutage(
                f"{action}: Vertex AI did not answer for {waited:.0f}s, longer than the "
                f"{self.tolerance:g}s a wait rides out ({_cause(error, cause)})",
                waited_seconds=waited, tolerance_seconds=self.tolerance, status=error.status, code=error.code,
            )
        self._tries += 1
        return min(_backoff(_OUTAGE_FIRST_DELAY, _OUTAGE_MAX_DELAY, self._tries), self.tolerance - waited)

    def answered(self) -> None:
        """Note an answer: an outage in progress is over."""
        if self._since is not None:
            self._report(f"Vertex AI answers again after {self.clock() - self._since:.0f} s")
            self._since = None
            self._tries = 0


# Retries during an outage: quick at first, then at most this far apart, so a wait notices
# the API is back within seconds of it.
_OUTAGE_FIRST_DELAY = 0.25
_OUTAGE_MAX_DELAY = 10.0


def _backoff(initial: float, cap: float, attempt: int) -> float:
    """Capped exponential backoff with full jitter: no two clients retry in lockstep."""
    return random.uniform(0, min(cap, initial * 2**attempt))


def _span(seconds: float) -> str:
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


def _cause(error: ApiError, cause: BaseException) -> str:
    """What went wrong, in a few words: "HTTP 503 UNAVAILABLE", "connection refused", "ReadTimeout: ..."."""
    if error.status:
        return f"HTTP {error.status} {error.code or ''}".strip()
    if isinstance(error, Unreachable):
        return "connection refused"
    return f"{type(cause).__name__}: {cause}" if str(cause) else type(cause).__name__


@dataclass(frozen=True)
class RetryPolicy:
    """Capped exponential backoff with full jitter, bounded in attempts and total time.

    With an `outage` watch (the policy of a wait, see `outage_tolerant`), calls that go
    unanswered are retried for the watch's window instead, refused local connections included."""

    attempts: int = 8
    initial_delay: float = 0.5
    max_delay: float = 20.0
    max_elapsed: float = 120.0
    # Right after IAM bindings are made, Vertex may deny for a minute or two.
    permission_grace: float = 0.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    outage: OutageWatch | None = field(default=None, compare=False)

    def delay(self, attempt: int) -> float:
        return _backoff(self.initial_delay, self.max_delay, attempt)


DEFAULT_RETRY = RetryPolicy()


def outage_tolerant(
    tolerance: float,
    on_progress: Callable[[str], None] | None = None,
    *,
    sleep: Callable[[float], None] = time.sleep,
    base: RetryPolicy = DEFAULT_RETRY,
    clock: Callable[[], float] = time.monotonic,
) -> RetryPolicy:
    """The retry policy of a wait for a job that has been submitted or adopted: `base`, riding
    out an API that stops answering for up to `tolerance` seconds (0: not at all), with
    progress lines to `on_progress` (stderr by default). `sleep` is every pause's, so a
    cancellable sleep stops the wait during an outage too. Use one policy per wait: its
    outage spans all the calls."""
    watch = OutageWatch(tolerance, on_progress or _progress, clock=clock) if tolerance > 0 else None
    return dataclasses.replace(base, sleep=sleep, outage=watch)


@dataclass(frozen=True)
class JobRecord:
    """A tuning job as Vertex reports it: the resource outputs plus what it was created with."""

    outputs: TuningJobOutputs
    base_model: str | None
    display_name: str | None
    description: str | None
    labels: dict[str, str]
    training_dataset_uri: str | None
    validation_dataset_uri: str | None
    hyper_parameters: dict[str, Any]
    # The other settings it was created with (what `pulumi import` reads back as inputs).
    export_last_checkpoint_only: bool = False
    kms_key_name: str | None = None
    service_account: str | None = None
    evaluation_config: dict[str, Any] | None = None
    pre_tuned_model_checkpoint_id: str | None = None

    @property
    def name(self) -> str:
        return self.outputs.name

    @property
    def detail_state(self) -> str | None:
        """Vertex's detailed tuning state without its prefix (TUNING, POST_PROCESSING, ...)."""
        return self.outputs.tuning_state_detail

    @property
    def completed_epochs(self) -> int | None:
        return self.outputs.completed_epoch_count

    @property
    def state(self) -> str:
        return self.outputs.state

    @property
    def live(self) -> bool:
        return self.outputs.state not in TERMINAL_STATES


# --- errors and retries ------------------------------------------------------------------


def _transport_errors() -> tuple[type[BaseException], ...]:
    classes: list[type[BaseException]] = [ConnectionError, TimeoutError]
    for module in ("httpx", "httpx2"):
        with contextlib.suppress(ImportError):
            classes.append(__import__(module).TransportError)
    return tuple(classes)


@functools.cache
def _foreign_errors() -> tuple[type[BaseException], ...]:
    """Everything `_translated` knows how to turn into an ApiError (imported on the first call)."""
    return (genai_errors.APIError, auth_errors.GoogleAuthError, *_transport_errors())


def _translated(exc: BaseException, action: str) -> ApiError:
    """google-genai's and the transport's errors as this package's ApiError subclasses."""
    if isinstance(exc, genai_errors.APIError):
        status = int(exc.code) if exc.code else None
        message = f"{action}: {exc.message or exc.status or 'error'} (HTTP {status})"
        kind: type[ApiError]
        if status == 404:
            kind = NotFound
        elif status == 403:
            kind = PermissionDenied
            message += (
                ". Grant the caller roles/aiplatform.user, and check that the job's service "
                "account and the Vertex AI service agent hold their roles"
            )
        elif status == 401:
            kind = Unauthenticated
            message += ". Run `gcloud auth application-default login` or set GOOGLE_APPLICATION_CREDENTIALS"
        elif status == 409:
            kind = Conflict
        elif status == 429:
            kind = Transient
            message += (
                ". Vertex's quota is used up for now; tuning often allows one concurrent job per "
                "project: wait for running jobs, or ask for more on the console's Quotas page"
            )
        elif status in (500, 502, 503, 504):
            kind = Transient
        else:
            kind = InvalidRequest
        return kind(message, status=status, code=exc.status)
    if isinstance(exc, auth_errors.GoogleAuthError) and not isinstance(exc, auth_errors.TransportError):
        # Raised by google-auth on the first request: no Application Default Credentials, or
        # credentials that can no longer be refreshed.
        reason = ("no Application Default Credentials found"
                  if isinstance(exc, auth_errors.DefaultCredentialsError) else f"{type(exc).__name__}: {exc}")
        return Unauthenticated(
            f"{action}: {reason}. Run `gcloud auth application-default login` or set "
            "GOOGLE_APPLICATION_CREDENTIALS",
            status=None, code="UNAUTHENTICATED",
        )
    return Transient(f"{action}: {type(exc).__name__}: {exc}", status=None, code="UNAVAILABLE")


def _call(action: str, fn: Callable[[], T], retry: RetryPolicy = DEFAULT_RETRY) -> T:
    """Run one API call, retrying transient failures within the policy's bounds. The call must
    be safe to repeat: idempotent, or made so (submit_or_adopt looks up before submitting)."""
    started = time.monotonic()
    attempt = 0
    outage = retry.outage
    while True:
        tried_at = outage.clock() if outage is not None else 0.0
        try:
            answer = fn()
        except Exception as exc:
            if not isinstance(exc, _foreign_errors()):
                raise
            refused = _refused_locally(exc)
            error = Unreachable(
                f"{action}: nothing answers at {refused}; start the emulator "
                "(`make emulator`) or fix the stack's tuning:apiEndpoint",
                status=None, code="UNAVAILABLE",
            ) if refused else _translated(exc, action)
            if outage is not None and outage.covers(error):
                try:
                    pause = outage.unanswered(action, error, exc, tried_at)
                except ApiOutage as past:
                    raise past from exc
                retry.sleep(pause)
                continue
            elapsed = time.monotonic() - started
            retriable = isinstance(error, Transient) or (
                isinstance(error, PermissionDenied) and elapsed < retry.permission_grace
            )
            attempt += 1
            if isinstance(error, Unreachable):
                raise error from exc
            if not retriable or attempt >= retry.attempts or elapsed >= retry.max_elapsed:
                raise error from exc
            delay = retry.delay(attempt)
            if isinstance(error, PermissionDenied):
                _progress(f"{action}: permission denied; IAM changes take a minute or two to "
                          f"reach Vertex, retrying in {delay:.0f}s")
            elif delay >= 1.0:  # quick retries stay quiet; a visible pause says why
                _progress(f"{action}: {error.code or 'transient error'}, retrying in {delay:.0f}s "
                          f"(attempt {attempt + 1} of {retry.attempts})")
            retry.sleep(delay)
        else:
            if outage is not None:
                outage.answered()
            return answer


def _refused_locally(exc: BaseException) -> str | None:
    """The local URL that refused a connection, if that is what `exc` is: an emulator that is
    not running will not start during a retry loop, so waiting minutes for it helps nobody."""
    chain: BaseException | None = exc
    while chain is not None:
        if isinstance(chain, ConnectionRefusedError):
            break
        chain = chain.__cause__ or chain.__context__
    else:
        if "connection refused" not in str(exc).lower() and "connect call failed" not in str(exc).lower():
            return None
    request = getattr(exc, "request", None)
    url = str(getattr(request, "url", "")) if request is not None else ""
    if url and _is_local(url):
        parsed = urlparse(url)
        return f"{parsed.scheme}://{parsed.netloc}"
    return None


def _progress(message: str) -> None:
    # The provider runs under the Pulumi engine, where stderr reaches the CLI's output.
    print(message, file=sys.stderr, flush=True)


# --- conversions -------------------------------------------------------------------------


def _state(job: types.TuningJob) -> str:
    value = job.state.value if job.state is not None else "JOB_STATE_UNSPECIFIED"
    return value.removeprefix("JOB_STATE_")


def _record(job: types.TuningJob) -> JobRecord:
    tuned = job.tuned_model
    sft = job.supervised_tuning_spec
    stats = job.tuning_data_stats.supervised_tuning_data_stats if job.tuning_data_stats else None
    hyper = sft.hyper_parameters if sft else None
    # A continued job names its tuned model in preTunedModel, not in baseModel.
    base_model = job.base_model or (job.pre_tuned_model.tuned_model_name if job.pre_tuned_model else None)
    outputs = TuningJobOutputs(
        name=job.name or "",
        state=_state(job),
        tuned_model_name=tuned.model if tuned else None,
        tuned_model_endpoint=tuned.endpoint if tuned else None,
        checkpoints=[
            Checkpoint(checkpoint_id=c.checkpoint_id or "", epoch=c.epoch, step=c.step, endpoint=c.endpoint)
            for c in (tuned.checkpoints or [] if tuned else [])
        ],
        experiment=job.experiment,
        error=(job.error.message or f"error code {job.error.code}") if job.error else None,
        tuning_data_stats=DataStats(
            examples=stats.tuning_dataset_example_count,
            characters=stats.total_tuning_character_count,
            tokens=stats.total_billable_token_count,
            steps=stats.tuning_step_count,
            billable_characters=stats.total_billable_character_count,
            truncated_examples=stats.total_truncated_example_count,
            dropped_example_reasons=list(stats.dropped_example_reasons or []),
        ) if stats else None,
        tuning_state_detail=(
            job.tuning_job_state.value.removeprefix("TUNING_JOB_STATE_") if job.tuning_job_state else None
        ),
        completed_epoch_count=job.tuning_job_metadata.completed_epoch_count if job.tuning_job_metadata else None,
        update_time=rfc3339(job.update_time),
        pre_tuned_base_model=job.pre_tuned_model.base_model if job.pre_tuned_model else None,
        evaluation_runs=[_evaluation_run(run) for run in job.evaluate_dataset_runs or []],
        create_time=rfc3339(job.create_time),
        start_time=rfc3339(job.start_time),
        end_time=rfc3339(job.end_time),
    )
    return JobRecord(
        outputs=outputs,
        base_model=base_model,
        display_name=job.tuned_model_display_name,
        description=job.description,
        labels=dict(job.labels or {}),
        training_dataset_uri=sft.training_dataset_uri if sft else None,
        validation_dataset_uri=sft.validation_dataset_uri if sft else None,
        hyper_parameters={
            "epoch_count": hyper.epoch_count,
            "adapter_size": hyper.adapter_size.value if hyper.adapter_size else None,
            "learning_rate_multiplier": hyper.learning_rate_multiplier,
        } if hyper else {},
        export_last_checkpoint_only=bool(sft.export_last_checkpoint_only) if sft else False,
        kms_key_name=job.encryption_spec.kms_key_name if job.encryption_spec else None,
        service_account=job.service_account,
        evaluation_config=job.evaluation_config.model_dump(exclude_none=True) if job.evaluation_config else None,
        pre_tuned_model_checkpoint_id=job.pre_tuned_model.checkpoint_id if job.pre_tuned_model else None,
    )


def creation_settings(job: JobRecord) -> dict[str, Any]:
    """What the job was created with, keyed by google-genai's names as `TuningJobSpec.vertex_settings`
    keys them (its `Vertex` markers), None where Vertex reports nothing; the fingerprint label left out."""
    return {
        "base_model": job.base_model,
        "training_dataset": job.training_dataset_uri,
        "validation_dataset": job.validation_dataset_uri,
        **job.hyper_parameters,
        "export_last_checkpoint_only": job.export_last_checkpoint_only,
        "tuned_model_display_name": job.display_name,
        "description": job.description,
        "labels": {k: v for k, v in job.labels.items() if k != FINGERPRINT_LABEL},
        "kms_key_name": job.kms_key_name,
        "service_account": job.service_account,
        "evaluation_config": job.evaluation_config,
        "pre_tuned_model_checkpoint_id": job.pre_tuned_model_checkpoint_id,
    }


def _evaluation_config(value: dict[str, Any]) -> types.EvaluationConfig:
    try:
        return types.EvaluationConfig.model_validate(value)
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        first = str(exc).splitlines()[1:3]
        raise SpecError.at("evaluation_config", f"google-genai cannot read it: {' '.join(first).strip()}",
                           value) from exc


def evaluation_config_problem(value: dict[str, Any]) -> str | None:
    """Why google-genai would refuse this evaluation_config (metric names, autorater fields), or None."""
    try:
        _evaluation_config(value)
    except SpecError as exc:
        return exc.message
    return None


def _evaluation_run(run: types.EvaluateDatasetRun) -> EvaluationRun:
    response = run.evaluate_dataset_response
    output = response.output_info if response else None
    return EvaluationRun(
        checkpoint_id=run.checkpoint_id,
        output_directory=output.gcs_output_directory if output else None,
        operation_name=run.operation_name,
        error=(run.error.message or f"error code {run.error.code}") if run.error else None,
    )


def _dataset_source(data: str) -> dict[str, str]:
    # google-genai puts either in the same REST field (trainingDatasetUri), so v1 carries both.
    return {"vertex_dataset_resource": data} if is_vertex_dataset(data) else {"gcs_uri": data}


def _tune_arguments(spec: TuningJobSpec, labels: dict[str, str]) -> dict[str, Any]:
    """google-genai's tune() arguments from the spec's Vertex settings."""
    settings = spec.vertex_settings()
    base_model = settings.pop("base_model")
    training = types.TuningDataset.model_validate(_dataset_source(settings.pop("training_dataset")))
    if "validation_dataset" in settings:
        validation = _dataset_source(settings["validation_dataset"])
        settings["validation_dataset"] = types.TuningValidationDataset.model_validate(validation)
    if "evaluation_config" in settings:
        settings["evaluation_config"] = _evaluation_config(settings["evaluation_config"])
    if "kms_key_name" in settings:
        settings["encryption_spec"] = types.EncryptionSpec(kms_key_name=settings.pop("kms_key_name"))
    service_account = settings.pop("service_account", None)
    if service_account:
        # CreateTuningJobConfig has no service account field; the REST body does.
        settings["http_options"] = types.HttpOptions(extra_body={"serviceAccount": service_account})
    settings["labels"] = labels
    return {
        "base_model": base_model,
        "training_dataset": training,
        "config": types.CreateTuningJobConfig(**settings),
    }


# --- tuning jobs -------------------------------------------------------------------------


def get_tuning_job(conn: Connection, name: str, retry: RetryPolicy = DEFAULT_RETRY) -> JobRecord:
    """The job by name or id; NotFound if Vertex has no such job."""
    full = conn.job_name(name)
    job = _call(f"reading tuning job {full}", lambda: _with_client(conn, lambda c: c.tunings.get(name=full)), retry)
    return _record(job)


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
    clauses = [f'labels.{k}="{v}"' for k, v in (labels or {}).items()]
    if state:
        clauses.append(f'state="JOB_STATE_{state.upper().removeprefix("JOB_STATE_")}"')
    wanted_state = state.upper().removeprefix("JOB_STATE_") if state else None
    filter_ = " AND ".join(clauses) or None
    action = f"listing tuning jobs in {conn.resource_prefix()}"
    page_token: str | None = None
    while True:
        config = types.ListTuningJobsConfig(page_size=page_size, filter=filter_, page_token=page_token)
        list_page = functools.partial(_list_page, config=config)
        pager = _call(action, functools.partial(_with_client, conn, list_page), retry)
        for job in pager.page:
            record = _record(job)
            # Filter here too: how far Vertex's list filter supports labels is not documented.
            if all(record.labels.get(k) == v for k, v in (labels or {}).items()) and (
                wanted_state is None or record.state == wanted_state
            ):
                yield record
        page_token = pager.config.get("page_token")
        if not page_token:
            return


def _list_page(client: Client, *, config: types.ListTuningJobsConfig) -> Pager[types.TuningJob]:
    return client.tunings.list(config=config)


def find_tuning_job_by_fingerprint(
    conn: Connection,
    fingerprint: str,
    retry: RetryPolicy = DEFAULT_RETRY,
    on_progress: Callable[[str], None] = _progress,
) -> JobRecord | None:
    """The newest job carrying this fingerprint label that can stand in for a new one: a live
    job, or a SUCCEEDED one whose tuned model still serves. A succeeded job whose model or
    endpoint is gone (a destroyed stack, a setting changed and changed back) is passed over
    with a line saying why: adopting it would put a dead endpoint in the stack outputs."""
    candidates = [
        job for job in list_tuning_jobs(conn, labels={FINGERPRINT_LABEL: fingerprint}, retry=retry)
        if job.state not in _FAILED_STATES
    ]
    candidates.sort(key=lambda j: j.outputs.create_time or "", reverse=True)
    for job in candidates:
        problem = None if job.live else serving_problem(conn, job, retry)
        if problem is None:
            return job
        on_progress(f"not adopting tuning job {job.name}, which has the same settings: {problem}")
    return None


def serving_problem(conn: Connection, job: JobRecord, retry: RetryPolicy = DEFAULT_RETRY) -> str | None:
    """Why a finished job's tuned model cannot answer, or None when it can: the model version
    the job produced (models/ID@VERSION: continuous tuning adds versions to one model, so the
    model existing says nothing of this job's version) and its endpoint must exist, and the
    endpoint must have a model deployed."""
    if job.state != "SUCCEEDED":
        return f"it ended {job.state}"
    model, endpoint = job.outputs.tuned_model_name, job.outputs.tuned_model_endpoint
    if not model or not endpoint:
        return "Vertex reports no tuned model and endpoint for it"
    try:
        _call(f"reading tuned model {model}", lambda: _with_client(conn, lambda c: c.models.get(model=model)), retry)
    except NotFound:
        return f"its tuned model version {model} was deleted"
    try:
        info = _call(f"reading endpoint {endpoint}", lambda: _rest(conn, "get", endpoint), retry)
    except NotFound:
        return f"its endpoint {endpoint} was deleted"
    if not info.get("deployedModels"):
        return f"its endpoint {endpoint} serves no model (undeployed)"
    return None


# The label Vertex puts on a tuned model naming its Google base model (google-genai reads it
# as Model.tuned_model_info.base_model).
BASE_MODEL_LABEL = "google-vertex-llm-tuning-base-model-id"


def tuned_model_base(conn: Connection, model: str, retry: RetryPolicy = DEFAULT_RETRY) -> str | None:
    """The catalog id of the Google base model a tuned model was tuned from, read from the
    label Vertex puts on tuned models; None if it carries none. NotFound if there is no model."""
    found = _call(f"reading tuned model {model}",
                  lambda: _with_client(conn, lambda c: c.models.get(model=model)), retry)
    label = found.tuned_model_info.base_model if found.tuned_model_info else None
    return _base_model_from_label(label) if label else None


# The metadata schema of a Vertex multimodal dataset, the only kind tuning reads
# (google-cloud-aiplatform's vertexai/_genai/_datasets_utils.py METADATA_SCHEMA_URI).
MULTIMODAL_DATASET_SCHEMA = "gs://google-cloud-aiplatform/schema/dataset/metadata/multimodal_1.0.0.yaml"


def vertex_dataset_problem(conn: Connection, name: str, retry: RetryPolicy = DEFAULT_RETRY) -> str | None:
    """Why the Vertex dataset `name` cannot be tuned on (it does not exist, or is not a
    multimodal dataset), or None when it is one. Its rows are not read: they live in BigQuery."""
    try:
        found = _call(f"reading dataset {name}", lambda: _rest(conn, "get", name), retry)
    except NotFound:
        return "it does not exist"
    schema = found.get("metadataSchemaUri")
    if schema != MULTIMODAL_DATASET_SCHEMA:
        return f"it is not a multimodal dataset (its metadata schema is {schema})"
    return None


def _base_model_from_label(value: str) -> str:
    # A label value allows no dots: the id is written with them replaced (by "-" or "_"; which
    # one Vertex uses for Gemini ids is unconfirmed), so compare with both spelled alike.
    def key(name: str) -> str:
        return re.sub(r"[._@]", "-", name.lower())

    return next((m for m in catalog.MODELS if key(m) == key(value)), value)


def submit_or_adopt(
    conn: Connection,
    spec: TuningJobSpec,
    retry: RetryPolicy = DEFAULT_RETRY,
    on_progress: Callable[[str], None] = _progress,
) -> tuple[JobRecord, bool]:
    """Create the job unless one with this spec's fingerprint is live or succeeded already.

    Returns the job and whether it was adopted. Before each attempt it looks the fingerprint
    up, so a create that reached Vertex but whose answer was lost is adopted, not repeated.
    """
    fingerprint = spec.fingerprint()
    labels = {**spec.labels, FINGERPRINT_LABEL: fingerprint}

    def attempt() -> tuple[JobRecord, bool]:
        existing = find_tuning_job_by_fingerprint(conn, fingerprint, retry, on_progress)
        if existing is not None:
            return existing, True
        with warnings.catch_warnings():
            # google-genai marks tuning experimental; the project pins the SDK version.
            warnings.simplefilter("ignore", genai_errors.ExperimentalWarning)
            job = _with_client(conn, lambda c: c.tunings.tune(**_tune_arguments(spec, labels)))
        return _record(job), False

    # A failed submit is retried as a whole attempt: look up first, then submit again.
    return _call(f"creating tuning job for {spec.base_model} in {conn.resource_prefix()}", attempt, retry)


def cancel_tuning_job(conn: Connection, name: str, retry: RetryPolicy = DEFAULT_RETRY) -> None:
    """Ask Vertex to cancel a job (best effort; the job ends CANCELLED later)."""
    full = conn.job_name(name)
    _call(f"cancelling tuning job {full}",
          lambda: _with_client(conn, lambda c: c.tunings.cancel(name=full)), retry)


def wait_for_tuning_job(
    conn: Connection,
    name: str,
    *,
    timeout: float,
    poll_interval: float = 10.0,
    target: frozenset[str] = TERMINAL_STATES,
    on_progress: Callable[[str], None] = _progress,
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


# --- training metrics --------------------------------------------------------------------

# The run a tuning job writes its metrics to, in the experiment's backing TensorBoard.
_EXPERIMENT_RUN_SCHEMA = "system.ExperimentRun"


@dataclass(frozen=True)
class MetricSeries:
    """A job's training metrics as written so far: {series name: [(step, value), ...]} in step
    order, keyed by Vertex's names (/train_total_loss, /eval_total_loss, ...)."""

    points: dict[str, list[tuple[int, float]]] = field(default_factory=dict)

    def last(self, series: str) -> tuple[int, float] | None:
        values = self.points.get(series)
        return values[-1] if values else None

    def at(self, series: str, step: int) -> float | None:
        return next((value for at, value in self.points.get(series, []) if at == step), None)


def read_metric_series(conn: Connection, job: JobRecord, retry: RetryPolicy = DEFAULT_RETRY) -> MetricSeries:
    """Every metric series of a job, read the way Vertex exposes them (and the way
    aiplatform_v1's MetadataService and TensorboardService clients call them): the job's
    experiment context -> its `backing_tensorboard_resource` and its ExperimentRun ->
    ListTensorboardTimeSeries on that run -> BatchReadTensorboardTimeSeriesData.
    Empty for a job that has no experiment yet (pending, or failed before training)."""
    experiment = job.outputs.experiment
    if not experiment:
        return MetricSeries()
    context = _call(f"reading experiment {experiment}", lambda: _rest(conn, "get", experiment), retry)
    tensorboard = (context.get("metadata") or {}).get("backing_tensorboard_resource")
    if not tensorboard:
        return MetricSeries()
    store = experiment.split("/contexts/", 1)[0]
    query = urlencode({"filter": f'schema_title="{_EXPERIMENT_RUN_SCHEMA}" AND parent_contexts:"{experiment}"'})
    runs = _call(f"listing the runs of {experiment}", lambda: _rest(conn, "get", f"{store}/contexts?{query}"), retry)
    run_contexts = runs.get("contexts") or []
    if not run_contexts:
        return MetricSeries()
    run = f"{tensorboard}/experiments/{resource_id(experiment)}/runs/{run_contexts[0]['displayName']}"
    listed = _call(f"listing the time series of {run}", lambda: _rest(conn, "get", f"{run}/timeSeries"), retry)
    series = {resource_id(s["name"]): s["displayName"] for s in listed.get("tensorboardTimeSeries", [])}
    if not series:
        return MetricSeries()
    query = urlencode([("timeSeries", f"{run}/timeSeries/{series_id}") for series_id in series])
    data = _call(f"reading the time series of {run}", lambda: _rest(conn, "get", f"{tensorboard}:batchRead?{query}"),
                 retry)
    points = {
        series[d["tensorboardTimeSeriesId"]]: sorted(
            (int(v["step"]), float(v["scalar"]["value"])) for v in d.get("values", []) if "scalar" in v
        )
        for d in data.get("timeSeriesData", [])
        if d.get("tensorboardTimeSeriesId") in series
    }
    return MetricSeries(points)


# --- tuned models and endpoints ----------------------------------------------------------


def _rest(conn: Connection, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """A Vertex REST call google-genai has no method for, on a fresh client (see `_genai_private_request`)."""
    return _with_client(conn, lambda c: _genai_private_request(c, method, path, body or {}))


def delete_tuned_model(conn: Connection, job: JobRecord, retry: RetryPolicy = DEFAULT_RETRY) -> list[str]:
    """Remove what a finished job produced, and nothing else: undeploy its tuned model version
    from every endpoint of the job (checkpoint endpoints first), delete those endpoints, then
    the version: DeleteModelVersion when the model holds versions other jobs produced
    (continuous tuning), DeleteModel when the job's version is the model's only one.

    Raises ModelVersionKept, before anything is touched, when the version holds the model's
    `default` alias while other versions exist (Vertex keeps one version the default, and
    DeleteModel would take the others), and when Vertex refuses DeleteModelVersion. Returns one
    sentence per other thing Vertex refused (an endpoint; a whole-model delete, which older
    Gemini tuned models do not allow), for the caller to report; gone is done.
    """
    problems: list[str] = []
    named = job.outputs.tuned_model_name
    model = ModelName.parse(named) if named else None
    if named and model is None:
        problems.append(f"could not delete tuned model {named}: it is not a model's resource name")
    if model:
        _refuse_a_default_version_with_siblings(conn, model, retry)
    endpoints = [c.endpoint for c in job.outputs.checkpoints if c.endpoint]
    if job.outputs.tuned_model_endpoint:
        endpoints.append(job.outputs.tuned_model_endpoint)
    for endpoint in dict.fromkeys(reversed(endpoints)):  # main endpoint last, each once
        try:
            _delete_endpoint(conn, endpoint, retry)
        except NotFound:
            continue
        except ApiError as exc:
            problems.append(f"could not delete endpoint {endpoint}: {exc.message}")
    if model:
        problems += _delete_model_version(conn, model, retry)
    return problems


def _model_versions(conn: Connection, model_path: str, retry: RetryPolicy) -> list[dict[str, Any]]:
    """Every version of a model (ListModelVersions, page by page); [] when the model is gone."""
    versions: list[dict[str, Any]] = []
    token = ""
    while True:
        path = f"{model_path}:listVersions" + (f"?{urlencode({'pageToken': token})}" if token else "")
        try:
            page = _call(f"listing the versions of {model_path}", functools.partial(_rest, conn, "get", path), retry)
        except NotFound:
            return []
        versions += page.get("models", [])
        token = page.get("nextPageToken", "")
        if not token:
            return versions


def _split_versions(
    versions: list[dict[str, Any]], version: str
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """(the version named `version`, or the default one when it is empty; the others)."""
    def is_ours(v: dict[str, Any]) -> bool:
        return v.get("versionId") == version if version else _DEFAULT_ALIAS in v.get("versionAliases", [])

    ours = next((v for v in versions if is_ours(v)), None)
    return ours, [v for v in versions if v is not ours]


# The alias Vertex keeps on exactly one version of every model: what the bare name serves.
_DEFAULT_ALIAS = "default"


def _refuse_a_default_version_with_siblings(conn: Connection, model: ModelName, retry: RetryPolicy) -> None:
    path = model.model
    ours, others = _split_versions(_model_versions(conn, path, retry), model.version)
    if ours is not None and others and _DEFAULT_ALIAS in ours.get("versionAliases", []):
        raise _default_version_kept(path, ours, others)


def _default_version_kept(path: str, ours: dict[str, Any], others: list[dict[str, Any]]) -> ModelVersionKept:
    staying = f"{path}@{others[-1].get('versionId')}"
    listed = ", ".join(f"@{v.get('versionId')}" for v in others)
    return ModelVersionKept(
        f"{path}@{ours.get('versionId')}",
        f"it holds the model's '{_DEFAULT_ALIAS}' alias and the model has other versions ({listed}), made by "
        "other tuning jobs: Vertex keeps one version the default, so this one cannot be deleted alone, and "
        "deleting the whole model would take the others down",
        "Nothing was deleted (a TuningJob holding this job stays in the stack). Move the alias to a version that stays "
        f"(aiplatform_v1.ModelServiceClient().merge_version_aliases(name=\"{staying}\", "
        "version_aliases=[\"default\"]), or POST "
        f"{staying}:mergeVersionAliases with {{\"versionAliases\": [\"default\"]}}) and run the command again; "
        "or leave this version in Vertex: `pulumi state delete` the resource (or, while it is still in the "
        "program, set retain_on_delete on it)",
    )


def _delete_model_version(conn: Connection, model: ModelName, retry: RetryPolicy) -> list[str]:
    path = model.model
    # Listed again, just before deleting: a version made since the check counts.
    ours, others = _split_versions(_model_versions(conn, path, retry), model.version)
    if ours is None:
        return []
    if not others:
        # The model's only version: DeleteModel, as deleteVersion refuses the only one. A version
        # tuned from it in between would be deployed, and DeleteModel is refused then.
        try:
            _call(f"deleting tuned model {path}", lambda: _with_client(conn, lambda c: c.models.delete(model=path)),
                  retry)
        except NotFound:
            pass
        except ApiError as exc:
            return [f"could not delete tuned model {path}: {exc.message}"]
        return []
    if _DEFAULT_ALIAS in ours.get("versionAliases", []):
        raise _default_version_kept(path, ours, others)
    name = f"{path}@{ours.get('versionId')}"
    try:
        _call(f"deleting tuned model version {name}",
              functools.partial(_rest, conn, "delete", f"{name}:deleteVersion"), retry)
    except NotFound:
        pass
    except ApiError as exc:
        raise ModelVersionKept(
            name, f"Vertex refused to delete it: {exc.message}",
            "Its endpoints are deleted; a TuningJob holding this job stays in the stack. Deal with what Vertex "
            "names and run the command again, or leave this version in Vertex: `pulumi state delete` the "
            "resource (or, while it is still in the program, set retain_on_delete on it)",
        ) from exc
    return []


def _delete_endpoint(conn: Connection, endpoint: str, retry: RetryPolicy) -> None:
    info = _call(f"reading endpoint {endpoint}", lambda: _rest(conn, "get", endpoint), retry)
    for deployed in info.get("deployedModels", []):
        _call(
            f"undeploying model {deployed.get('id')} from {endpoint}",
            functools.partial(_rest, conn, "post", f"{endpoint}:undeployModel", {"deployedModelId": deployed["id"]}),
            retry,
        )
    _call(f"deleting endpoint {endpoint}", lambda: _rest(conn, "delete", endpoint), retry)


# The version aliases of the TuningJob resources serving a model version start so (lifecycle).
HOLDER_ALIAS_PREFIX = "pulumi-held-"


def _held_version(job: JobRecord) -> str | None:
    """The model version (models/ID@VERSION) a succeeded job produced, or None."""
    model = ModelName.parse(job.outputs.tuned_model_name or "")
    return str(model) if model is not None and model.version else None


def hold_tuned_model(conn: Connection, job: JobRecord, alias: str, retry: RetryPolicy = DEFAULT_RETRY) -> None:
    """Put the version alias `alias` on the model version the job produced (MergeVersionAliases):
    a record, in Vertex, of one more resource that serves it."""
    version = _held_version(job)
    if version is not None:
        _call(f"adding version alias {alias} to tuned model {version}",
              functools.partial(_rest, conn, "post", f"{version}:mergeVersionAliases", {"versionAliases": [alias]}),
              retry)


def release_tuned_model(conn: Connection, job: JobRecord, alias: str, retry: RetryPolicy = DEFAULT_RETRY) -> list[str]:
    """Take the version alias `alias` off the model version the job produced, and return the
    holder aliases (HOLDER_ALIAS_PREFIX) other resources keep on it; [] when the version is gone.
    Each resource adds and removes only its own alias, so two releasing at once never lose one."""
    version = _held_version(job)
    if version is None:
        return []
    try:
        found = _call(f"reading tuned model {version}", lambda: _rest(conn, "get", version), retry)
        aliases = list(found.get("versionAliases", []))
        if alias in aliases:
            found = _call(f"removing version alias {alias} from tuned model {version}",
                          functools.partial(_rest, conn, "post", f"{version}:mergeVersionAliases",
                                            {"versionAliases": [f"-{alias}"]}), retry)
            aliases = list(found.get("versionAliases", []))
    except NotFound:
        return []
    return [a for a in aliases if a.startswith(HOLDER_ALIAS_PREFIX) and a != alias]


def generate_content(
    conn: Connection,
    endpoint: str,
    prompt: str,
    *,
    system: str | None = None,
    temperature: float | None = None,
    top_p: float | None = None,
    top_k: float | None = None,
    max_output_tokens: int | None = None,
    retry: RetryPolicy = DEFAULT_RETRY,
) -> str:
    """Ask a tuned model (its endpoint) one question and return the answer's text.
    The thinking budget is 0: tuned models answer the tuned task directly."""
    config = types.GenerateContentConfig(
        system_instruction=system,
        temperature=temperature,
        top_p=top_p,
        top_k=top_k,
        max_output_tokens=max_output_tokens,
        thinking_config=types.ThinkingConfig(thinking_budget=0),
    )
    response = _call(
        f"asking {endpoint}",
        lambda: _with_client(
            conn, lambda c: c.models.generate_content(model=endpoint, contents=prompt, config=config)
        ),
        retry,
    )
    return response.text or ""
