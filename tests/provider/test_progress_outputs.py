"""The outputs Vertex reports about a job's progress and data: the detail state while it is
live, the epochs completed, the update time, and what it billed. Read through vertex (the
provider's own path) from an emulator on a manual clock."""

from __future__ import annotations

import pytest

from tests.provider.provider_helpers import LOCATION, PROJECT, inputs
from tuning_provider import vertex
from tuning_provider.spec import TuningJobSpec


@pytest.fixture
def emulator(emulator_factory, manual_clock):
    return emulator_factory(clock=manual_clock, job_duration=100.0)


def test_detail_state_epochs_and_update_time_follow_the_job(emulator, manual_clock, write_training_file):
    conn = vertex.connect(PROJECT, LOCATION, emulator.url)
    job, _ = vertex.submit_or_adopt(conn, TuningJobSpec.model_validate(inputs(write_training_file())))
    seen = []
    for _ in range(40):
        out = vertex.get_tuning_job(conn, job.name).outputs
        seen.append((out.state, out.tuning_state_detail, out.completed_epoch_count))
        if out.state == "SUCCEEDED":
            break
        manual_clock.advance(5)
    details = [detail for _, detail, _ in seen]
    assert details[0] == "WAITING_FOR_QUOTA" and "TUNING" in details and details[-1] is None
    epochs = [e for _, _, e in seen if e is not None]
    assert epochs == sorted(epochs) and epochs[-1] == 2
    assert out.update_time == out.end_time
    assert out.tuning_data_stats is not None and out.tuning_data_stats.billable_characters
    assert out.tuning_data_stats.truncated_examples is None and out.tuning_data_stats.dropped_example_reasons == []
