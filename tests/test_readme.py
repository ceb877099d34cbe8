"""README: what a reader needs before running anything but `make`, kept true to the code."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from stacks.job import JOB_OUTPUTS
from tuning_provider.spec import TuningJobOutputs, TuningJobSpec

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
MAKEFILE = (ROOT / "Makefile").read_text()


def code_blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", README, re.S | re.M)


def test_commands_other_than_make_say_to_activate_the_virtualenv() -> None:
    section = README[README.index("### Commands other than `make`"):]
    assert ". .venv/bin/activate" in section.split("##", 2)[1]


def test_the_two_commands_are_make_targets() -> None:
    commands = [line.split("#")[0].strip() for line in code_blocks("sh")[0].splitlines()]
    assert commands == ["make up", "make test"]
    for target in ("up", "test", "setup", "emulator", "down", "preview", "refresh"):
        assert re.search(rf"^{target}:", MAKEFILE, re.M), f"README names `make {target}`"


def test_the_plain_cli_is_typed_in_the_virtualenv() -> None:
    block = next(b for b in code_blocks("sh") if ". .venv/bin/activate" in b)
    lines = [line.split("#")[0].strip() for line in block.splitlines()]
    assert lines.index(". .venv/bin/activate") < lines.index("pulumi up --yes --stack local")
    assert any(line.startswith("python -m tuning_provider ") for line in lines)


def test_the_outputs_shown_are_what_the_local_stack_exports() -> None:
    shown = README[README.index("Outputs of stack local:"):]
    shown = shown[: shown.index("```")]
    names = set(re.findall(r'^  "(\w+)":', shown, re.M))
    assert {"tunedModelEndpoint", "tunedModelName", "tuningJobName", "tuningJobState"} <= names
    assert names <= set(JOB_OUTPUTS), f"not exported by stacks/job.py: {names - set(JOB_OUTPUTS)}"


def test_the_minimal_program_uses_real_inputs_and_outputs() -> None:
    program = next(b for b in code_blocks("python") if "TuningJobArgs(" in b)
    tree = ast.parse(program)
    args = next(n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "TuningJobArgs")
    given = {k.arg for k in args.keywords}
    assert given and given <= set(TuningJobSpec.model_fields) - {"resource_key"}
    read = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute) and getattr(n.value, "id", "") == "job"}
    assert read and read <= set(TuningJobOutputs.model_fields)


def test_installing_the_library_is_described() -> None:
    assert "pip install /path/to/this/repository" in README
    assert "examples/own_program" in README
