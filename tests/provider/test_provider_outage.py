"""A create that waits rides out Vertex going away and coming back (the emulator refusing
connections, as in a network blip), fails as at its wait bound when the outage outlasts
api_outage_tolerance_seconds (the next create adopts the job), and stops at once on Ctrl-C
during an outage. A first contact that finds nothing still fails at once.

The emulator's clock is moved by hand, so the job stays running until the test lets it finish;
the test acts on what the provider says (its stderr, redirected here), never on timing."""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.conftest import ManualClock
from tests.provider.provider_helpers import all_jobs, checked, inputs, make_provider
from tuning_provider import cancellation
from tuning_provider.emulator import Emulator
from tuning_provider.errors import JobNotServing, Unreachable
from tuning_provider.provider import TuningJobProvider


class Heard:
    """A stderr that remembers what was written and lets another thread wait for a phrase."""

    def __init__(self) -> None:
        self.text = ""
        self._changed = threading.Condition()

    def write(self, text: str) -> int:
        with self._changed:
            self.text += text
            self._changed.notify_all()
        return len(text)

    def flush(self) -> None:
        pass

    def wait_for(self, phrase: str, timeout: float = 60.0) -> None:
        with self._changed:
            assert self._changed.wait_for(lambda: phrase in self.text, timeout), f"never said {phrase!r}:\n{self.text}"


@contextlib.contextmanager
def meanwhile(act: Callable[[], None]) -> Iterator[None]:
    """Run `act` in a thread during the block; its failure fails the test."""
    failures: list[BaseException] = []

    def run() -> None:
        try:
            act()
        except BaseException as exc:  # noqa: BLE001 - handed to the test below
            failures.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    try:
        yield
    finally:
        thread.join()
    if failures:
        raise failures[0]


@pytest.fixture
def emulator(emulator_factory: Callable[..., Emulator], manual_clock: ManualClock) -> Emulator:
    return emulator_factory(clock=manual_clock)


@pytest.fixture
def provider(emulator: Emulator) -> TuningJobProvider:
    return make_provider(emulator.url)


@pytest.fixture
def props(provider: TuningJobProvider, write_training_file: Callable[..., str]) -> Callable[..., dict[str, Any]]:
    train = write_training_file()
    return lambda **settings: checked(provider, inputs(train, poll_interval_seconds=0.1, **settings))


def test_an_outage_shorter_than_the_window_is_ridden_out_and_the_create_serves(
    emulator: Emulator, manual_clock: ManualClock, provider: TuningJobProvider, props: Callable[..., dict[str, Any]]
):
    heard = Heard()

    def blip() -> None:
        heard.wait_for("submitted tuning job")
        emulator.go_offline()
        heard.wait_for("Vertex AI unreachable")
        emulator.come_back()
        manual_clock.advance(10)  # the job finishes

    with meanwhile(blip), contextlib.redirect_stderr(heard):
        outs = provider.create(props(api_outage_tolerance_seconds=60)).outs

    assert outs["state"] == "SUCCEEDED" and outs["tuned_model_endpoint"]
    assert ("Vertex AI unreachable (connection refused), still retrying (up to 1 min); the job is not affected"
            in heard.text)
    assert heard.text.count("Vertex AI answers again after ") == 1
    assert len(all_jobs(emulator.url)) == 1


def test_an_outage_longer_than_the_window_fails_as_the_wait_bound_does_and_the_next_create_adopts(
    emulator: Emulator, manual_clock: ManualClock, provider: TuningJobProvider, props: Callable[..., dict[str, Any]]
):
    heard = Heard()

    def blip() -> None:
        heard.wait_for("submitted tuning job")
        emulator.go_offline()

    with meanwhile(blip), contextlib.redirect_stderr(heard), pytest.raises(JobNotServing) as info:
        provider.create(props(api_outage_tolerance_seconds=1))
    message = str(info.value)
    assert re.search(r"Vertex AI did not answer for \d+s, past api_outage_tolerance_seconds \(1s\)", message)
    assert "nothing was recorded" in message and "the next `pulumi up` adopts it" in message

    emulator.come_back()
    manual_clock.advance(10)
    with contextlib.redirect_stderr(heard):
        outs = provider.create(props(api_outage_tolerance_seconds=1)).outs
    assert outs["name"] == info.value.job_name and outs["state"] == "SUCCEEDED"
    assert f"adopted tuning job {info.value.job_name}" in heard.text
    assert len(all_jobs(emulator.url)) == 1


def test_ctrl_c_during_an_outage_stops_the_wait_at_once_and_leaves_the_job_running(
    emulator: Emulator, provider: TuningJobProvider, props: Callable[..., dict[str, Any]]
):
    heard = Heard()

    def blip_then_ctrl_c() -> None:
        heard.wait_for("submitted tuning job")
        emulator.go_offline()
        heard.wait_for("Vertex AI unreachable")
        cancellation.REQUESTED.set()  # what the engine's Cancel call does in the provider process

    try:
        # The window is long: only the cancellation can end this wait before it.
        with meanwhile(blip_then_ctrl_c), contextlib.redirect_stderr(heard), pytest.raises(JobNotServing) as info:
            provider.create(props(api_outage_tolerance_seconds=600))
    finally:
        cancellation.REQUESTED.clear()
    assert "pulumi is cancelling (Ctrl-C)" in str(info.value) and "keeps running in Vertex" in str(info.value)
    emulator.come_back()
    (job,) = all_jobs(emulator.url)
    assert job.live and job.name == info.value.job_name


def test_a_first_contact_that_finds_nothing_fails_at_once_naming_the_endpoint(
    emulator: Emulator, provider: TuningJobProvider, props: Callable[..., dict[str, Any]]
):
    checked_props = props()
    emulator.go_offline()
    with pytest.raises(Unreachable, match=f"nothing answers at {emulator.url}; start the emulator"):
        provider.create(checked_props)
    emulator.come_back()
    assert all_jobs(emulator.url) == []


def test_a_delete_rides_out_an_outage_from_its_first_look_up_and_removes_the_model(
    emulator: Emulator, manual_clock: ManualClock, provider: TuningJobProvider, props: Callable[..., dict[str, Any]]
):
    heard = Heard()

    def finish() -> None:
        heard.wait_for("submitted tuning job")
        manual_clock.advance(10)

    with meanwhile(finish), contextlib.redirect_stderr(heard):
        outs = provider.create(props(api_outage_tolerance_seconds=60)).outs

    def blip() -> None:
        heard.wait_for("Vertex AI unreachable")
        emulator.come_back()

    emulator.go_offline()  # before the delete's first call: its look-up of the job
    with meanwhile(blip), contextlib.redirect_stderr(heard):
        provider.delete(outs["name"], outs)

    assert heard.text.count("Vertex AI answers again after ") == 1
    assert f"deleted tuned model {outs['tuned_model_name']}" in heard.text
    assert f"deleted endpoint {outs['tuned_model_endpoint']}" in heard.text
