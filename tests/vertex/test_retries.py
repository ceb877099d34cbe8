"""boundary.call's retry policy on google-genai's own errors (the emulator's faults cover
429/503 over HTTP; permission denials right after IAM changes it cannot produce)."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest
from google.genai import errors as genai_errors

from tuning_provider import vertex
from tuning_provider.errors import ApiOutage, InvalidRequest, NotFound, PermissionDenied, Transient, Unreachable
from tuning_provider.vertex import boundary


def api_error(code: int, status: str, message: str = "boom") -> genai_errors.APIError:
    return genai_errors.APIError(code, {"error": {"code": code, "status": status, "message": message}})


def failing(*errors: BaseException) -> tuple[Callable[[], str], list[int]]:
    """A call that raises the given errors in turn, then answers "ok"; and its call count."""
    calls: list[int] = []

    def call() -> str:
        calls.append(1)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return "ok"

    return call, calls


def policy(**overrides: float) -> vertex.RetryPolicy:
    return vertex.RetryPolicy(sleep=lambda _: None, **overrides)


def test_transient_errors_are_retried_until_success():
    call, calls = failing(api_error(429, "RESOURCE_EXHAUSTED"), api_error(503, "UNAVAILABLE"),
                          ConnectionResetError("reset by peer"))
    assert boundary.call("reading", call, policy()) == "ok"
    assert len(calls) == 4


def test_transient_errors_stop_at_the_attempt_bound():
    call, calls = failing(*[api_error(503, "UNAVAILABLE")] * 10)
    with pytest.raises(Transient) as info:
        boundary.call("reading job j", call, policy(attempts=3))
    assert len(calls) == 3 and info.value.status == 503 and "reading job j" in str(info.value)


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [
        (400, "INVALID_ARGUMENT", InvalidRequest),
        (404, "NOT_FOUND", NotFound),
        (403, "PERMISSION_DENIED", PermissionDenied),
    ],
)
def test_other_errors_are_not_retried_and_keep_their_status(code, status, kind):
    call, calls = failing(api_error(code, status, "nope"))
    with pytest.raises(kind) as info:
        boundary.call("reading", call, policy())
    assert len(calls) == 1 and (info.value.status, info.value.code) == (code, status)
    assert isinstance(info.value.__cause__, genai_errors.APIError)


def test_permission_denied_is_retried_within_the_iam_grace_and_says_why(capsys):
    call, calls = failing(api_error(403, "PERMISSION_DENIED"), api_error(403, "PERMISSION_DENIED"))
    assert boundary.call("creating", call, policy(permission_grace=60)) == "ok"
    assert len(calls) == 3
    assert "IAM changes take a minute or two" in capsys.readouterr().err


def test_permission_denied_message_names_the_roles():
    call, _ = failing(api_error(403, "PERMISSION_DENIED", "Permission 'aiplatform.tuningJobs.create' denied"))
    with pytest.raises(PermissionDenied, match="roles/aiplatform.user"):
        boundary.call("creating", call, policy())


def test_backoff_is_capped_and_jittered():
    retry = vertex.RetryPolicy(initial_delay=0.5, max_delay=4.0)
    delays = [retry.delay(attempt) for attempt in range(1, 12) for _ in range(20)]
    assert all(0 <= d <= 4.0 for d in delays)
    assert len(set(delays)) > 100  # jittered: no two retries in lockstep


class TwoSecondPauses(vertex.RetryPolicy):
    def delay(self, attempt: int) -> float:
        return 2.0


def test_a_long_pause_before_a_retry_says_why(capsys):
    call, _ = failing(api_error(503, "UNAVAILABLE"))
    assert boundary.call("reading job j", call, TwoSecondPauses(sleep=lambda _: None)) == "ok"
    assert "reading job j: UNAVAILABLE, retrying in 2s (attempt 2 of 8)" in capsys.readouterr().err


def test_a_refused_local_endpoint_fails_at_once_naming_it_and_the_fix():
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    conn = vertex.connect("local-project", "us-central1", f"http://127.0.0.1:{port}")
    slept: list[float] = []
    with pytest.raises(Unreachable) as info:
        vertex.get_tuning_job(conn, "123", vertex.RetryPolicy(sleep=slept.append))
    assert slept == []  # no retry: an emulator that is not running does not start meanwhile
    assert f"nothing answers at http://127.0.0.1:{port}" in str(info.value) and "make emulator" in str(info.value)


# --- riding out an outage during a wait ----------------------------------------------------


class SteppingClock:
    """A monotonic clock that moves only when a retry pauses: each pause takes `step` seconds,
    whatever the jitter chose, so the figures in the lines are exact."""

    def __init__(self, step: float = 5.0) -> None:
        self.now = 0.0
        self.step = step

    def __call__(self) -> float:
        return self.now

    def pause(self, seconds: float) -> None:
        assert 0 <= seconds <= 10.0  # capped backoff
        self.now += self.step


def riding_out(tolerance: float, lines: list[str], clock: SteppingClock, **base: float) -> vertex.RetryPolicy:
    return vertex.outage_tolerant(tolerance, lines.append, sleep=clock.pause, clock=clock,
                                  base=vertex.RetryPolicy(**base))


def test_an_outage_is_ridden_out_past_the_attempt_bound_with_one_line_as_it_starts_and_one_as_it_ends():
    clock, lines = SteppingClock(), []
    call, calls = failing(*[api_error(503, "UNAVAILABLE")] * 3, ConnectionResetError("reset by peer"),
                          *[api_error(502, "BAD_GATEWAY")] * 5)
    assert boundary.call("reading job j", call, riding_out(60, lines, clock, attempts=3)) == "ok"
    assert len(calls) == 10
    assert lines == [
        "Vertex AI unreachable (HTTP 503 UNAVAILABLE), still retrying (up to 1 min); the job is not affected",
        "Vertex AI answers again after 45 s",
    ]


def test_past_the_window_the_call_fails_with_api_outage_saying_how_long():
    clock, lines = SteppingClock(), []
    call, calls = failing(*[ConnectionResetError("reset by peer")] * 100)
    with pytest.raises(ApiOutage) as info:
        boundary.call("reading job j", call, riding_out(12, lines, clock))
    assert len(calls) == 4 and info.value.waited_seconds == 15 and info.value.tolerance_seconds == 12
    assert "reading job j: Vertex AI did not answer for 15s, longer than the 12s" in str(info.value)
    assert "ConnectionResetError: reset by peer" in str(info.value)
    assert isinstance(info.value.__cause__, ConnectionResetError)
    assert lines == ["Vertex AI unreachable (ConnectionResetError: reset by peer), still retrying (up to 12 s); "
                     "the job is not affected"]


def test_one_outage_spans_the_calls_of_a_wait():
    clock, lines = SteppingClock(), []
    retry = riding_out(12, lines, clock)
    first, _ = failing(*[api_error(504, "DEADLINE_EXCEEDED")] * 100)
    second, calls = failing(*[api_error(504, "DEADLINE_EXCEEDED")] * 100)
    with pytest.raises(ApiOutage):
        boundary.call("reading job j", first, retry)
    with pytest.raises(ApiOutage):
        boundary.call("reading metrics of j", second, retry)
    assert len(calls) == 1 and len(lines) == 1  # still the same outage, already too long


def test_a_quota_answer_is_no_outage_and_keeps_its_attempt_bound():
    clock, lines = SteppingClock(), []
    call, calls = failing(*[api_error(429, "RESOURCE_EXHAUSTED")] * 10)
    with pytest.raises(Transient):
        boundary.call("reading job j", call, riding_out(600, lines, clock, attempts=3))
    assert len(calls) == 3 and not any("unreachable" in line for line in lines)


def test_a_refused_local_endpoint_is_an_outage_once_a_job_is_waited_for():
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    conn = vertex.connect("local-project", "us-central1", f"http://127.0.0.1:{port}")
    clock, lines = SteppingClock(), []
    with pytest.raises(ApiOutage, match="did not answer for 10s") as info:
        vertex.get_tuning_job(conn, "123", riding_out(10, lines, clock))
    assert isinstance(info.value.__cause__, Exception)
    assert lines == ["Vertex AI unreachable (connection refused), still retrying (up to 10 s); "
                     "the job is not affected"]


def test_a_window_of_zero_fails_at_the_first_refusal_as_a_first_contact_does():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    conn = vertex.connect("local-project", "us-central1", f"http://127.0.0.1:{port}")
    with pytest.raises(Unreachable, match=f"nothing answers at http://127.0.0.1:{port}"):
        vertex.get_tuning_job(conn, "123", vertex.outage_tolerant(0, sleep=lambda _: None))
