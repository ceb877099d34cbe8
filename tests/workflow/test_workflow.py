"""The GitHub workflow (.github/workflows/pulumi.yml): actionlint-clean, deployments gated on
the tests, each job with only the token permissions it uses, every action pinned by commit."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "pulumi.yml"
PINNED = re.compile(r"^\s*(?:-\s*)?uses:\s*[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+\s*$")


@pytest.fixture(scope="module")
def jobs() -> dict[str, Any]:
    return dict(yaml.safe_load(WORKFLOW.read_text())["jobs"])


def uses(job: dict[str, Any]) -> list[str]:
    return [str(step["uses"]).split("@")[0] for step in job["steps"] if "uses" in step]


@pytest.fixture(scope="session")
def actionlint() -> str:
    """actionlint, built once per machine by scripts/install-actionlint.sh (only this test needs it)."""
    built = subprocess.run(["bash", str(ROOT / "scripts" / "install-actionlint.sh")], capture_output=True, text=True,
                           timeout=900)
    assert built.returncode == 0, f"scripts/install-actionlint.sh failed:\n{built.stderr}"
    return built.stdout.strip()


def test_actionlint_finds_nothing(actionlint: str) -> None:
    result = subprocess.run([actionlint, "-no-color", str(WORKFLOW)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_action_is_pinned_by_commit_with_its_release_in_a_comment() -> None:
    lines = [line for line in WORKFLOW.read_text().splitlines() if re.match(r"^\s*(-\s*)?uses:", line)]
    assert lines
    assert [line for line in lines if not PINNED.match(line)] == []


def test_deployments_wait_for_the_tests(jobs: dict[str, Any]) -> None:
    assert "bash .ci/run" in [step.get("run") for step in jobs["test"]["steps"]]
    for name in ("up-dev", "up-prod"):
        needs = jobs[name]["needs"]
        assert "test" in ([needs] if isinstance(needs, str) else needs)


def test_the_workflow_grants_only_reading_and_each_job_only_what_it_uses(jobs: dict[str, Any]) -> None:
    assert yaml.safe_load(WORKFLOW.read_text())["permissions"] == {"contents": "read"}
    for name, job in jobs.items():
        granted = job["permissions"]
        steps = uses(job)
        wanted = {"contents": "read"}
        if "google-github-actions/auth" in steps:
            wanted["id-token"] = "write"
        if any(step.get("with", {}).get("comment-on-pr") for step in job["steps"]):
            wanted["pull-requests"] = "write"
        assert granted == wanted, name


def test_no_long_lived_secret_is_used() -> None:
    assert "secrets." not in WORKFLOW.read_text()


def test_a_scheduled_run_completes_jobs_still_in_flight_and_only_those(jobs: dict[str, Any]) -> None:
    triggers = yaml.safe_load(WORKFLOW.read_text())[True]  # YAML 1.1 reads the key `on` as true
    assert triggers["schedule"] == [{"cron": "*/30 * * * *"}]
    check = jobs["in-flight"]
    assert check["if"] == "github.event_name == 'schedule'"
    assert "environment" not in check  # read-only: a reviewer is asked only when there is a job to complete
    assert {leg["stack"] for leg in check["strategy"]["matrix"]["include"]} == {"dev", "prod"}
    script = next(step["run"] for step in check["steps"] if step.get("id") == "check")
    assert 'python -m stacks.engine in-flight --stack "$STACK"' in script
    for stack in ("dev", "prod"):
        complete, deploy = jobs[f"complete-{stack}"], jobs[f"up-{stack}"]
        assert complete["needs"] == "in-flight"
        assert complete["if"] == f"needs.in-flight.outputs.{stack} == 'true'"
        assert check["outputs"][stack] == f"${{{{ steps.check.outputs.{stack} }}}}"
        # The deploys' own group, never cancelled: a scheduled up and a deploy never overlap.
        assert complete["concurrency"] == {"group": deploy["concurrency"]["group"], "cancel-in-progress": False}
        assert complete["environment"] == deploy["environment"] == stack
        up = next(step["with"] for step in complete["steps"] if "pulumi/actions" in step.get("uses", ""))
        assert (up["command"], up["stack-name"]) == ("up", stack)


def test_the_workflow_says_what_the_provider_does_on_a_timeout() -> None:
    text = WORKFLOW.read_text()
    assert "records the job as still running" not in text
    assert "fails that up: the provider records nothing" in text
    assert "adopts it and waits for it (never a second paid" in text
