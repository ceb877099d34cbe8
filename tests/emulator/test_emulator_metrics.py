"""The training metrics of a tuning job, read as the provider will read them: GetTuningJob ->
experiment -> MetadataService.GetContext -> backing TensorBoard -> ListTensorboardTimeSeries
on the run -> BatchReadTensorboardTimeSeriesData, with aiplatform_v1's REST clients. The
series grow step by step while the job runs and are complete once it has SUCCEEDED."""

from __future__ import annotations

import pytest
from google.cloud import aiplatform_v1 as v1
from google.genai import types

from tests.aiplatform_reader import read_metrics_with_aiplatform
from tests.conftest import SAMPLE_EXAMPLES
from tuning_provider.emulator.vertex.tuning_jobs import BATCH_SIZE

TRAIN = ("/train_total_loss", "/train_fraction_of_correct_next_step_preds", "/train_num_predictions")
EVAL = ("/eval_total_loss", "/eval_fraction_of_correct_next_step_preds", "/eval_num_predictions")
DURATION = 100.0
STEPS_PER_EPOCH = -(-len(SAMPLE_EXAMPLES) // BATCH_SIZE)


@pytest.fixture
def emulator(emulator_factory, manual_clock):
    return emulator_factory(clock=manual_clock, job_duration=DURATION)


@pytest.fixture
def read_metrics(emulator):
    """{series display name: [(step, value), ...]} of a job, read the provider's way (from
    `target`, another emulator, if given)."""

    def read(job_name, target=None):
        return read_metrics_with_aiplatform(target or emulator, job_name)

    return read


def test_series_grow_while_running_and_are_complete_at_succeeded(
    genai_client, start_tuning_job, write_dataset, manual_clock, read_metrics
):
    job = start_tuning_job(genai_client, write_dataset(), epoch_count=3,
                           validation_dataset=types.TuningValidationDataset(gcs_uri=write_dataset("val.jsonl")))
    total = STEPS_PER_EPOCH * 3
    assert genai_client.tunings.get(name=job.name).experiment is None  # PENDING: no experiment yet

    manual_clock.advance(DURATION * 0.1)  # just started
    assert {name: len(points) for name, points in read_metrics(job.name).items()} == dict.fromkeys(TRAIN + EVAL, 0)

    manual_clock.advance(DURATION * 0.45)  # half way through training
    halfway = read_metrics(job.name)
    done_steps = len(halfway["/train_total_loss"])
    assert 0 < done_steps < total
    assert [s for s, _ in halfway["/train_total_loss"]] == list(range(1, done_steps + 1))
    assert len(halfway["/eval_total_loss"]) == done_steps // STEPS_PER_EPOCH

    manual_clock.advance(DURATION * 0.45)  # ended
    assert genai_client.tunings.get(name=job.name).state == types.JobState.JOB_STATE_SUCCEEDED
    final = read_metrics(job.name)
    assert [s for s, _ in final["/train_total_loss"]] == list(range(1, total + 1))
    assert [s for s, _ in final["/eval_total_loss"]] == [STEPS_PER_EPOCH * e for e in (1, 2, 3)]
    assert final["/train_total_loss"][:done_steps] == halfway["/train_total_loss"]  # history never changes


def test_loss_falls_accuracy_rises_predictions_count_tokens(genai_client, start_tuning_job, write_dataset,
                                                            manual_clock, read_metrics):
    job = start_tuning_job(genai_client, write_dataset(), epoch_count=5)
    manual_clock.advance(DURATION)
    metrics = read_metrics(job.name)
    assert set(metrics) == set(TRAIN)  # no validation set, no eval series
    loss = [v for _, v in metrics["/train_total_loss"]]
    accuracy = [v for _, v in metrics["/train_fraction_of_correct_next_step_preds"]]
    assert loss[-1] < loss[0] / 2 and min(loss) > 0
    assert accuracy[-1] > accuracy[0] and all(0 <= a <= 1 for a in accuracy)
    first_batch_tokens = sum(-(-len(answer) // 4) for _, answer in SAMPLE_EXAMPLES[:BATCH_SIZE])
    assert metrics["/train_num_predictions"][0][1] == first_batch_tokens


def test_the_same_data_gives_the_same_curves(genai_client, start_tuning_job, write_dataset, manual_clock,
                                             read_metrics, sample_examples):
    first = start_tuning_job(genai_client, write_dataset())
    second = start_tuning_job(genai_client, write_dataset("copy.jsonl"))
    other = start_tuning_job(genai_client, write_dataset("other.jsonl", list(reversed(sample_examples))[:9]))
    manual_clock.advance(DURATION)
    assert read_metrics(first.name) == read_metrics(second.name)
    assert read_metrics(first.name)["/train_total_loss"] != read_metrics(other.name)["/train_total_loss"]


def test_detail_states_and_completed_epochs_follow_the_timeline(genai_client, start_tuning_job, write_dataset,
                                                                manual_clock):
    job = start_tuning_job(genai_client, write_dataset(), epoch_count=2)
    seen = []
    for _ in range(21):
        current = genai_client.tunings.get(name=job.name)
        epochs = current.tuning_job_metadata.completed_epoch_count if current.tuning_job_metadata else None
        seen.append((current.state.value, current.tuning_job_state and current.tuning_job_state.value, epochs))
        manual_clock.advance(DURATION / 20)
    assert seen[0] == ("JOB_STATE_PENDING", "TUNING_JOB_STATE_WAITING_FOR_QUOTA", None)
    assert seen[1] == ("JOB_STATE_PENDING", "TUNING_JOB_STATE_PROCESSING_DATASET", None)
    running = [s for s in seen if s[0] == "JOB_STATE_RUNNING"]
    assert running[0] == ("JOB_STATE_RUNNING", "TUNING_JOB_STATE_TUNING", 0)
    assert running[-1] == ("JOB_STATE_RUNNING", "TUNING_JOB_STATE_POST_PROCESSING", 2)
    assert [e for _, _, e in running] == sorted(e for _, _, e in running)
    assert seen[-1] == ("JOB_STATE_SUCCEEDED", None, 2)


def test_a_cancelled_job_keeps_the_steps_it_made(genai_client, start_tuning_job, write_dataset, manual_clock,
                                                 read_metrics, gapic):
    job = start_tuning_job(genai_client, write_dataset(), epoch_count=4)
    manual_clock.advance(DURATION * 0.5)
    genai_client.tunings.cancel(name=job.name)
    before = read_metrics(job.name)
    manual_clock.advance(DURATION)
    after = read_metrics(job.name)
    assert after == before and 0 < len(after["/train_total_loss"]) < STEPS_PER_EPOCH * 4
    experiment = genai_client.tunings.get(name=job.name).experiment
    run = gapic(v1.MetadataServiceClient).get_context(name=f"{experiment}-tuning-run")
    assert run.metadata["_state"] == "CANCELLED"


def test_a_failed_job_has_no_experiment(genai_client, start_tuning_job, manual_clock, gapic, tuning_parent):
    job = start_tuning_job(genai_client, "gs://tuning-data/missing.jsonl")
    manual_clock.advance(DURATION)
    failed = genai_client.tunings.get(name=job.name)
    assert failed.state == types.JobState.JOB_STATE_FAILED and failed.experiment is None
    contexts = gapic(v1.MetadataServiceClient).list_contexts(parent=f"{tuning_parent}/metadataStores/default")
    assert list(contexts) == []


def test_reads_are_capped_at_1000_points_keeping_the_last(genai_client, start_tuning_job, write_dataset,
                                                          manual_clock, gapic, sample_examples):
    many = [(f"question {i} {q}", a) for i in range(100) for q, a in sample_examples]  # 1,200 examples
    job = start_tuning_job(genai_client, write_dataset("many.jsonl", many), epoch_count=10)
    manual_clock.advance(DURATION)
    done = genai_client.tunings.get(name=job.name)
    total = done.tuning_data_stats.supervised_tuning_data_stats.tuning_step_count
    assert total == 1500
    experiment = gapic(v1.MetadataServiceClient).get_context(name=done.experiment)
    tensorboard = experiment.metadata["backing_tensorboard_resource"]
    run = f"{tensorboard}/experiments/{done.experiment.rsplit('/', 1)[1]}/runs/tuning-run"
    boards = gapic(v1.TensorboardServiceClient)
    loss = next(s for s in boards.list_tensorboard_time_series(parent=run) if s.display_name == TRAIN[0])
    values = boards.read_tensorboard_time_series_data(tensorboard_time_series=loss.name).time_series_data.values
    assert len(values) == 1000 and values[0].step == 1 and values[-1].step == total


def test_metrics_are_the_same_after_a_restart(emulator, emulator_factory, manual_clock, genai_client,
                                              start_tuning_job, write_dataset, read_metrics):
    job = start_tuning_job(genai_client, write_dataset(), epoch_count=2)
    manual_clock.advance(DURATION * 0.6)
    before = read_metrics(job.name)
    emulator.stop()
    again = emulator_factory(clock=manual_clock, job_duration=DURATION)  # the same state directory
    assert read_metrics(job.name, again) == before
    manual_clock.advance(DURATION)
    assert len(read_metrics(job.name, again)["/train_total_loss"]) == STEPS_PER_EPOCH * 2
