"""Fixtures shared by the command-line tests: a clean environment and an emulator on a
manual clock, so job states change only when a test moves the clock. The command line reads
"now" from the same clock (`main(clock=...)`): durations are exact, whatever the real date."""

from __future__ import annotations

from pathlib import Path

import pytest
from google.genai import types

from tuning_provider.cli import main

PROJECT, LOCATION = "test-project", "us-central1"
PARENT = f"projects/{PROJECT}/locations/{LOCATION}"
ROOT = Path(__file__).resolve().parents[2]
# A job's length on the manual clock: PENDING for its first 10 s, RUNNING until 100 s, then
# SUCCEEDED (the emulator's timeline), so that a running job's time so far shows in whole seconds.
JOB_SECONDS = 100.0
CONNECTION_ENV = ("TUNING_PROJECT", "TUNING_LOCATION", "TUNING_API_ENDPOINT", "GOOGLE_CLOUD_PROJECT",
                  "GOOGLE_CLOUD_LOCATION")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CONNECTION_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def emu(emulator_factory, manual_clock):
    return emulator_factory(clock=manual_clock, job_duration=JOB_SECONDS)


@pytest.fixture
def cli(emu, capsys, manual_clock):
    """Run the command line against the emulator, on its clock: (exit code, stdout, stderr)."""

    def run(*argv: str, connect: bool = True) -> tuple[int, str, str]:
        flags = ["--project", PROJECT, "--location", LOCATION, "--api-endpoint", emu.url] if connect else []
        code = main([*argv, *flags], clock=manual_clock)
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def client(emu, make_genai_client):
    """google-genai against the emulator: how a test starts jobs for the command line to see."""
    return make_genai_client(emu)


@pytest.fixture
def train_uri(write_dataset) -> str:
    return write_dataset()


def job_id(job: types.TuningJob) -> str:
    return job.name.rsplit("/", 1)[-1]
