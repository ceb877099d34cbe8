"""A restarted emulator on the same state directory keeps every job, continues each job's
own timeline, and its tuned endpoints still answer. Time is a manual clock: no sleeping."""

from __future__ import annotations

import json
import sqlite3

from google.genai import types

from tuning_provider.emulator.server import DB_FILE_NAME


def test_a_running_job_continues_its_timeline_after_a_restart(
    emulator_factory, make_genai_client, manual_clock, start_tuning_job, write_dataset
):
    first = emulator_factory(job_duration=100, clock=manual_clock)
    job = start_tuning_job(make_genai_client(first), write_dataset())
    manual_clock.advance(50)
    assert make_genai_client(first).tunings.get(name=job.name).state == types.JobState.JOB_STATE_RUNNING
    first.stop()

    # A new emulator, another default duration: the job keeps its own 100 seconds.
    second = emulator_factory(job_duration=5, clock=manual_clock)
    client = make_genai_client(second)
    again = client.tunings.get(name=job.name)
    assert again.state == types.JobState.JOB_STATE_RUNNING
    assert again.create_time == job.create_time

    manual_clock.advance(50)
    done = client.tunings.get(name=job.name)
    assert done.state == types.JobState.JOB_STATE_SUCCEEDED
    assert (done.end_time - done.create_time).total_seconds() == 100


def test_jobs_models_and_answers_survive_a_restart(
    emulator_factory, make_genai_client, manual_clock, start_tuning_job, write_dataset
):
    first = emulator_factory(job_duration=10, clock=manual_clock)
    client = make_genai_client(first)
    job = start_tuning_job(client, write_dataset(), labels={"kept": "yes"})
    cancelled = start_tuning_job(client, write_dataset())
    client.tunings.cancel(name=cancelled.name)
    manual_clock.advance(10)
    tuned = client.tunings.get(name=job.name).tuned_model
    first.stop()

    client = make_genai_client(emulator_factory(job_duration=10, clock=manual_clock))
    assert client.tunings.get(name=job.name).tuned_model == tuned
    assert client.tunings.get(name=cancelled.name).state == types.JobState.JOB_STATE_CANCELLED
    assert [j.name for j in client.tunings.list(config={"filter": "labels.kept=yes"})] == [job.name]
    answer = client.models.generate_content(model=tuned.endpoint, contents="How many days are in a leap year?")
    assert answer.text == "A leap year has 366 days."


def test_models_appear_the_moment_their_job_succeeds(
    emulator_factory, make_genai_client, manual_clock, start_tuning_job, write_dataset, vertex_http
):
    emulator = emulator_factory(job_duration=10, clock=manual_clock)
    client = make_genai_client(emulator)
    job = start_tuning_job(client, write_dataset())
    manual_clock.advance(9.9)
    assert client.tunings.get(name=job.name).state == types.JobState.JOB_STATE_RUNNING
    manual_clock.advance(0.1)
    tuned = client.tunings.get(name=job.name).tuned_model
    status, _, model = vertex_http("GET", f"/v1/{tuned.model}", emulator=emulator)
    assert status == 200 and model["deployedModels"]


def test_states_follow_the_timeline(emulator_factory, make_genai_client, manual_clock, start_tuning_job, write_dataset):
    client = make_genai_client(emulator_factory(job_duration=10, clock=manual_clock))
    job = start_tuning_job(client, write_dataset())
    seen = []
    for _ in range(11):
        seen.append(client.tunings.get(name=job.name).state.value)
        manual_clock.advance(1)
    assert seen == ["JOB_STATE_PENDING"] + ["JOB_STATE_RUNNING"] * 9 + ["JOB_STATE_SUCCEEDED"]


def test_a_database_from_before_model_versions_is_carried_over(
    emulator_factory, make_genai_client, manual_clock, start_tuning_job, write_dataset, tmp_path
):
    first = emulator_factory(job_duration=10, clock=manual_clock)
    old_client = make_genai_client(first)
    job = start_tuning_job(old_client, write_dataset())
    manual_clock.advance(10)
    tuned = old_client.tunings.get(name=job.name).tuned_model
    first.stop()
    # Back to the tables an emulator wrote before model versions.
    db = sqlite3.connect(next(tmp_path.rglob(DB_FILE_NAME)))
    db.executescript("""
        CREATE TABLE models (parent TEXT NOT NULL, id TEXT NOT NULL, display_name TEXT NOT NULL,
            job_id TEXT NOT NULL, create_time REAL NOT NULL, PRIMARY KEY (parent, id));
        INSERT INTO models SELECT parent, id, display_name, job_id, create_time FROM model_versions;
        DROP TABLE model_versions; DROP TABLE model_last_versions;
        ALTER TABLE deployed_models DROP COLUMN model_version;
    """)
    for seq, plan in db.execute("SELECT seq, plan FROM tuning_jobs").fetchall():
        db.execute("UPDATE tuning_jobs SET plan = ? WHERE seq = ?",
                   (json.dumps({k: v for k, v in json.loads(plan).items() if k not in ("version", "newVersion")}), seq))
    db.commit()
    db.close()

    client = make_genai_client(emulator_factory(job_duration=10, clock=manual_clock))
    assert client.tunings.get(name=job.name).tuned_model == tuned
    assert client.models.get(model=tuned.model.split("@")[0]).version == "1"
    answer = client.models.generate_content(model=tuned.endpoint, contents="How many days are in a leap year?")
    assert answer.text == "A leap year has 366 days."
    further = start_tuning_job(client, write_dataset(), base_model=tuned.model)
    manual_clock.advance(10)
    assert client.tunings.get(name=further.name).tuned_model.model == tuned.model.replace("@1", "@2")
