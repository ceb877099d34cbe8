"""The stack files under the real pulumi CLI: what the engine writes into them, and how it
reports a stack file with mistakes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from stacks.engine import ROOT, Recovery, recover, run_pulumi
from tests.conftest import offline_pulumi_env

pytestmark = pytest.mark.engine


def project_copy(tmp_path: Path, *stack_names: str) -> Path:
    project = tmp_path / "project"
    (project / "stacks").mkdir(parents=True)
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copyfile(ROOT / name, project / name)
    (project / ".venv").symlink_to(ROOT / ".venv")
    for name in stack_names:
        shutil.copyfile(ROOT / "stacks" / f"Pulumi.{name}.yaml", project / "stacks" / f"Pulumi.{name}.yaml")
    return project


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_stack_init_adds_its_salt_and_rewrites_no_setting(tmp_path: Path, stack: str) -> None:
    project = project_copy(tmp_path, stack)
    path = project / "stacks" / f"Pulumi.{stack}.yaml"
    before = path.read_text()
    init = run_pulumi("stack", "init", stack, cwd=project, env=offline_pulumi_env(tmp_path / "pulumi"))
    assert init.returncode == 0, init.stderr
    after = path.read_text()
    added = [line for line in after.splitlines() if line not in before.splitlines()]
    assert [line.split(":")[0] for line in added] == ["encryptionsalt"]
    assert after.replace(added[0] + "\n", "") == before


def test_a_stack_file_with_two_mistakes_fails_preview_naming_both(tmp_path: Path) -> None:
    project = project_copy(tmp_path)
    document = yaml.safe_load((ROOT / "stacks" / "Pulumi.local.yaml").read_text())
    document["config"]["tuning:region"] = "us-central9"
    job = document["config"]["tuning:job"]
    job["epoch_cout"] = job.pop("epoch_count")
    (project / "stacks" / "Pulumi.mistakes.yaml").write_text(yaml.safe_dump(document))
    env = offline_pulumi_env(tmp_path / "pulumi")
    run_pulumi("stack", "init", "mistakes", cwd=project, env=env)
    preview = run_pulumi("preview", "--stack", "mistakes", cwd=project, env=env)
    assert preview.returncode != 0
    message = preview.stdout + preview.stderr
    assert "2 problems with the stack configuration" in message
    assert "tuning:region: 'us-central9' does not run Gemini tuning jobs" in message
    assert "tuning:job.epoch_cout: 'epoch_cout' is not a TuningJob input; did you mean epoch_count?" in message
    assert "Traceback" not in message


def test_recover_says_in_one_line_that_a_stack_had_nothing_to_recover(tmp_path: Path) -> None:
    project = project_copy(tmp_path)
    env = offline_pulumi_env(tmp_path / "pulumi")
    run_pulumi("stack", "init", "calm", cwd=project, env=env)
    recovery = recover("calm", cwd=project, env=env)
    assert recovery == Recovery("calm")
    assert recovery.summary() == (
        "stack calm: nothing to recover (no lock of an interrupted pulumi process, no pending create)"
    )
