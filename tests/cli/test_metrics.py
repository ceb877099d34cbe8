"""`jobs metrics` (table, sparkline, JSON, --plot) and `jobs delete-model` against the emulator
on a manual clock."""

from __future__ import annotations

import json

import pytest
from google.genai import types

from tests.cli.conftest import JOB_SECONDS, LOCATION, PROJECT
from tuning_provider import vertex
from tuning_provider.cli.metrics import sparkline


@pytest.fixture
def finished_job(emu, make_genai_client, write_dataset, start_tuning_job, manual_clock, sample_examples) -> str:
    client = make_genai_client(emu)
    job = start_tuning_job(client, write_dataset(), base_model="gemini-3.5-flash", epoch_count=3,
                           validation_dataset=types.TuningValidationDataset(
                               gcs_uri=write_dataset("val.jsonl", sample_examples[:4])))
    manual_clock.advance(JOB_SECONDS)
    return job.name.rsplit("/", 1)[-1]


def test_sparkline_scales_the_curve_into_eight_levels_and_a_width():
    assert sparkline([3, 2, 1, 0]) == "█▆▃▁"
    assert sparkline([1, 1, 1]) == "▁▁▁"
    assert sparkline([]) == ""
    assert len(sparkline(list(range(1000)), width=40)) == 40


def test_metrics_table_has_a_row_per_series_and_each_checkpoints_eval_loss(cli, finished_job):
    code, out, err = cli("jobs", "metrics", finished_job)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split() == ["SERIES", "POINTS", "FIRST", "LAST", "MIN", "MAX", "CURVE"]
    names = [line[:len("train tokens per step")].strip() for line in lines[1:7]]
    assert names == ["train loss", "eval loss", "train token accuracy", "eval token accuracy",
                     "train tokens per step", "eval tokens"]
    train_loss = lines[1].split()
    assert train_loss[2] == "6" and float(train_loss[4]) < float(train_loss[3])  # 6 steps, loss falls
    assert train_loss[-1][0] == "█" and train_loss[-1][-1] == "▁"
    assert [line.split(":")[0] for line in lines[7:]] == [
        "checkpoint 1 (epoch 1, step 2)", "checkpoint 2 (epoch 2, step 4)", "checkpoint 3 (epoch 3, step 6)"]
    assert all("eval loss 0." in line for line in lines[7:])


def test_metrics_json_has_every_point(cli, finished_job):
    code, out, _ = cli("jobs", "metrics", finished_job, "--json")
    data = json.loads(out)
    assert code == 0 and [p["step"] for p in data["/eval_total_loss"]] == [2, 4, 6]


def test_metrics_plot_writes_the_curves(cli, finished_job, tmp_path):
    pytest.importorskip("matplotlib")
    image = tmp_path / "loss.png"
    code, _, err = cli("jobs", "metrics", finished_job, "--plot", str(image))
    assert code == 0 and f"wrote {image}" in err
    assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and image.stat().st_size > 10_000


def test_metrics_of_a_job_not_started_yet(cli, emu, make_genai_client, write_dataset, start_tuning_job):
    job = start_tuning_job(make_genai_client(emu), write_dataset(), base_model="gemini-3.5-flash")
    code, out, _ = cli("jobs", "metrics", job.name.rsplit("/", 1)[-1])
    assert code == 0 and "has written no metrics yet" in out


def test_delete_model_removes_the_tuned_model_and_its_endpoints(cli, emu, finished_job):
    conn = vertex.connect(PROJECT, LOCATION, emu.url)
    outputs = vertex.get_tuning_job(conn, finished_job).outputs
    endpoints = [c.endpoint for c in outputs.checkpoints if c.endpoint != outputs.tuned_model_endpoint]

    code, out, err = cli("jobs", "delete-model", finished_job)

    assert (code, err) == (0, "")
    assert out.splitlines() == [*(f"deleted endpoint {e}" for e in endpoints),
                                f"deleted endpoint {outputs.tuned_model_endpoint}",
                                f"deleted tuned model {outputs.tuned_model_name}"]
    assert vertex.serving_problem(conn, vertex.get_tuning_job(conn, finished_job)) is not None


