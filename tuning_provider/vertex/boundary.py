"""The one boundary between Google's client libraries and this package: errors and retries.

Every call to Vertex (google-genai) and to Cloud Storage (google-cloud-storage) runs through
`call`, which translates what those libraries, google-auth and the HTTP transports raise into
`tuning_provider.errors`, once, re-raised `from` the original, and retries what is worth
retrying (429, 5xx, reset connections, timeouts) with capped exponential backoff and full
jitter. A policy made by `outage_tolerant` rides out an API that stops answering for a while
(`OutageWatch`): what a wait for a submitted job, and every call of a delete, use.

A call is retried only when it is safe to repeat: idempotent, or made so by its caller
(`submit_or_adopt` looks the job up before each attempt). A repeated call may meet what its
first attempt did before the answer was lost: `removal` says whether a delete met its own
earlier attempt (deleted) or found the resource gone (already gone).
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import functools
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlparse

from tuning_provider.connection import on_this_machine
from tuning_provider.errors import (
    ApiError,
    ApiOutage,
    NotFound,
    PermissionDenied,
    Transient,
    Unauthenticated,
    Unreachable,
    kind_of_status,
)
from tuning_provider.lazy import lazy_module

if TYPE_CHECKING:
    from google.api_core import exceptions as api_errors
    from google.auth import exceptions as auth_errors
    from google.genai import errors as genai_errors
else:
    # Imported at the first error: google-genai and google-api-core are slow to import.
    api_errors = lazy_module("google.api_core.exceptions")
    auth_errors = lazy_module("google.auth.exceptions")
    genai_errors = lazy_module("google.genai.errors")

__all__ = [
    "DEFAULT_RETRY",
    "OutageWatch",
    "Removal",
    "RetryPolicy",
    "call",
    "outage_tolerant",
    "progress",
    "removal",
    "translated",
]

T = TypeVar("T")

# Retries during an outage: quick at first, then at most this far apart, so a wait notices
# the API is back within seconds of it.
_OUTAGE_FIRST_DELAY = 0.25
_OUTAGE_MAX_DELAY = 10.0
_FIX_CREDENTIALS = "Run `gcloud auth application-default login` or set GOOGLE_APPLICATION_CREDENTIALS"


def progress(message: str) -> None:
    """A line for the person waiting: stderr, which the Pulumi engine shows under the CLI."""
    print(message, file=sys.stderr, flush=True)


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
    watch = OutageWatch(tolerance, on_progress or progress, clock=clock) if tolerance > 0 else None
    return dataclasses.replace(base, sleep=sleep, outage=watch)


# --- errors ----------------------------------------------------------------------------------

# What to do about a status, where the service says it (Vertex, Cloud Storage); what it means: errors.kind_of_status.
_VERTEX_HINTS = {
    403: "Grant the caller roles/aiplatform.user, and check that the job's service account and the Vertex AI "
         "service agent hold their roles",
    401: _FIX_CREDENTIALS,
    429: "Vertex's quota is used up for now; tuning often allows one concurrent job per project: wait for "
         "running jobs, or ask for more on the console's Quotas page",
}
_STORAGE_HINTS = {
    403: "Grant the caller roles/storage.objectViewer on the bucket",
    401: _FIX_CREDENTIALS,
}


def _transport_errors() -> tuple[type[BaseException], ...]:
    classes: list[type[BaseException]] = [ConnectionError, TimeoutError]
    for module, name in (("httpx", "TransportError"), ("httpx2", "TransportError"), ("requests", "RequestException")):
        with contextlib.suppress(ImportError):
            classes.append(getattr(__import__(module), name))
    return tuple(classes)


@functools.cache
def _foreign_errors() -> tuple[type[BaseException], ...]:
    """Everything `translated` knows how to turn into an ApiError (imported on the first error)."""
    return (genai_errors.APIError, api_errors.GoogleAPICallError, auth_errors.GoogleAuthError, *_transport_errors())


def translated(exc: BaseException, action: str) -> ApiError:
    """google-genai's, google-cloud-storage's, google-auth's and the transports' errors as this
    package's ApiError subclasses."""
    if refused := _refused_locally(exc):
        return Unreachable(
            f"{action}: nothing answers at {refused}; start the emulator (`make emulator`) or fix the "
            "endpoint setting (tuning:apiEndpoint, tuning:storageEndpoint)",
            status=None, code="UNAVAILABLE",
        )
    if isinstance(exc, genai_errors.APIError):
        status = int(exc.code) if exc.code else None
        return _answered(action, status, exc.status, exc.message or exc.status, _VERTEX_HINTS)
    if isinstance(exc, api_errors.GoogleAPICallError):
        code = getattr(exc.grpc_status_code, "name", None)
        return _answered(action, int(exc.code) if exc.code else None, code, exc.message, _STORAGE_HINTS)
    if isinstance(exc, auth_errors.GoogleAuthError) and not isinstance(exc, auth_errors.TransportError):
        # Raised by google-auth on the first request: no Application Default Credentials, or
        # credentials that can no longer be refreshed.
        reason = ("no Application Default Credentials found"
                  if isinstance(exc, auth_errors.DefaultCredentialsError) else f"{type(exc).__name__}: {exc}")
        return Unauthenticated(f"{action}: {reason}. {_FIX_CREDENTIALS}", status=None, code="UNAUTHENTICATED")
    return Transient(f"{action}: {type(exc).__name__}: {exc}", status=None, code="UNAVAILABLE")


