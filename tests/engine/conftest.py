"""Engine-test fixtures: an emulator whose jobs last long enough to be caught running, and a
local training file for the stack program to place in the emulator's bucket folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import SAMPLE_EXAMPLES, example_line
from tuning_provider.emulator import Emulator

# Long enough for a test to act on a running job, short enough for a quick `pulumi up`.
ENGINE_JOB_SECONDS = 4.0
# Longer than any test acting on a running job takes to act; a test that waits for such a
# job to finish waits this long.
SLOW_JOB_SECONDS = 15.0


@pytest.fixture
def emulator(emulator_factory: Callable[..., Emulator]) -> Emulator:
    return emulator_factory(job_duration=ENGINE_JOB_SECONDS)


@pytest.fixture
def slow_emulator(emulator_factory: Callable[..., Emulator]) -> Emulator:
    """Jobs that stay RUNNING for the whole test unless cancelled."""
    return emulator_factory(job_duration=SLOW_JOB_SECONDS)


@pytest.fixture
def write_local_training_file() -> Callable[[Path], Path]:
    def write(path: Path) -> Path:
        path.write_text("".join(example_line(q, a) + "\n" for q, a in SAMPLE_EXAMPLES), encoding="utf-8")
        return path

    return write