def test_delete_model_refuses_a_model_a_stack_holds_until_the_stack_lets_it_go(cli, emu, finished_job):
    # A TuningJob serving the model marks it with a version alias of its own (lifecycle's holder alias).
    conn = vertex.connect(PROJECT, LOCATION, emu.url)
    job = vertex.get_tuning_job(conn, finished_job)
    alias = f"{vertex.HOLDER_ALIAS_PREFIX}0123456789abcdef0123"
    vertex.hold_tuned_model(conn, job, alias)

    code, out, err = cli("jobs", "delete-model", finished_job)

    assert (code, out) == (1, "")
    assert err == (f"error: the tuned model {job.outputs.tuned_model_name} of tuning job {finished_job} is held by 1 "
                   f"TuningJob resource(s) of a stack (version aliases {alias}); nothing was deleted. Remove it "
                   "through the stack: take the TuningJob out of its program and `pulumi up`, or `pulumi destroy`; "
                   "the last resource that holds it deletes it\n")
    assert vertex.serving_problem(conn, job) is None  # it still serves
    # The stack's delete releases it (and, the last holder, deletes it; here the command does).
    assert vertex.release_tuned_model(conn, job, alias) == []
    code, out, _ = cli("jobs", "delete-model", finished_job)
    assert code == 0 and out.splitlines()[-1] == f"deleted tuned model {job.outputs.tuned_model_name}"


def test_delete_model_of_a_model_already_gone_says_so_and_claims_no_deletion(cli, emu, finished_job):
    assert cli("jobs", "delete-model", finished_job)[0] == 0

    code, out, err = cli("jobs", "delete-model", finished_job)

    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert not any(line.startswith("deleted ") for line in lines)
    assert lines[-2].startswith("tuned model ") and lines[-2].endswith("@1 was already gone")
    assert all(line.endswith(" was already gone") for line in lines[:-1])
    assert lines[-1] == (f"nothing deleted: the tuned model of tuning job {finished_job} and its endpoints "
                         "were gone already")


def test_delete_model_whose_delete_lost_its_answer_reports_the_deletion(cli, emu, finished_job):
    emu.faults.add("DELETE models/* after=reset")
    code, out, err = cli("jobs", "delete-model", finished_job)
    assert (code, err) == (0, "")
    assert out.splitlines()[-1].startswith("deleted tuned model ") and "already gone" not in out


def test_delete_model_of_a_job_with_no_model_is_one_error_line(cli, emu, make_genai_client, write_dataset,
                                                               start_tuning_job):
    job = start_tuning_job(make_genai_client(emu), write_dataset())
    job_id = job.name.rsplit("/", 1)[-1]
    assert cli("jobs", "cancel", job_id)[0] == 0
    code, out, err = cli("jobs", "delete-model", job_id)
    assert (code, out) == (1, "")
    assert err == f"error: tuning job {job_id} is CANCELLED: it has no tuned model to delete\n"


def test_get_and_list_json_carry_the_metrics_jobs_metrics_shows(cli, finished_job):
    code, out, _ = cli("jobs", "metrics", finished_job, "--json")
    assert code == 0
    points = json.loads(out)
    eval_loss = dict((p["step"], p["value"]) for p in points["/eval_total_loss"])

    code, out, err = cli("jobs", "get", finished_job, "--json")
    assert (code, err) == (0, "")
    job = json.loads(out)
    assert [(c["step"], c["eval_loss"]) for c in job["checkpoints"]] == sorted(eval_loss.items())
    assert job["metrics"] == {
        "train_loss": points["/train_total_loss"][-1]["value"],
        "train_token_accuracy": points["/train_fraction_of_correct_next_step_preds"][-1]["value"],
        "eval_loss": points["/eval_total_loss"][-1]["value"],
        "eval_token_accuracy": points["/eval_fraction_of_correct_next_step_preds"][-1]["value"],
        "step": 6,
        "epoch": 3,
    }
    # Vertex's serving checkpoint, the last: its endpoint is the tuned model's.
    assert job["serving_checkpoint"] == job["checkpoints"][-1]["checkpoint_id"] == "3"
    assert job["tuned_model_endpoint"] == job["checkpoints"][-1]["endpoint"]

    code, out, _ = cli("jobs", "list", "--json")
    assert code == 0 and json.loads(out) == [job]


def test_list_json_without_metrics_reads_none(cli, finished_job):
    code, out, _ = cli("jobs", "list", "--json", "--no-metrics")
    (job,) = json.loads(out)
    assert code == 0 and job["id"] == finished_job
    assert job["metrics"] is None and job["serving_checkpoint"] is None
    assert [c["eval_loss"] for c in job["checkpoints"]] == [None, None, None]


def test_json_of_a_job_that_has_not_started_has_no_metrics(cli, emu, make_genai_client, write_dataset,
                                                          start_tuning_job):
    job = start_tuning_job(make_genai_client(emu), write_dataset())
    code, out, err = cli("jobs", "get", job.name, "--json")
    assert (code, err) == (0, "")
    assert json.loads(out)["metrics"] is None
