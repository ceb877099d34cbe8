"""The providers the provider tests drive (tests/provider/provider_helpers.py makes them), and
their training data."""

from __future__ import annotations

import pytest

from tests.provider.provider_helpers import AFTER_THE_2_5_RETIREMENT, BEFORE_THE_2_5_RETIREMENT, make_provider
from tuning_provider.emulator import Emulator
from tuning_provider.provider import TuningJobProvider


@pytest.fixture
def provider(emulator: Emulator) -> TuningJobProvider:
    return make_provider(emulator.url, today=AFTER_THE_2_5_RETIREMENT)


@pytest.fixture
def provider_before_the_2_5_retirement(emulator: Emulator) -> TuningJobProvider:
    return make_provider(emulator.url, today=BEFORE_THE_2_5_RETIREMENT)


@pytest.fixture
def slow_provider(emulator_factory) -> TuningJobProvider:
    """Against an emulator whose jobs run long enough for a test to act on them."""
    return make_provider(emulator_factory(job_duration=60.0).url)


@pytest.fixture
def train_uri(write_training_file) -> str:
    return write_training_file()
