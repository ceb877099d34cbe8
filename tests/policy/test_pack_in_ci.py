"""Every preview and up the workflow runs (.github/workflows/pulumi.yml) runs the policy pack,
in the pack's own virtualenv, which the job creates first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

WORKFLOW = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "pulumi.yml"
PACK_VENV = "bash scripts/install-venv.sh policy/.venv policy/requirements.txt"


def pulumi_steps() -> list[tuple[str, list[dict[str, Any]], dict[str, Any]]]:
    """(job name, its steps, the pulumi/actions step) of every preview and up."""
    found = []
    for name, job in yaml.safe_load(WORKFLOW.read_text())["jobs"].items():
        for step in job["steps"]:
            if str(step.get("uses", "")).startswith("pulumi/actions@") and \
                    step.get("with", {}).get("command") in ("preview", "up"):
                found.append((name, job["steps"], step))
    return found


def test_every_preview_and_up_runs_the_pack_after_installing_its_venv() -> None:
    steps = pulumi_steps()
    assert {step["with"]["command"] for _, _, step in steps} == {"preview", "up"}
    for name, job_steps, step in steps:
        assert step["with"].get("policyPacks") == "policy", name
        runs = [s.get("run") for s in job_steps[: job_steps.index(step)]]
        assert PACK_VENV in runs, name
