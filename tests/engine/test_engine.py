"""The plain `pulumi` CLI on the local stack program, against the emulator, as users type it.

What provider-method tests cannot see: the language host running the program, the provider
pickled into state and run in the engine's plugin process, the engine's diffs and previews,
stack outputs, refresh and destroy, and updates that fail or are interrupted half-way.

Every test that deploys checks the serving invariant the way a serving app lives it: after
each `pulumi up`, the endpoint named in the stack outputs answers a question; or the up
failed and the endpoint of the previous outputs still answers. The tests marked @BOTH_FACES
run twice: with the Python program (the dynamic provider) and with a YAML program (the
provider plugin), the same scenario through either face over the one core.
"""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path

import pytest
from google.genai import errors as genai_errors

from tests.conftest import SAMPLE_EXAMPLES
from tests.engine.conftest import BOTH_FACES, STACK, URN, FreezableClock, Project, kill_tree, write_training_file
from tuning_provider import vertex
from tuning_provider.errors import NotFound
from tuning_provider.vertex import client as transport

pytestmark = pytest.mark.engine


def wait_for(condition, what: str, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def live_job(project: Project, other_than: str | None = None) -> vertex.JobRecord | None:
    return next((j for j in project.jobs() if j.live and j.name != other_than), None)


def model_exists(project: Project, model: str) -> bool:
    client = transport.vertex_client(project.conn)
    try:
        client.models.get(model=model.split("@")[0])
    except genai_errors.ClientError as exc:
        if exc.code == 404:
            return False
        raise
    finally:
        client.close()
    return True


@BOTH_FACES
def test_up_serves_a_model_and_a_second_up_changes_nothing(project):
    up = project.pulumi("up", "--yes")
    # Progress and the cost line are attributed to the TuningJob (the engine's Log RPC).
    attributed = up.stdout.split(f"{project.resource_type} (engine-job):", 1)[1]
    assert "~422 training tokens (211 x 2 epochs)" in attributed
    assert "engine-job: SUCCEEDED epoch 2/2, step 4/4, train loss" in attributed
    # The cost line once per `up`: in its preview, not again in its update (another provider
    # process, started by the same CLI process).
    preview_phase, update_phase = up.stdout.split("Updating (", 1)
    assert "~422 training tokens (211 x 2 epochs)" in preview_phase
    assert "training tokens" not in update_phase
    # The provider found the server's layout (tuning_provider/pulumi_internals.py): no note.
    assert "pulumi_internals.py" not in up.stdout + up.stderr
    out = project.outputs()
    assert out["tuningJobState"] == "SUCCEEDED"
    assert out["tuningJobName"].startswith("projects/engine-project/locations/us-central1/tuningJobs/")
    assert out["tunedModelName"] and out["experiment"]
    assert [c["epoch"] for c in out["checkpoints"]] == [1, 2]
    assert "Paris" in project.ask(out)
    # No validation data: the train figures only.
    metrics = out["metrics"]
    assert metrics["step"] > 0 and metrics["epoch"] == 2 and 0 < metrics["trainTokenAccuracy"] <= 1
    assert metrics["trainLoss"] > 0 and metrics.get("evalLoss") is None
    # Nor do the stack outputs change, those null in the state included (estimatedCostUsd with no
    # price on record, tuningStateDetail of an ended job): the Python program knows them as null.
    unchanged = project.pulumi("preview", "--expect-no-changes")
    assert "Outputs:" not in unchanged.stdout and "[unknown]" not in unchanged.stdout
    # The second up finds nothing to change either (it fails otherwise), and it changes nothing.
    again = project.pulumi("up", "--yes", "--expect-no-changes")
    assert "2 unchanged" in again.stdout
    assert len(project.jobs()) == 1


@BOTH_FACES
def test_preview_shows_replace_for_epochs_and_update_for_wait_settings_then_up_applies(project):
    first = project.deploy()

    project.set_job(wait_timeout_seconds=600)
    preview = project.pulumi("preview", "--diff")
    assert f"~ {project.resource_type}: (update)" in preview.stdout
    assert project.name_of("wait_timeout_seconds") in preview.stdout and "1 to update" in preview.stdout
    project.pulumi("up", "--yes")
    assert project.outputs()["tuningJobName"] == first["tuningJobName"]
    assert len(project.jobs()) == 1

    project.set_job(epoch_count=3)
    preview = project.pulumi("preview", "--diff")
    assert f"+-{project.resource_type}: (replace)" in preview.stdout
    assert re.search(rf"{project.name_of('epoch_count')}\s*: 2 => 3", preview.stdout)
    # What the replacement will report is not known yet: its stack outputs show as changing.
    stack_outputs = preview.stdout.split("--outputs:--", 1)[1]
    assert re.search(r"\+ tuningStateDetail\s*: \[unknown\]", stack_outputs)
    assert "~633 training tokens (211 x 3 epochs)" in preview.stderr  # where --diff shows the engine's log lines
    # Every command shows the cost line again: the `up` after the preview, in its own preview.
    up = project.pulumi("up", "--yes")
    preview_phase, update_phase = up.stdout.split("Updating (", 1)
    assert "~633 training tokens (211 x 3 epochs)" in preview_phase and "training tokens" not in update_phase
    # Once on the TuningJob's row and once in the Diagnostics, not on each of a replace's rows.
    assert preview_phase.count("~633 training tokens (211 x 3 epochs)") == 2
    assert f"delete original [diff: ~{project.name_of('epoch_count')}]; checked" in preview_phase
    second = project.outputs()
    assert second["tuningJobName"] != first["tuningJobName"]
    assert [c["epoch"] for c in second["checkpoints"]] == [1, 2, 3]
    assert project.ask(second)
    # The replaced job's tuned model was removed with its endpoints, once its successor served.
    assert not model_exists(project, first["tunedModelName"])


@BOTH_FACES
def test_destroy_removes_the_model_and_its_endpoints_and_the_next_up_runs_a_new_job(project):
    first = project.deploy()
    project.pulumi("destroy", "--yes")
    assert not model_exists(project, first["tunedModelName"])
    with pytest.raises(NotFound):
        vertex.generate_content(project.conn, first["tunedModelEndpoint"], "hello")

    up = project.pulumi("up", "--yes")
    second = project.outputs()
    assert second["tuningJobName"] != first["tuningJobName"]
    assert f"not adopting tuning job {first['tuningJobName']}" in up.stdout
    assert "was deleted" in up.stdout
    assert "Paris" in project.ask(second)
    assert len(project.jobs()) == 2


@BOTH_FACES
def test_change_a_setting_and_change_it_back_keeps_a_model_serving(project):
    first = project.deploy()
    project.set_job(epoch_count=3)
    project.pulumi("up", "--yes")
    second = project.outputs()
    assert project.ask(second)

    project.set_job(epoch_count=2)
    project.pulumi("up", "--yes")
    third = project.outputs()
    # Back to the first settings: their job's model was deleted by the first replacement, so
    # a new job runs; the intermediate model is deleted only after that one serves.
    assert third["tuningJobName"] not in (first["tuningJobName"], second["tuningJobName"])
    assert "Paris" in project.ask(third)
    assert not model_exists(project, second["tunedModelName"])
    assert len(project.jobs()) == 3


@BOTH_FACES
def test_a_replacement_cancelled_while_running_fails_the_up_and_the_old_model_keeps_serving(
    project: Project, clock: FreezableClock
):
    before = project.deploy()

    project.set_job(epoch_count=3)
    clock.freeze()  # the replacement stays PENDING until the test has cancelled it
    up = project.start_pulumi("up", "--yes")
    wait_for(lambda: live_job(project, before["tuningJobName"]) is not None, "the replacement job")
    replacement = live_job(project, before["tuningJobName"])
    assert replacement is not None
    vertex.request_cancel(project.conn, replacement)
    output, _ = up.communicate(timeout=120)

    assert up.returncode != 0
    assert f"tuning job {replacement.name} ended CANCELLED" in output
    assert "keeps serving" in output
    assert project.outputs() == before
    assert "Paris" in project.ask(before)


def test_a_replacement_that_fails_fails_the_up_with_vertex_reason_and_the_old_model_keeps_serving(
    project: Project, tmp_path: Path
):
    before = project.deploy()
    # New training data placed where the emulator does not read: Vertex cannot find the file.
    other = write_training_file(tmp_path / "other.jsonl", SAMPLE_EXAMPLES[::-1])
    project.config.update({"tuning:trainingData": str(other), "tuning:localGcsDir": str(tmp_path / "elsewhere")})
    project.write()

    up = project.pulumi("up", "--yes", check=False)
    assert up.returncode != 0
    assert "ended FAILED: Failed to read the training dataset" in up.stdout and "does not exist" in up.stdout
    assert "KeyboardInterrupt" not in up.stdout
    assert project.outputs() == before
    assert "Paris" in project.ask(before)


@BOTH_FACES
def test_a_replacement_reaching_the_wait_bound_fails_and_the_next_up_adopts_it(
    project: Project, clock: FreezableClock
):
    before = project.deploy()

    project.set_job(epoch_count=3, wait_timeout_seconds=2)
    clock.freeze()
    up = project.pulumi("up", "--yes", check=False)
    assert up.returncode != 0
    assert f"{project.name_of('wait_timeout_seconds')} (2s) was reached" in up.stdout and "keeps serving" in up.stdout
    assert project.outputs() == before
    assert "Paris" in project.ask(before)
    (running,) = [j for j in project.jobs() if j.live]

    clock.resume()
    project.set_job(wait_timeout_seconds=120)
    up = project.pulumi("up", "--yes")
    after = project.outputs()
    assert after["tuningJobName"] == running.name and f"adopted tuning job {running.name}" in up.stdout
    assert project.ask(after)
    assert not model_exists(project, before["tunedModelName"])
    assert len(project.jobs()) == 2  # never paid twice


def test_without_waiting_a_replacement_fails_the_up_until_its_job_serves(project: Project, clock: FreezableClock):
    before = project.deploy()

    project.set_job(epoch_count=3, wait_for_completion=False)
    clock.freeze()
    up = project.pulumi("up", "--yes", check=False)
    assert up.returncode != 0 and "wait_for_completion is false" in up.stdout
    assert project.outputs() == before and project.ask(before)

    again = project.pulumi("up", "--yes", check=False)  # still running: no second job
    assert again.returncode != 0 and len(project.jobs()) == 2

    clock.resume()
    wait_for(lambda: live_job(project) is None, "the replacement to finish")
    project.pulumi("up", "--yes")
    after = project.outputs()
    assert after["tuningJobName"] != before["tuningJobName"] and project.ask(after)
    assert not model_exists(project, before["tunedModelName"])
    assert len(project.jobs()) == 2


@BOTH_FACES
def test_a_model_deleted_outside_pulumi_is_drift_for_refresh_and_up_runs_the_job_again(project: Project):
    before = project.deploy()
    job = vertex.get_tuning_job(project.conn, before["tuningJobName"])
    assert vertex.delete_tuned_model(project.conn, job).problems == ()
    with pytest.raises(NotFound):
        vertex.generate_content(project.conn, before["tunedModelEndpoint"], "hello")

    refresh = project.pulumi("refresh", "--yes")
    assert "1 updated" in refresh.stdout
    recorded = project.resource()
    assert recorded["state"] == "SUCCEEDED" and not recorded.get("tuned_model_endpoint")
    assert "was deleted outside Pulumi" in recorded["error"]
    # Refresh records what Vertex says in the resource's state; only `up` recomputes outputs.
    assert project.outputs() == before

    preview = project.pulumi("preview", "--diff")
    assert "(replace)" in preview.stdout
    project.pulumi("up", "--yes")
    after = project.outputs()
    assert after["tuningJobName"] != before["tuningJobName"]
    assert "Paris" in project.ask(after)


@BOTH_FACES
def test_ctrl_c_stops_waiting_at_once_and_the_next_up_adopts_the_running_job(project: Project, clock: FreezableClock):
    clock.freeze()
    up = project.start_pulumi("up", "--yes")
    wait_for(lambda: live_job(project) is not None, "the job to be submitted")
    up.send_signal(signal.SIGINT)  # the first Ctrl-C: pulumi cancels, and waits for steps in flight
    output, _ = up.communicate(timeout=60)

    assert up.returncode != 0
    assert "pulumi is cancelling (Ctrl-C)" in output and "keeps running in Vertex" in output
    (running,) = project.jobs()
    assert running.live  # the provider stopped waiting while the job still ran

    clock.resume()
    project.recovered_up_adopts(running)


def test_up_killed_while_waiting_then_recovered_ends_with_one_job(project: Project, clock: FreezableClock):
    clock.freeze()
    up = project.start_pulumi("up", "--yes")
    wait_for(lambda: live_job(project) is not None, "the job to be submitted")
    kill_tree(up)  # the CLI, the language host, the program and the provider, as a killed runner
    (submitted,) = project.jobs()
    assert submitted.live

    clock.resume()
    # Recovery, as `make up` does it: the dead process's lock is released, the pending
    # TuningJob create is cleared, and `pulumi up` creates again, adopting the job.
    locked = project.pulumi("up", "--yes", check=False)
    assert locked.returncode != 0 and "locked" in locked.stdout + locked.stderr
    recovery = project.recovered_up_adopts(submitted)
    assert recovery.creates == (URN,) and len(recovery.locks) == 1
    assert recovery.summary() == (f"stack {STACK}: released 1 stale lock and cleared 1 pending TuningJob create "
                                  "(the next `pulumi up` adopts the submitted job)")
    assert not project.state().get("pending_operations")
    assert project.urn in {r["urn"] for r in project.state()["resources"]}


@BOTH_FACES
def test_bad_input_fails_preview_with_the_check_message_and_creates_nothing(project):
    project.set_job(adapter_size=32)
    preview = project.pulumi("preview", check=False)
    assert preview.returncode != 0
    assert project.name_of("adapter_size") in preview.stdout
    assert "supports adapter sizes 1, 2, 4, 8, 16, not 32" in preview.stdout
    assert project.jobs() == []


def test_bad_local_dataset_fails_preview_with_the_line_and_creates_nothing(project, tmp_path):
    bad = tmp_path / "bad.jsonl"
    lines = Path(project.config["tuning:trainingData"]).read_text().splitlines()
    lines[2] = '{"contents": [{"role": "user", "parts": [{"text": "hi"}]}, {"role": "user", "parts": [{"text": "?"}]}]}'
    bad.write_text("\n".join(lines) + "\n")
    project.config["tuning:trainingData"] = str(bad)
    project.write()
    preview = project.pulumi("preview", check=False)
    assert preview.returncode != 0
    assert "1 bad line in the training data (tuning:trainingData)" in preview.stdout
    assert "line 3: contents[1] has role 'user' right after another 'user' turn" in preview.stdout
    assert "Traceback" not in preview.stdout + preview.stderr
    assert project.jobs() == []


def test_bad_stack_config_names_the_key(project):
    project.config["tuning:epochs"] = 3
    project.write()
    preview = project.pulumi("preview", check=False)
    assert preview.returncode != 0
    assert "tuning:epochs" in preview.stdout and "Traceback" not in preview.stdout + preview.stderr


def test_a_model_failing_the_quality_gate_never_serves_and_the_old_one_keeps_serving(
    project: Project, tmp_path: Path
):
    project.use_validation_data(write_training_file(tmp_path / "validation.jsonl", SAMPLE_EXAMPLES[:4]))
    before = project.deploy()
    metrics = before["metrics"]
    assert set(metrics) == {"trainLoss", "trainTokenAccuracy", "evalLoss", "evalTokenAccuracy", "step", "epoch"}
    assert all(isinstance(value, (int, float)) for value in metrics.values()), metrics
    assert metrics["epoch"] == 2 and 0 < metrics["evalTokenAccuracy"] < 0.99

    project.set_job(epoch_count=3, min_eval_token_accuracy=0.99)
    up = project.pulumi("up", "--yes", check=False)
    assert up.returncode != 0
    assert "failed the quality gate: eval token accuracy" in up.stdout
    assert f"below {project.name_of('min_eval_token_accuracy')} 0.99" in up.stdout
    assert "keeps serving" in up.stdout and "is kept, not deleted" in up.stdout
    assert project.outputs() == before and "Paris" in project.ask(before)
    (gated,) = [j for j in project.jobs() if j.name != before["tuningJobName"]]
    assert gated.state == "SUCCEEDED" and model_exists(project, gated.outputs.tuned_model_name or "")

    project.set_job(min_eval_token_accuracy=0.5)  # a threshold the same job meets: adopted, no new job
    up = project.pulumi("up", "--yes")
    after = project.outputs()
    assert after["tuningJobName"] == gated.name and f"adopted tuning job {gated.name}" in up.stdout
    assert after["metrics"]["epoch"] == 3 and "Paris" in project.ask(after)
    assert not model_exists(project, before["tunedModelName"])
    assert len(project.jobs()) == 2
