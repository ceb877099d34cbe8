"""A wait rides out the emulator going away and coming back (connections refused, as in a
network blip): vertex.wait_for_tuning_job with an outage_tolerant policy, windows of seconds."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.conftest import LOCATION, PROJECT
from tuning_provider import cancellation, vertex
from tuning_provider.emulator import Emulator
from tuning_provider.errors import ApiOutage
from tuning_provider.spec import TuningJobSpec


@pytest.fixture
def submitted(emulator: Emulator, write_dataset: Callable[..., str]) -> vertex.JobRecord:
    spec = TuningJobSpec(project=PROJECT, location=LOCATION, base_model="gemini-3.5-flash",
                         training_dataset_uri=write_dataset())
    job, adopted = vertex.submit_or_adopt(vertex.connect(PROJECT, LOCATION, emulator.url), spec)
    assert not adopted and job.live
    return job


def test_a_wait_rides_out_an_outage_shorter_than_its_window(emulator: Emulator, submitted: vertex.JobRecord):
    conn = vertex.connect(PROJECT, LOCATION, emulator.url)
    lines: list[str] = []

    def report(line: str) -> None:
        lines.append(line)
        if "unreachable" in line:
            emulator.come_back()  # the wait has met the outage: end it

    emulator.go_offline()
    job = vertex.wait_for_tuning_job(conn, submitted.name, timeout=60, poll_interval=0.1,
                                     on_progress=lambda _: None, retry=vertex.outage_tolerant(3, report))
    assert job.state == "SUCCEEDED" and job.name == submitted.name
    assert lines[0] == ("Vertex AI unreachable (connection refused), still retrying (up to 3 s); "
                        "the job is not affected")
    assert len(lines) == 2 and lines[1].startswith("Vertex AI answers again after ")


def test_an_outage_longer_than_the_window_fails_the_wait_and_the_job_runs_on(
    emulator: Emulator, submitted: vertex.JobRecord
):
    conn = vertex.connect(PROJECT, LOCATION, emulator.url)
    lines: list[str] = []
    emulator.go_offline()
    with pytest.raises(ApiOutage) as info:
        vertex.wait_for_tuning_job(conn, submitted.name, timeout=60, poll_interval=0.1,
                                   on_progress=lambda _: None, retry=vertex.outage_tolerant(2, lines.append))
    assert info.value.waited_seconds >= 2 and "longer than the 2s a wait rides out" in str(info.value)
    assert len(lines) == 1 and "unreachable" in lines[0]

    emulator.come_back()
    assert vertex.get_tuning_job(conn, submitted.name).name == submitted.name  # Vertex kept it


def test_ctrl_c_during_an_outage_stops_the_wait_at_its_first_pause(emulator: Emulator, submitted: vertex.JobRecord):
    conn = vertex.connect(PROJECT, LOCATION, emulator.url)
    pauses: list[float] = []

    def cancelled(seconds: float) -> None:  # cancellation.sleep once pulumi has asked to cancel
        pauses.append(seconds)
        raise cancellation.Cancelled("pulumi is cancelling the update")

    emulator.go_offline()
    with pytest.raises(cancellation.Cancelled):
        vertex.wait_for_tuning_job(conn, submitted.name, timeout=60, poll_interval=0.1, on_progress=lambda _: None,
                                   retry=vertex.outage_tolerant(600, lambda _: None, sleep=cancelled))
    assert len(pauses) == 1
