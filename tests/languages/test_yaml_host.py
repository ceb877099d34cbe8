"""The YAML language host beside the pulumi CLI (scripts/install-pulumi.sh puts it there, or an
ordinary install ships it): the folder the script prints holds it, and a `runtime: yaml` program
runs through the plain CLI. What YAML programs do with TuningJobs is tested with the plugin
(tests/engine); this checks the host itself answers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from stacks.engine import run_pulumi
from tests.conftest import offline_pulumi_env
from tests.languages.conftest import FIRST_RUN_SECONDS

pytestmark = pytest.mark.timeout(FIRST_RUN_SECONDS)

PROGRAM = """\
name: yaml-host-check
runtime: yaml
config:
  who:
    type: string
variables:
  words:
    fn::split: [",", "hello,${who}"]
outputs:
  greeting: ${words[0]}, ${words[1]}
"""


def test_the_cli_folder_holds_the_yaml_host_of_the_pinned_version(pulumi_bin: Path) -> None:
    host = pulumi_bin / "pulumi-language-yaml"
    assert os.access(host, os.X_OK)
    # Built by the script (its Python host's versioned binary beside it), not an ordinary install:
    # then of the pinned version, as Go recorded it in the binary.
    if (pulumi_bin / "pulumi-language-python-v3.79.0").exists() and shutil.which("go"):
        info = subprocess.run(["go", "version", "-m", str(host)], capture_output=True, text=True, check=True).stdout
        assert "\tmod\tgithub.com/pulumi/pulumi-yaml\tv1.25.0\t" in info


@pytest.mark.engine
def test_a_yaml_program_runs_through_the_plain_cli(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "Pulumi.yaml").write_text(PROGRAM)
    env = offline_pulumi_env(tmp_path / "pulumi")

    def pulumi(*args: str) -> str:
        run = run_pulumi(*args, cwd=project, env=env)
        assert run.returncode == 0, run.stdout + run.stderr
        return run.stdout

    pulumi("stack", "init", "check")
    pulumi("config", "set", "who", "world")
    pulumi("up", "--yes")
    assert json.loads(pulumi("stack", "output", "--json")) == {"greeting": "hello, world"}
