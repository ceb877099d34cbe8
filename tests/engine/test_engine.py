"""The real pulumi CLI on the local stack program, against the emulator.

What provider-method tests cannot see: pickling of the provider into state, the provider
process the engine starts, the engine's diffs and previews, outputs, refresh and destroy,
and an update killed half-way.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from pulumi import automation as auto

import stacks
from stacks.engine import ROOT, offline_env, recover_interrupted_creates, select_stack
from tuning_provider import vertex
from tuning_provider.emulator import Emulator

pytestmark = pytest.mark.engine

STACK = "enginetest"
PROJECT, LOCATION = "engine-project", "us-central1"


class Project:
    """A copy of the project's Pulumi.yaml with one test stack, its own state backend and
    its own emulator; `config` edits rewrite stacks/Pulumi.<stack>.yaml."""

    def __init__(self, tmp_path: Path, emulator: Emulator, gcs_dir: Path, train: Path) -> None:
        self.dir = tmp_path / "project"
        (self.dir / "stacks").mkdir(parents=True)
        (self.dir / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
        self.emulator = emulator
        self.env = offline_env(ROOT, state_dir=tmp_path / "state")
        self.config: dict[str, Any] = {
            "tuning:apiEndpoint": emulator.url,
            "tuning:project": PROJECT,
            "tuning:region": LOCATION,
            "tuning:trainingData": str(train),
            "tuning:localGcsDir": str(gcs_dir),
            "tuning:namePrefix": "engine",
            "tuning:job": {
                "base_model": "gemini-2.5-flash",
                "epoch_count": 2,
                "adapter_size": 4,
                "poll_interval_seconds": 0.5,
                "wait_timeout_seconds": 120,
            },
        }
        self.write()

    def write(self) -> None:
        path = self.dir / "stacks" / f"Pulumi.{STACK}.yaml"
        path.write_text(yaml.safe_dump({"config": self.config}))

    def set_job(self, **settings: Any) -> None:
        self.config["tuning:job"].update(settings)
        self.write()

    def stack(self) -> auto.Stack:
        return select_stack(STACK, program=stacks.run, work_dir=self.dir, env=self.env)

    def jobs(self) -> list[vertex.JobRecord]:
        return list(vertex.list_tuning_jobs(vertex.Connection(PROJECT, LOCATION, self.emulator.url)))


@pytest.fixture
def project(tmp_path: Path, emulator: Emulator, gcs_dir: Path, write_local_training_file) -> Project:
    return Project(tmp_path, emulator, gcs_dir, write_local_training_file(tmp_path / "train.jsonl"))


@pytest.fixture
def running_project(tmp_path: Path, slow_emulator: Emulator, gcs_dir: Path, write_local_training_file) -> Project:
    """A project whose jobs are still running when the test acts on them."""
    return Project(tmp_path, slow_emulator, gcs_dir, write_local_training_file(tmp_path / "train.jsonl"))


def outputs(stack: auto.Stack) -> dict[str, Any]:
    return {k: v.value for k, v in stack.outputs().items()}


def job_state(stack: auto.Stack) -> dict[str, Any]:
    """The TuningJob's outputs as recorded in the stack's state (refresh updates these; stack
    outputs are recomputed only by `up`)."""
    resources = stack.export_stack().deployment["resources"]
    (job,) = [r for r in resources if r["type"].endswith(":TuningJob")]
    return job["outputs"]


def test_up_exports_the_tuned_model_and_a_second_up_changes_nothing(project):
    stack = project.stack()
    result = stack.up()
    assert result.summary.result == "succeeded"
    out = outputs(stack)
    assert out["tuningJobState"] == "SUCCEEDED"
    assert out["tuningJobName"].startswith(f"projects/{PROJECT}/locations/{LOCATION}/tuningJobs/")
    assert out["tunedModelName"] and out["tunedModelEndpoint"] and out["experiment"]
    assert [c["epoch"] for c in out["checkpoints"]] == [1, 2]
    again = stack.up()
    assert again.summary.resource_changes == {"same": 2}
    assert len(project.jobs()) == 1


def test_preview_shows_replace_for_epochs_and_update_for_wait_settings_then_up_applies(project):
    stack = project.stack()
    stack.up()
    first = outputs(stack)

    project.set_job(wait_timeout_seconds=600)
    preview = stack.preview(diff=True)
    assert preview.change_summary == {"same": 1, "update": 1}
    assert "wait_timeout_seconds" in preview.stdout
    stack.up()
    assert outputs(stack)["tuningJobName"] == first["tuningJobName"]
    assert len(project.jobs()) == 1

    project.set_job(epoch_count=3)
    preview = stack.preview(diff=True)
    assert preview.change_summary == {"same": 1, "replace": 1}
    assert "epoch_count" in preview.stdout and "2 => 3" in preview.stdout
    stack.up()
    second = outputs(stack)
    assert second["tuningJobName"] != first["tuningJobName"]
    assert [c["epoch"] for c in second["checkpoints"]] == [1, 2, 3]
    # The replaced job's tuned model was removed with its endpoints.
    client = vertex.Connection(PROJECT, LOCATION, project.emulator.url).client()
    with pytest.raises(Exception, match="404"):
        client.models.get(model=first["tunedModelName"].split("@")[0])


def test_refresh_shows_a_cancel_made_outside_pulumi_and_up_runs_the_job_again(running_project):
    project = running_project
    project.set_job(wait_for_completion=False)
    stack = project.stack()
    stack.up()
    name = outputs(stack)["tuningJobName"]
    conn = vertex.Connection(PROJECT, LOCATION, project.emulator.url)
    vertex.cancel_tuning_job(conn, name)

    refresh = stack.refresh()
    assert refresh.summary.resource_changes.get("update") == 1
    assert job_state(stack)["state"] == "CANCELLED"
    assert stack.preview().change_summary.get("replace") == 1
    stack.up()
    out = outputs(stack)
    assert out["tuningJobName"] != name and out["tuningJobState"] in {"PENDING", "QUEUED", "RUNNING"}
    assert len(project.jobs()) == 2


def test_destroy_cancels_a_running_job(running_project):
    project = running_project
    project.set_job(wait_for_completion=False)
    stack = project.stack()
    stack.up()
    name = outputs(stack)["tuningJobName"]
    stack.destroy()
    (job,) = project.jobs()
    assert (job.name, job.state) == (name, "CANCELLED")


def test_destroy_removes_the_tuned_model(project):
    stack = project.stack()
    stack.up()
    model = outputs(stack)["tunedModelName"].split("@")[0]
    stack.destroy()
    client = vertex.Connection(PROJECT, LOCATION, project.emulator.url).client()
    with pytest.raises(Exception, match="404"):
        client.models.get(model=model)


def test_bad_input_fails_preview_with_the_check_message_and_creates_nothing(project):
    project.set_job(adapter_size=32)
    with pytest.raises(auto.errors.CommandError) as info:
        project.stack().preview()
    message = str(info.value)
    assert "adapter_size" in message and "supports adapter sizes 1, 2, 4, 8, 16, not 32" in message
    assert project.jobs() == []


def test_bad_local_dataset_fails_preview_with_the_line_and_creates_nothing(project, tmp_path):
    bad = tmp_path / "bad.jsonl"
    lines = Path(project.config["tuning:trainingData"]).read_text().splitlines()
    lines[2] = '{"contents": [{"role": "user", "parts": [{"text": "hi"}]}, {"role": "user", "parts": [{"text": "?"}]}]}'
    bad.write_text("\n".join(lines) + "\n")
    project.config["tuning:trainingData"] = str(bad)
    project.write()
    with pytest.raises(auto.errors.CommandError) as info:
        project.stack().preview()
    message = str(info.value)
    assert "1 bad line in the training data (tuning:trainingData)" in message
    assert "line 3: contents[1] has role 'user' right after another 'user' turn" in message
    assert "Traceback" not in message
    assert project.jobs() == []


def test_bad_stack_config_names_the_key(project):
    project.config["tuning:epochs"] = 3
    project.write()
    with pytest.raises(auto.errors.CommandError) as info:
        project.stack().preview()
    assert "tuning:epochs" in str(info.value) and "Traceback" not in str(info.value)


def test_up_killed_while_waiting_then_up_again_ends_with_one_job(running_project):
    project = running_project
    project.set_job(wait_timeout_seconds=120)
    driver = textwrap.dedent(f"""
        import json, sys
        from pathlib import Path
        import stacks
        from stacks.engine import select_stack
        env = json.loads({json.dumps(json.dumps(project.env))})
        select_stack({STACK!r}, program=stacks.run, work_dir=Path({str(project.dir)!r}), env=env).up()
    """)
    process = subprocess.Popen(
        [sys.executable, "-c", driver], cwd=ROOT, env={**os.environ, **project.env},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not project.jobs():  # the job is submitted and being waited on
            assert process.poll() is None, "pulumi up ended before it was killed"
            assert time.monotonic() < deadline, "no job was submitted"
            time.sleep(0.2)
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # the CLI, the program and the provider
        process.wait()
    (submitted,) = project.jobs()
    assert submitted.live

    # Recovery, as `make up` does it: the dead process's lock is released, the pending
    # TuningJob create is cleared (`pulumi refresh --clear-pending-creates`), and `pulumi up`
    # creates again, which adopts the job by its fingerprint label.
    stack = project.stack()
    urn = f"urn:pulumi:{STACK}::tuning::pulumi-python:dynamic/vertex:TuningJob::engine-job"
    assert recover_interrupted_creates(stack) == [urn]
    stack.up()
    out = outputs(stack)
    assert out["tuningJobName"] == submitted.name and out["tuningJobState"] == "SUCCEEDED"
    assert len(project.jobs()) == 1
    assert not stack.export_stack().deployment.get("pending_operations")