def _answered(action: str, status: int | None, code: str | None, text: str | None,
              hints: dict[int, str]) -> ApiError:
    """The error of an HTTP answer: its kind from the status (400 and the rest: InvalidRequest)."""
    message = f"{action}: {text or code or 'error'} (HTTP {status})"
    if status in hints:
        message += f". {hints[status]}"
    kind = kind_of_status(status)
    return kind(message, status=status, code=code)


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
    if url and on_this_machine(url):
        parsed = urlparse(url)
        return f"{parsed.scheme}://{parsed.netloc}"
    return None


# --- calls -----------------------------------------------------------------------------------


@dataclass
class _Attempts:
    """What one call's attempts met: whether one went unanswered (it may have taken effect)."""

    unanswered: bool = False


def call(action: str, fn: Callable[[], T], retry: RetryPolicy = DEFAULT_RETRY) -> T:
    """Run one API call, retrying transient failures within the policy's bounds. The call must
    be safe to repeat: idempotent, or made so (submit_or_adopt looks up before submitting)."""
    return _run(action, fn, retry, _Attempts())


class Removal(enum.Enum):
    """What a delete found: the resource removed by it, or gone before it."""

    DELETED = "deleted"
    ALREADY_GONE = "already gone"


def removal(action: str, fn: Callable[[], object], retry: RetryPolicy = DEFAULT_RETRY) -> Removal:
    """Run a delete (`fn`) through `call`'s retries: DELETED when it removed the resource,
    ALREADY_GONE when it was not there. A NotFound after an attempt left unanswered is the
    answer to that attempt, lost: the delete took effect, so that counts as DELETED."""
    attempts = _Attempts()
    try:
        _run(action, fn, retry, attempts)
    except NotFound:
        return Removal.DELETED if attempts.unanswered else Removal.ALREADY_GONE
    return Removal.DELETED


def _run(action: str, fn: Callable[[], T], retry: RetryPolicy, attempts: _Attempts) -> T:
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
            error = translated(exc, action)
            if outage is not None and outage.covers(error):
                attempts.unanswered = True
                try:
                    pause = outage.unanswered(action, error, exc, tried_at)
                except ApiOutage as past:
                    raise past from exc
                retry.sleep(pause)
                continue
            attempt += 1
            delay = _pause(action, error, retry, attempt, time.monotonic() - started)
            if delay is None:
                raise error from exc
            attempts.unanswered = attempts.unanswered or OutageWatch.covers(error)
            retry.sleep(delay)
        else:
            if outage is not None:
                outage.answered()
            return answer


def _pause(action: str, error: ApiError, retry: RetryPolicy, attempt: int, elapsed: float) -> float | None:
    """The pause before attempt `attempt + 1` after `error`, saying why when it is long; None
    when the error is final (not worth retrying, or the policy's bounds are reached)."""
    retriable = isinstance(error, Transient) or (
        isinstance(error, PermissionDenied) and elapsed < retry.permission_grace
    )
    if not retriable or attempt >= retry.attempts or elapsed >= retry.max_elapsed:
        return None
    delay = retry.delay(attempt)
    if isinstance(error, PermissionDenied):
        progress(f"{action}: permission denied; IAM changes take a minute or two to "
                 f"reach Vertex, retrying in {delay:.0f}s")
    elif delay >= 1.0:  # quick retries stay quiet; a visible pause says why
        progress(f"{action}: {error.code or 'transient error'}, retrying in {delay:.0f}s "
                 f"(attempt {attempt + 1} of {retry.attempts})")
    return delay
