"""The policy pack under the real pulumi CLI, typed as users type it in the project folder:
`pulumi preview --stack local --policy-pack policy` on a copy of the shipped local stack.

The `pulumi` is the virtualenv's (scripts/setup.sh), which hands the CLI policy/analyzer for the
pack folder (docs/policy.md); the pack runs in policy/.venv, which `make setup` creates."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from stacks.engine import ROOT, run_pulumi, stack_outputs
from tests.conftest import offline_pulumi_env
from tuning_provider.emulator import Emulator

pytestmark = pytest.mark.engine

PASSED = "✅ tuning-guardrails@v1.0.0"


class LocalStack:
    """A copy of the project with the shipped local stack (its emulator and bucket folder
    replaced by the test's) and the repository's policy pack as `policy`."""

    def __init__(self, tmp_path: Path, emulator: Emulator) -> None:
        assert (ROOT / "policy" / ".venv" / "bin" / "python").exists(), "no policy/.venv: run `make setup`"
        self.dir = tmp_path / "project"
        (self.dir / "stacks").mkdir(parents=True)
        for name in ("Pulumi.yaml", "__main__.py"):
            shutil.copyfile(ROOT / name, self.dir / name)
        (self.dir / ".venv").symlink_to(ROOT / ".venv")
        (self.dir / "policy").symlink_to(ROOT / "policy")
        self.env = offline_pulumi_env(tmp_path / "pulumi")
        self.document: dict[str, Any] = yaml.safe_load((ROOT / "stacks" / "Pulumi.local.yaml").read_text())
        config = self.document["config"]
        config["tuning:apiEndpoint"] = emulator.url
        config["tuning:localGcsDir"] = str(tmp_path / "gcs")
        for key in ("tuning:trainingData", "tuning:validationData"):
            config[key] = str(ROOT / config[key])
        self.write()
        code, out = self.pulumi("stack", "init", "local", "--no-select")
        assert code == 0, out

    @property
    def job(self) -> dict[str, Any]:
        return dict(self.document["config"]["tuning:job"])

    def write(self) -> None:
        (self.dir / "stacks" / "Pulumi.local.yaml").write_text(yaml.safe_dump(self.document))

    def pulumi(self, *args: str) -> tuple[int, str]:
        run = run_pulumi(*args, cwd=self.dir, env=self.env)
        return run.returncode, run.stdout + run.stderr


@pytest.fixture
def stack(tmp_path: Path, emulator: Emulator) -> LocalStack:
    return LocalStack(tmp_path, emulator)


def test_the_shipped_local_stack_passes_the_pack_in_preview_and_up(stack: LocalStack) -> None:
    code, out = stack.pulumi("preview", "--stack", "local", "--policy-pack", "policy")
    assert code == 0, out
    assert PASSED in out
    code, out = stack.pulumi("up", "--yes", "--stack", "local", "--policy-pack", "policy")
    assert code == 0, out
    assert PASSED in out
    outputs = stack_outputs("local", cwd=stack.dir, env=stack.env)
    assert outputs["tuningJobState"] == "SUCCEEDED" and outputs["tunedModelEndpoint"]


def test_a_job_without_a_team_label_fails_the_preview_naming_the_policy_and_the_label(stack: LocalStack) -> None:
    job = stack.job
    job["labels"] = {k: v for k, v in job["labels"].items() if k != "team"}
    stack.document["config"]["tuning:job"] = job
    stack.write()
    code, out = stack.pulumi("preview", "--stack", "local", "--policy-pack", "policy")
    assert code != 0
    assert "[mandatory]  tuning-job-labels" in out
    assert "TuningJob 'gemini-tuning-job': labels has no 'team' label; add labels.team" in out


def test_a_policy_config_allowing_only_europe_west4_fails_the_us_central1_stack(
    stack: LocalStack, tmp_path: Path
) -> None:
    config = tmp_path / "policy-config.json"
    config.write_text(json.dumps({"allowed-regions": {"regions": ["europe-west4"]}}))
    code, out = stack.pulumi("preview", "--stack", "local", "--policy-pack", "policy",
                             "--policy-pack-config", str(config))
    assert code != 0
    assert "[mandatory]  allowed-regions" in out
    assert "location us-central1 is not an allowed region (europe-west4)" in out
