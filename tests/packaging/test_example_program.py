"""examples/own_program, a user's own Pulumi program, run from a fresh virtualenv holding only
the installed wheel: `pulumi preview` and `up` against the emulator with the real CLI.

The program runs inline through the Automation API (the Python language host cannot be built
here); the TuningJob's provider process is the engine's, and imports the installed package.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from stacks.engine import offline_env
from tests.packaging.conftest import ROOT, Installed
from tuning_provider.emulator import Emulator

pytestmark = pytest.mark.engine

EXAMPLE = ROOT / "examples" / "own_program"
TOOLS = ROOT / ".tools" / "pulumi"

# Runs in the fresh virtualenv: select the stack, set its config, preview (and up), print JSON.
DRIVER = """
import json, runpy, sys
from pathlib import Path
from pulumi import automation as auto
import tuning_provider

work_dir, tools, config, command = Path(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]

def program():
    runpy.run_path(str(work_dir / "__main__.py"), run_name="__main__")

pulumi = auto.PulumiCommand(root=tools) if Path(tools, "bin", "pulumi").exists() else auto.PulumiCommand()
stack = auto.create_or_select_stack(
    stack_name="local", project_name="review-models", program=program,
    opts=auto.LocalWorkspaceOptions(work_dir=str(work_dir), pulumi_command=pulumi))
stack.set_all_config({k: auto.ConfigValue(v) for k, v in config.items()})
result = {"package": tuning_provider.__file__}
if command == "preview":
    preview = stack.preview(color="never")
    result["changes"] = preview.change_summary
else:
    stack.up(color="never")
    result["outputs"] = {k: v.value for k, v in stack.outputs().items()}
print(json.dumps(result))
"""


@pytest.fixture
def example(tmp_path: Path) -> Path:
    work_dir = tmp_path / "review-models"
    shutil.copytree(EXAMPLE, work_dir, ignore=shutil.ignore_patterns(".venv", "__pycache__"))
    return work_dir


def run_example(installed: Installed, work_dir: Path, emulator: Emulator, uri: str, command: str) -> dict:
    env = offline_env(ROOT, state_dir=work_dir.parent / "state")
    # The engine's dynamic-provider shim runs `python3` from PATH: the fresh virtualenv's, and
    # nothing of this repository on the import path.
    env.pop("PYTHONPATH")
    env["PATH"] = os.pathsep.join([str(TOOLS / "bin"), str(installed.bin), os.environ["PATH"]])
    env["HOME"] = str(work_dir.parent)
    config = {"tuning:apiEndpoint": emulator.url, "review-models:project": "local-project",
              "review-models:trainingDataUri": uri, "review-models:epochs": "2"}
    result = subprocess.run(
        [str(installed.python), "-c", DRIVER, str(work_dir), str(TOOLS), json.dumps(config), command],
        cwd=work_dir.parent, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_the_example_installs_the_library_from_this_repository() -> None:
    lines = [line for line in (EXAMPLE / "requirements.txt").read_text().splitlines()
             if line and not line.startswith("#")]
    assert lines == ["../.."]
    assert 'name = "pulumi-vertex-tuning"' in ((EXAMPLE / lines[0]).resolve() / "pyproject.toml").read_text()


def test_the_example_program_previews_and_runs_from_the_installed_wheel(
    installed: Installed, example: Path, emulator: Emulator, write_dataset: Callable[..., str]
) -> None:
    uri = write_dataset("train.jsonl")
    preview = run_example(installed, example, emulator, uri, "preview")
    assert Path(preview["package"]).is_relative_to(installed.venv)
    assert preview["changes"] == {"create": 2}  # the stack and its TuningJob

    up = run_example(installed, example, emulator, uri, "up")
    assert up["outputs"]["tuningJobState"] == "SUCCEEDED"
    assert up["outputs"]["tunedModelEndpoint"].startswith("projects/local-project/locations/us-central1/endpoints/")
