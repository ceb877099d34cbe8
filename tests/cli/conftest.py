"""Fixtures shared by the command-line tests: a clean environment and an emulator on a
manual clock, so job states change only when a test moves the clock."""

from __future__ import annotations

from pathlib import Path

import pytest

from tuning_provider.cli import main

PROJECT, LOCATION = "test-project", "us-central1"
PARENT = f"projects/{PROJECT}/locations/{LOCATION}"
ROOT = Path(__file__).resolve().parents[2]
CONNECTION_ENV = ("TUNING_PROJECT", "TUNING_LOCATION", "TUNING_API_ENDPOINT", "GOOGLE_CLOUD_PROJECT",
                  "GOOGLE_CLOUD_LOCATION")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CONNECTION_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def emu(emulator_factory, manual_clock):
    return emulator_factory(clock=manual_clock)


@pytest.fixture
def cli(emu, capsys):
    """Run the command line against the emulator: (exit code, stdout, stderr)."""

    def run(*argv: str, connect: bool = True) -> tuple[int, str, str]:
        flags = ["--project", PROJECT, "--location", LOCATION, "--api-endpoint", emu.url] if connect else []
        code = main([*argv, *flags])
        out, err = capsys.readouterr()
        return code, out, err

    return run
