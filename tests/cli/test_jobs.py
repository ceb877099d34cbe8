"""`python -m tuning_provider jobs list | get` against the emulator (cancel: test_jobs_cancel.py).

The emulator runs on a manual clock, so a job is PENDING, RUNNING or SUCCEEDED exactly when
a test says so. Variants: table and JSON forms, paging through more jobs than one page,
filters, every detail of a finished and of a failed job, unknown names, and where project,
location and endpoint come from (flags, environment, a stack's config).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import re
import subprocess
import sys
from typing import Any

import pytest
from google.genai import errors as genai_errors
from google.genai import types

from tests.cli.conftest import CONNECTION_ENV, JOB_SECONDS, LOCATION, PARENT, PROJECT, ROOT, job_id
from tuning_provider.cli import jobs as jobs_cli
from tuning_provider.cli.connection import UsageError, command, resolve_connection
from tuning_provider.connection import Connection, connect
from tuning_provider.errors import Transient
from tuning_provider.records import JobRecord
from tuning_provider.spec import TuningJobOutputs
from tuning_provider.vertex import boundary


def table_rows(out: str) -> list[dict[str, str]]:
    """The table's rows as dicts, cut at the header's column starts (checks the alignment)."""
    lines = out.rstrip("\n").splitlines()
    header = lines[0]
    starts = [header.index(h) for h in jobs_cli.TABLE_HEADERS]
    rows = []
    for line in lines[1:]:
        cells = [line[a:b].strip() for a, b in zip(starts, [*starts[1:], None], strict=True)]
        for start in starts[1:]:
            assert line[start - 1] == " ", f"misaligned: {line!r}"
        rows.append(dict(zip(jobs_cli.TABLE_HEADERS, cells, strict=True)))
    return rows


# --- list ---------------------------------------------------------------------------------


def test_list_shows_an_aligned_table_newest_first(cli, client, train_uri, start_tuning_job, manual_clock):
    first = start_tuning_job(client, train_uri, tuned_model_display_name="first model")
    manual_clock.advance(JOB_SECONDS)  # first has succeeded, 90 s after its start
    second = start_tuning_job(client, train_uri, tuned_model_display_name="second",
                              base_model="gemini-3.5-flash-lite")
    manual_clock.advance(40)  # second is running, 30 s after its start

    code, out, err = cli("jobs", "list")

    assert (code, err) == (0, "")
    rows = table_rows(out)
    assert [r["ID"] for r in rows] == [job_id(second), job_id(first)]
    assert rows[0] == {
        "ID": job_id(second), "DISPLAY NAME": "second", "BASE MODEL": "gemini-3.5-flash-lite",
        "STATE": "RUNNING", "CREATED (UTC)": _utc(manual_clock.now - 40), "DURATION": "0m30s",
    }
    assert rows[1]["DISPLAY NAME"] == "first model" and rows[1]["STATE"] == "SUCCEEDED"
    assert rows[1]["DURATION"] == "1m30s"
    manual_clock.advance(15)
    assert table_rows(cli("jobs", "list")[1])[0]["DURATION"] == "0m45s"  # the running one counts on
    assert PARENT not in out  # ids, not full names


def test_list_pages_through_more_jobs_than_one_page(cli, client, train_uri, start_tuning_job, vertex_http, emu):
    created = [job_id(start_tuning_job(client, train_uri, tuned_model_display_name=f"job-{i}")) for i in range(7)]
    status, _, first_page = vertex_http("GET", f"/v1/{PARENT}/tuningJobs?pageSize=3", emulator=emu)
    assert status == 200 and len(first_page["tuningJobs"]) == 3 and first_page["nextPageToken"]

    code, out, _ = cli("jobs", "list", "--page-size", "3")
    assert code == 0
    assert [r["ID"] for r in table_rows(out)] == created[::-1]

    code, out, _ = cli("jobs", "list", "--page-size", "2", "--json")
    assert code == 0
    assert [job["id"] for job in json.loads(out)] == created[::-1]

    code, out, _ = cli("jobs", "list", "--page-size", "2", "--limit", "5")
    assert [r["ID"] for r in table_rows(out)] == created[::-1][:5]


def test_list_filters_by_state_and_labels(cli, client, train_uri, start_tuning_job, manual_clock):
    done = start_tuning_job(client, train_uri, labels={"team": "search", "env": "prod"})
    manual_clock.advance(JOB_SECONDS)
    running = start_tuning_job(client, train_uri, labels={"team": "search", "env": "dev"})
    other = start_tuning_job(client, train_uri, labels={"team": "ads"})
    manual_clock.advance(40)

    def ids(*args: str) -> list[str]:
        code, out, _ = cli("jobs", "list", "--json", *args)
        assert code == 0
        return [job["id"] for job in json.loads(out)]

    assert ids("--state", "succeeded") == [job_id(done)]
    assert ids("--state", "JOB_STATE_RUNNING") == [job_id(other), job_id(running)]
    assert ids("--label", "team=search") == [job_id(running), job_id(done)]
    assert ids("--label", "team=search", "--label", "env=dev") == [job_id(running)]
    assert ids("--label", "team=search", "--state", "RUNNING") == [job_id(running)]
    assert ids("--label", "team=nobody") == []


def test_list_json_objects_carry_outputs_and_creation_settings(cli, client, train_uri, start_tuning_job,
                                                               manual_clock):
    job = start_tuning_job(client, train_uri, tuned_model_display_name="capitals", epoch_count=2,
                           adapter_size=types.AdapterSize.ADAPTER_SIZE_FOUR, labels={"team": "search"})
    manual_clock.advance(JOB_SECONDS)

    code, out, _ = cli("jobs", "list", "--json")

    assert code == 0
    [item] = json.loads(out)
    assert set(TuningJobOutputs.model_fields) <= set(item)
    assert item["id"] == job_id(job) and item["name"] == job.name
    assert item["state"] == "SUCCEEDED"
    assert item["base_model"] == "gemini-3.5-flash" and item["display_name"] == "capitals"
    assert item["training_dataset_uri"] == train_uri
    assert item["labels"] == {"team": "search"}
    assert item["hyper_parameters"] == {"epoch_count": 2, "adapter_size": "ADAPTER_SIZE_FOUR",
                                        "learning_rate_multiplier": None}
    assert item["tuned_model_endpoint"].startswith(f"{PARENT}/endpoints/")
    assert item["duration_seconds"] == 90.0


def test_list_with_no_jobs(cli):
    assert cli("jobs", "list") == (0, f"no tuning jobs in {PARENT}\n", "")
    assert cli("jobs", "list", "--state", "FAILED", "--label", "team=x")[1] == (
        f"no tuning jobs in {PARENT} with state FAILED and label team=x\n"
    )
    code, out, _ = cli("jobs", "list", "--json")
    assert (code, json.loads(out)) == (0, [])


@pytest.mark.parametrize(("args", "fault"), [
    (["--state", "DONE"], "argument --state: 'DONE' is not a job state; use one of CANCELLED, "),
    (["--label", "team"], "argument --label: 'team' is not KEY=VALUE"),
    (["--limit", "0"], "argument --limit: 0 is out of range: use 1 or more"),
    (["--page-size", "x"], "argument --page-size: 'x' is not a whole number"),
    (["--colour"], "unrecognized arguments: --colour"),
])
def test_list_rejects_bad_options_with_one_usage_line(cli, args, fault):
    code, out, err = cli("jobs", "list", *args)
    assert (code, out) == (2, "")
    # One line, as every error: argparse's usage block would bury it.
    assert err.startswith(f"error: {fault}") and err.count("\n") == 1
    assert re.search(r"; see `python -m tuning_provider( jobs list)? --help`\n$", err)


def test_a_missing_subcommand_is_one_usage_line(cli):
    code, out, err = cli("jobs", connect=False)
    assert (code, out) == (2, "")
    assert err == ("error: the following arguments are required: ACTION; "
                   "see `python -m tuning_provider jobs --help`\n")


# --- get ----------------------------------------------------------------------------------


def test_get_shows_every_detail_of_a_succeeded_job(cli, client, train_uri, start_tuning_job, manual_clock,
                                                   write_dataset, sample_examples):
    validation_uri = write_dataset("validation.jsonl")
    job = start_tuning_job(client, train_uri, validation_dataset=types.TuningValidationDataset(gcs_uri=validation_uri),
                           tuned_model_display_name="capitals", description="general knowledge", epoch_count=2,
                           adapter_size=types.AdapterSize.ADAPTER_SIZE_EIGHT, learning_rate_multiplier=0.5,
                           labels={"team": "search"})
    created = manual_clock.now
    manual_clock.advance(JOB_SECONDS)
    full = client.tunings.get(name=job.name)

    code, out, err = cli("jobs", "get", job_id(job))

    assert (code, err) == (0, "")
    details = dict(line.split(": ", 1) for line in out.splitlines() if not line.startswith("  "))
    details = {k.strip(): v.strip() for k, v in details.items()}
    assert details["name"] == job.name
    assert details["state"] == "SUCCEEDED"
    assert details["display name"] == "capitals" and details["description"] == "general knowledge"
    assert details["base model"] == "gemini-3.5-flash"
    assert details["created"] == _utc(created) + " UTC"
    assert details["started"] == _utc(created + 10) + " UTC"
    assert details["ended"] == _utc(created + JOB_SECONDS) + " UTC"
    assert details["duration"] == "1m30s"
    assert details["hyperparameters"] == "epochs 2, adapter size 8, learning rate multiplier 0.5"
    assert details["training data"] == train_uri and details["validation data"] == validation_uri
    assert details["data stats"].startswith(f"{len(sample_examples)} examples, ")
    assert details["data stats"].endswith(" steps")
    assert details["tuned model"] == full.tuned_model.model
    assert details["endpoint"] == full.tuned_model.endpoint
    assert details["checkpoints"] == str(len(full.tuned_model.checkpoints)) == "2"
    for checkpoint in full.tuned_model.checkpoints:
        assert f"epoch {checkpoint.epoch}  step {checkpoint.step}  {checkpoint.endpoint}" in out
    assert details["experiment"] == full.experiment
    assert details["labels"] == "team=search"
    assert details["error"] == "-"


def test_get_by_full_name_and_json_form(cli, client, train_uri, start_tuning_job, manual_clock, emu,
                                        sample_examples):
    job = start_tuning_job(client, train_uri, tuned_model_display_name="capitals")
    manual_clock.advance(JOB_SECONDS)

    code, out, _ = cli("jobs", "get", job.name, "--json")
    assert code == 0
    item = json.loads(out)
    assert isinstance(item, dict)
    assert item["id"] == job_id(job) and item["state"] == "SUCCEEDED"
    assert item["tuning_data_stats"]["examples"] == len(sample_examples)
    assert len(item["checkpoints"]) == 3 and item["checkpoints"][-1]["endpoint"] == item["tuned_model_endpoint"]

    # The full name brings its own project and location; no flags needed for them.
    code, out, _ = cli("jobs", "get", job.name, "--api-endpoint", emu.url, connect=False)
    assert code == 0 and re.search(rf"^name: +{job.name}$", out, re.M)


def test_get_of_a_running_job_counts_time_so_far(cli, client, train_uri, start_tuning_job, manual_clock):
    job = start_tuning_job(client, train_uri)
    manual_clock.advance(40)

    code, out, _ = cli("jobs", "get", job_id(job))

    assert code == 0
    assert re.search(r"^state: +RUNNING$", out, re.M)
    assert re.search(r"^duration: +0m30s so far$", out, re.M)  # started 10 s after creation
    assert re.search(r"^tuned model: +-$", out, re.M) and re.search(r"^ended: +-$", out, re.M)


def test_get_of_a_failed_job_shows_vertex_error(cli, client, train_uri, start_tuning_job, manual_clock):
    job = start_tuning_job(client, train_uri, base_model="gemini-3.5-flash",
                           adapter_size=types.AdapterSize.ADAPTER_SIZE_THIRTY_TWO)
    manual_clock.advance(JOB_SECONDS)

    code, out, _ = cli("jobs", "get", job_id(job))

    assert code == 0
    assert re.search(r"^state: +FAILED$", out, re.M)
    error = re.search(r"^error: +(.+)$", out, re.M)
    assert error and "adapter size" in error[1].lower()


def test_get_unknown_job_is_one_line_not_found(cli):
    code, out, err = cli("jobs", "get", "1234567890")
    assert (code, out) == (3, "")
    assert err == f"error: tuning job 1234567890 not found in {PARENT}: check the id, the project and the location\n"


def test_get_of_a_name_that_is_not_a_job_name_is_usage(cli):
    code, _, err = cli("jobs", "get", f"{PARENT}/endpoints/123")
    assert code == 2
    assert err.startswith("error: ") and "tuningJobs" in err and err.count("\n") == 1


# --- where: flags, environment, stack ---------------------------------------------------


def test_connection_from_environment(cli, client, train_uri, start_tuning_job, emu, monkeypatch):
    job = start_tuning_job(client, train_uri)
    monkeypatch.setenv("TUNING_PROJECT", PROJECT)
    monkeypatch.setenv("TUNING_LOCATION", LOCATION)
    monkeypatch.setenv("TUNING_API_ENDPOINT", emu.url)

    code, out, _ = cli("jobs", "list", "--json", connect=False)

    assert code == 0 and [j["id"] for j in json.loads(out)] == [job_id(job)]
    # A flag beats the environment: another project has no jobs.
    code, out, _ = cli("jobs", "list", "--json", "--project", "other-project", connect=False)
    assert (code, json.loads(out)) == (0, [])


def test_missing_project_is_a_usage_error_naming_the_fix(cli):
    code, out, err = cli("jobs", "list", connect=False)
    assert (code, out) == (2, "")
    assert err == ("error: no project given: pass --project PROJECT_ID or set TUNING_PROJECT "
                   "(or GOOGLE_CLOUD_PROJECT), or name a stack with --stack NAME\n")


def test_a_stack_file_that_is_not_yaml_is_named_with_its_line(tmp_path):
    (tmp_path / "Pulumi.dev.yaml").write_text("config:\n  tuning:project: p\n tuning:region: [\n")
    args = argparse.Namespace(project=None, location=None, api_endpoint=None, stack="dev")
    with pytest.raises(UsageError, match=re.escape(f"{tmp_path / 'Pulumi.dev.yaml'}:3: not valid YAML: ")):
        resolve_connection(args, environ={}, stacks_dir=tmp_path)


def test_connection_resolution_order(tmp_path):
    (tmp_path / "Pulumi.dev.yaml").write_text(
        "config:\n  tuning:project: stack-project\n  tuning:region: europe-west4\n  other:key: 1\n"
    )
    (tmp_path / "Pulumi.local.yaml").write_text(
        "config:\n  tuning:project: local-project\n  tuning:apiEndpoint: http://127.0.0.1:9999\n"
    )
    env = {"TUNING_PROJECT": "env-project", "GOOGLE_CLOUD_LOCATION": "asia-northeast1",
           "TUNING_API_ENDPOINT": "http://127.0.0.1:1"}

    def resolve(environ: dict[str, str] = env, resource: tuple[str, str] | None = None, **flags: Any) -> Connection:
        args = {"project": None, "location": None, "api_endpoint": None, "stack": None, **flags}
        return resolve_connection(argparse.Namespace(**args), resource=resource, environ=environ, stacks_dir=tmp_path)

    def expected(project: str, location: str, api_endpoint: str | None) -> Connection:
        return connect(project, location, api_endpoint, environ={})

    assert resolve() == expected("env-project", "asia-northeast1", "http://127.0.0.1:1")
    assert resolve({"GOOGLE_CLOUD_PROJECT": "gc-project"}) == expected("gc-project", "us-central1", None)
    # A stack replaces the environment, including its endpoint (none: Vertex itself).
    assert resolve(stack="dev") == expected("stack-project", "europe-west4", None)
    assert resolve(stack="local") == expected("local-project", "us-central1", "http://127.0.0.1:9999")
    # Flags beat everything but a full resource name's own project and location.
    assert resolve(stack="dev", project="flag-project", api_endpoint="http://localhost:2") == expected(
        "flag-project", "europe-west4", "http://localhost:2")
    assert resolve(stack="dev", project="flag-project", resource=("name-project", "us-east5")) == expected(
        "name-project", "us-east5", None)

    with pytest.raises(UsageError, match=r"no stack 'prod': .*Pulumi.prod.yaml does not exist \(stacks: dev, local\)"):
        resolve(stack="prod")
    with pytest.raises(UsageError, match="not a URL"):
        resolve(api_endpoint="127.0.0.1:8765")
    (tmp_path / "Pulumi.bare.yaml").write_text("config: {}\n")
    with pytest.raises(UsageError, match=r"set tuning:project in stacks/Pulumi.bare.yaml"):
        resolve(stack="bare")


def test_the_local_stack_config_points_at_the_emulator():
    args = argparse.Namespace(project=None, location=None, api_endpoint=None, stack="local")
    conn = resolve_connection(args, environ={})
    assert conn.project == "local-project" and conn.location == "us-central1"
    assert conn.emulator and conn.vertex.url and conn.vertex.url.startswith("http://127.0.0.1:")


# --- presentation and errors, without a server ---------------------------------------------


def test_durations_and_times():
    assert jobs_cli.format_duration(723) == "12m03s"
    assert jobs_cli.format_duration(3723.9) == "1h02m03s"
    assert jobs_cli.format_duration(None) == "-"
    assert jobs_cli.format_time("2026-03-01T10:20:30.5Z") == "2026-03-01 10:20:30"
    assert jobs_cli.format_time("2026-03-01T12:20:30+02:00") == "2026-03-01 10:20:30"
    assert jobs_cli.format_time(None) == "-"

    def record(state: str, **times: str) -> JobRecord:
        return JobRecord(TuningJobOutputs(name="projects/p/locations/l/tuningJobs/7", state=state, **times),
                         None, None, None, {}, None, None, {})

    now = dt.datetime(2026, 3, 1, 11, 0, tzinfo=dt.UTC)
    running = record("RUNNING", create_time="2026-03-01T10:00:00Z", start_time="2026-03-01T10:47:57Z")
    assert jobs_cli.format_duration(jobs_cli.job_seconds(running, now)) == "12m03s"
    queued = record("QUEUED", create_time="2026-03-01T10:59:00Z")
    assert jobs_cli.job_seconds(queued, now) == 60
    ended = record("CANCELLED", create_time="2026-03-01T10:00:00Z", end_time="2026-03-01T10:00:05Z")
    assert jobs_cli.job_seconds(ended, now) == 5
    assert jobs_cli.job_seconds(record("FAILED"), now) is None


def test_progress_reminds_during_long_silences():
    stream = io.StringIO()
    now = [0.0]
    progress = jobs_cli.Progress(stream, every=30, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    progress.report("tuning job x: CANCELLING after 0m00s")
    for _ in range(7):
        progress.sleep(10)
    progress.report("tuning job x: CANCELLED after 1m15s")
    assert stream.getvalue().splitlines() == [
        "tuning job x: CANCELLING after 0m00s",
        "  still waiting, 0m30s so far",
        "  still waiting, 1m00s so far",
        "tuning job x: CANCELLED after 1m15s",
    ]


def test_api_errors_reach_the_dispatcher():
    quota = genai_errors.APIError(429, {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED",
                                                  "message": "Quota exceeded"}})

    @command
    def exhausted(args: Any) -> int:
        raise boundary.translated(quota, "listing tuning jobs in projects/p/locations/l")

    with pytest.raises(Transient):  # left to the dispatcher: one line, exit 3
        exhausted(None)


def test_the_quota_message_says_what_to_do():
    quota = genai_errors.APIError(429, {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED",
                                                  "message": "Quota exceeded"}})
    error = boundary.translated(quota, "creating tuning job")
    assert isinstance(error, Transient) and error.status == 429
    assert "Quota exceeded (HTTP 429)" in str(error) and "Quotas page" in str(error)


# --- the real entry point ---------------------------------------------------------------------


def test_module_entry_point_end_to_end(emu, client, train_uri, start_tuning_job, manual_clock):
    job = start_tuning_job(client, train_uri, tuned_model_display_name="capitals")
    manual_clock.advance(JOB_SECONDS)
    env = {k: v for k, v in os.environ.items() if k not in CONNECTION_ENV}
    env.update(TUNING_PROJECT=PROJECT, TUNING_API_ENDPOINT=emu.url, PYTHONWARNINGS="ignore")

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "tuning_provider", *argv], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=60)

    listed = run("jobs", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [j["id"] for j in json.loads(listed.stdout)] == [job_id(job)]
    missing = run("jobs", "get", "999")
    assert missing.returncode == 3
    assert missing.stderr.splitlines() == [f"error: tuning job 999 not found in {PARENT}: check the id, "
                                           "the project and the location"]


def _utc(epoch_seconds: float) -> str:
    return dt.datetime.fromtimestamp(epoch_seconds, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
