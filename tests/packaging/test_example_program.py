"""examples/own_program, a user's own Pulumi program, run from a fresh virtualenv holding only
the installed wheel: `pulumi preview` and `pulumi up` against the emulator, with the plain CLI
as the user types it in that project's folder. The program and the TuningJob's provider
process both run in the project's virtualenv (Pulumi.yaml: `virtualenv: .venv`) and import
the installed package, nothing of this repository.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from stacks.engine import run_pulumi
from tests.conftest import offline_pulumi_env
from tests.packaging.conftest import ROOT, Installed
from tuning_provider.emulator import Emulator

pytestmark = pytest.mark.engine

EXAMPLE = ROOT / "examples" / "own_program"


@pytest.fixture
def example(tmp_path: Path, installed: Installed) -> Path:
    work_dir = tmp_path / "review-models"
    shutil.copytree(EXAMPLE, work_dir, ignore=shutil.ignore_patterns(".venv", "__pycache__"))
    (work_dir / ".venv").symlink_to(installed.venv)  # as if `python -m venv .venv` + pip install there
    return work_dir


def pulumi_in(work_dir: Path, *args: str) -> str:
    env = offline_pulumi_env(work_dir.parent / "pulumi")
    env.pop("PYTHONPATH")  # nothing of this repository on the import path
    run = run_pulumi(*args, cwd=work_dir, env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def test_the_example_installs_the_library_from_this_repository() -> None:
    lines = [line for line in (EXAMPLE / "requirements.txt").read_text().splitlines()
             if line and not line.startswith("#")]
    assert lines == ["../.."]
    assert 'name = "pulumi-vertex-tuning"' in ((EXAMPLE / lines[0]).resolve() / "pyproject.toml").read_text()


def test_the_example_program_previews_and_runs_from_the_installed_wheel(
    installed: Installed, example: Path, emulator: Emulator, write_dataset: Callable[..., str]
) -> None:
    stack_file = example / "Pulumi.local.yaml"
    document = yaml.safe_load(stack_file.read_text())
    document["config"].update({"tuning:apiEndpoint": emulator.url,
                               "review-models:trainingDataUri": write_dataset("train.jsonl")})
    stack_file.write_text(yaml.safe_dump(document))
    pulumi_in(example, "stack", "init", "local")

    preview = pulumi_in(example, "preview", "--stack", "local")
    assert "+ 2 to create" in preview  # the stack and its TuningJob
    pulumi_in(example, "up", "--yes", "--stack", "local")
    outputs = json.loads(pulumi_in(example, "stack", "output", "--json", "--stack", "local"))
    assert outputs["tuningJobState"] == "SUCCEEDED"
    assert outputs["tunedModelEndpoint"].startswith("projects/local-project/locations/us-central1/endpoints/")
