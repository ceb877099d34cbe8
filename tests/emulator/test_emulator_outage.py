"""The emulator goes away and comes back, as Vertex behind a network blip: while offline its
port refuses connections (not an HTTP error); back, it serves the same state on the same port."""

from __future__ import annotations

import socket
from urllib.parse import urlparse

import pytest

from tests.conftest import LOCATION, PROJECT
from tuning_provider import vertex
from tuning_provider.emulator import Emulator
from tuning_provider.spec import TuningJobSpec


def refuses(url: str) -> bool:
    parsed = urlparse(url)
    try:
        socket.create_connection((parsed.hostname, parsed.port), timeout=5).close()
    except ConnectionRefusedError:
        return True
    return False


def test_offline_refuses_connections_and_back_serves_the_same_jobs_on_the_same_port(
    emulator: Emulator, write_dataset
):
    conn = vertex.connect(PROJECT, LOCATION, emulator.url)
    spec = TuningJobSpec(project=PROJECT, location=LOCATION, base_model="gemini-3.5-flash",
                         training_dataset_uri=write_dataset())
    job, _ = vertex.submit_or_adopt(conn, spec)
    url = emulator.url

    emulator.go_offline()
    assert emulator.url == url and refuses(url)

    emulator.come_back()
    assert emulator.url == url and not refuses(url)
    assert vertex.get_tuning_job(conn, job.name).name == job.name


def test_coming_back_needs_going_offline_first(emulator: Emulator):
    with pytest.raises(RuntimeError, match="not offline"):
        emulator.come_back()


def test_an_offline_emulator_stops_cleanly(emulator: Emulator):
    emulator.go_offline()
    emulator.stop()
    with pytest.raises(RuntimeError, match="not running"):
        _ = emulator.url
