"""The project's errors: one hierarchy, each error carrying its context.

    TuningError                  base of everything this package raises on purpose
    ├── SpecError                job inputs are wrong (each SpecProblem: field path, value, fix)
    ├── ConfigError              stack settings are missing or wrong (every ConfigProblem, file)
    ├── DatasetError             a dataset is unreadable or invalid (uri, report)
    ├── ApiError                 Vertex or Cloud Storage answered with an error (status, code, message)
    │   ├── InvalidRequest       400 INVALID_ARGUMENT / FAILED_PRECONDITION
    │   ├── Unauthenticated      401: no or bad credentials
    │   ├── PermissionDenied     403: the caller or the job's service account lacks a role
    │   ├── NotFound             404: the named job, model or endpoint does not exist
    │   ├── Conflict             409: ABORTED / ALREADY_EXISTS
    │   ├── Unreachable          a local endpoint (an emulator) refused the connection
    │   ├── Transient            429, 5xx and connection failures: worth retrying
    │   └── ApiOutage            Vertex stopped answering during a wait for longer than allowed
    ├── WaitTimeout              a job did not reach a terminal state in time (last state)
    ├── JobFailed                a job ended FAILED, CANCELLED or EXPIRED (Vertex's message)
    ├── JobNotServing            a create stops before its tuned model serves (why, what next)
    ├── ModelVersionKept         a job's tuned model version cannot go alone (version, why, what next)
    └── QualityGateFailed        a finished job's eval metrics miss the thresholds (figures)

Foreign errors (google-genai's APIError, google-cloud-storage's and google-auth's errors, the
HTTP transports' errors) are translated into these in one place, `tuning_provider.vertex.boundary`,
and re-raised `from` the original.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

__all__ = [
    "ApiError",
    "ApiOutage",
    "ConfigError",
    "ConfigProblem",
    "Conflict",
    "DatasetError",
    "InvalidRequest",
    "JobFailed",
    "JobNotServing",
    "ModelVersionKept",
    "NotFound",
    "PermissionDenied",
    "QualityGateFailed",
    "SpecError",
    "SpecProblem",
    "Transient",
    "TuningError",
    "Unauthenticated",
    "Unreachable",
    "WaitTimeout",
    "kind_of_status",
    "rpc_code_of",
]


class TuningError(Exception):
    """Base class of every error this package raises on purpose."""


@dataclass(frozen=True)
class SpecProblem:
    """One wrong tuning job input: its path (the input's Python name, then keys within it),
    the value given (None when missing), and a sentence saying what is wrong and the fix."""

    path: tuple[str | int, ...]
    value: Any
    message: str

    @property
    def field(self) -> str:
        """The input at fault."""
        return str(self.path[0]) if self.path else ""

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class SpecError(TuningError):
    """Tuning job inputs are invalid: every problem found, each a SpecProblem. The spec's
    validation raises nothing else (pydantic's own errors are translated in tuning_provider/spec/);
    `field` and `message` are the first problem's."""

    def __init__(self, problems: Sequence[SpecProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(map(str, self.problems)))

    @classmethod
    def at(cls, field: str, message: str, value: Any = None) -> SpecError:
        """The error of one problem with the input `field`."""
        return cls([SpecProblem((field,), value, message)])

    @property
    def field(self) -> str:
        return self.problems[0].field if self.problems else ""

    @property
    def message(self) -> str:
        return self.problems[0].message if self.problems else ""


@dataclass(frozen=True)
class ConfigProblem:
    """One wrong stack setting: its key path as `pulumi config --path` writes it
    (`tuning:job.epoch_count`), a sentence with the bad value and the fix, and the line of the
    stack file that holds it, when known."""

    key: str
    message: str
    line: int | None = None

    def describe(self, source: str | None = None) -> str:
        where = f"{source}:{self.line}: " if source and self.line else f"{source}: " if source else ""
        return f"{where}{self.key}: {self.message}" if self.key else f"{where}{self.message}"


class ConfigError(TuningError):
    """The stack configuration is wrong. `problems` lists every wrong setting at once;
    `source` is the stack file they were found in, when known."""

    def __init__(self, problems: Sequence[ConfigProblem], source: str | None = None) -> None:
        self.problems = tuple(problems)
        self.source = source
        lines = [problem.describe(source) for problem in self.problems]
        if len(lines) == 1:
            super().__init__(lines[0])
        else:
            where = f" in {source}" if source else ""
            super().__init__(f"{len(lines)} problems with the stack configuration{where}:\n  " + "\n  ".join(lines))

    @property
    def keys(self) -> list[str]:
        return [problem.key for problem in self.problems]


class DatasetError(TuningError):
    """A dataset could not be read, or is not valid tuning data. `report` may be None."""

    def __init__(self, uri: str, message: str, report: Any = None) -> None:
        super().__init__(f"{uri}: {message}")
        self.uri = uri
        self.message = message
        self.report = report


class ApiError(TuningError):
    """Vertex AI or Cloud Storage (or an emulator of them) answered with an error.

    Each kind says, once, what Google answers it with: `RPC_CODE`, its google.rpc.Code (unless
    an error carries its own, such as FAILED_PRECONDITION), and `HTTP_STATUSES`, the statuses that
    mean it. The transport reads a status into a kind (`kind_of_status`), the emulator a kind
    into a code (`rpc_code_of`)."""

    RPC_CODE: ClassVar[str] = "INTERNAL"
    HTTP_STATUSES: ClassVar[tuple[int, ...]] = ()

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


class InvalidRequest(ApiError):
    """The request was rejected as malformed or not allowed in the current state."""

    RPC_CODE = "INVALID_ARGUMENT"
    HTTP_STATUSES = (400,)


class Unauthenticated(ApiError):
    """No usable credentials."""

    RPC_CODE = "UNAUTHENTICATED"
    HTTP_STATUSES = (401,)


class PermissionDenied(ApiError):
    """The caller, or the service account the job runs as, lacks a permission."""

    RPC_CODE = "PERMISSION_DENIED"
    HTTP_STATUSES = (403,)


class NotFound(ApiError):
    """The named resource does not exist."""

    RPC_CODE = "NOT_FOUND"
    HTTP_STATUSES = (404,)


class Conflict(ApiError):
    """The resource exists already, or changed under us."""

    RPC_CODE = "ALREADY_EXISTS"
    HTTP_STATUSES = (409,)


class Unreachable(ApiError):
    """A local endpoint refused the connection: nothing listens there, so retrying is futile."""


class Transient(ApiError):
    """A failure that may succeed when retried: 429, 5xx, a reset connection."""

    RPC_CODE = "UNAVAILABLE"
    HTTP_STATUSES = (429, 500, 502, 503, 504)


class ApiOutage(ApiError):
    """Vertex stopped answering (connection errors, timeouts, 5xx) while a job was waited for,
    for longer than the wait tolerates; the job itself is not affected. `waited_seconds` is
    how long it went unanswered, `tolerance_seconds` the bound."""

    def __init__(
        self, message: str, *, waited_seconds: float, tolerance_seconds: float,
        status: int | None = None, code: str | None = None,
    ) -> None:
        super().__init__(message, status=status, code=code)
        self.waited_seconds = waited_seconds
        self.tolerance_seconds = tolerance_seconds


def kind_of_status(status: int | None) -> type[ApiError]:
    """The kind of error an HTTP answer's status means (400 and any other: InvalidRequest)."""
    for kind in (NotFound, PermissionDenied, Unauthenticated, Conflict, Transient):
        if status in kind.HTTP_STATUSES:
            return kind
    return InvalidRequest


def rpc_code_of(error: ApiError) -> str:
    """The google.rpc.Code Google answers `error` with: its own, else its kind's."""
    return error.code or type(error).RPC_CODE


class WaitTimeout(TuningError):
    """A job was still live when the wait bound was reached; `what_next`, when given, names
    the bound and what the user can do."""

    def __init__(self, job_name: str, last_state: str, waited_seconds: float, what_next: str = "") -> None:
        super().__init__(
            f"tuning job {job_name} was still {last_state} after {waited_seconds:.0f}s of waiting"
            + (f": {what_next}" if what_next else "")
        )
        self.job_name = job_name
        self.last_state = last_state
        self.waited_seconds = waited_seconds
        self.what_next = what_next


class JobFailed(TuningError):
    """A tuning job ended without success; `message` is Vertex's own explanation."""

    def __init__(self, job_name: str, state: str, message: str) -> None:
        super().__init__(f"tuning job {job_name} ended {state}: {message}")
        self.job_name = job_name
        self.state = state
        self.message = message


class JobNotServing(TuningError):
    """A create stops before its tuned model serves (still running at the wait bound, not
    waited for, or its model gone); `message` says why and what becomes of the job."""

    def __init__(self, job_name: str, state: str, message: str) -> None:
        super().__init__(f"tuning job {job_name} ({state}) has no serving model: {message}")
        self.job_name = job_name
        self.state = state
        self.message = message


class ModelVersionKept(TuningError):
    """A finished job's tuned model version is not deleted: deleting it would take versions
    other jobs produced with it, or Vertex refused it. `model` is the version's resource name,
    `reason` why, and `fix` what the user can do; nothing else was deleted."""

    def __init__(self, model: str, reason: str, fix: str) -> None:
        super().__init__(f"tuned model version {model} was not deleted: {reason}. {fix}")
        self.model = model
        self.reason = reason
        self.fix = fix


class QualityGateFailed(TuningError):
    """A job succeeded but its eval metrics miss min_eval_token_accuracy or max_eval_loss, so
    its model must not serve; `misses` names each threshold with the measured figure, and
    `message` says what became of the job's model."""

    def __init__(self, job_name: str, misses: Sequence[str], message: str) -> None:
        super().__init__(f"tuning job {job_name} failed the quality gate: {'; '.join(misses)}. {message}")
        self.job_name = job_name
        self.misses = tuple(misses)
        self.message = message
