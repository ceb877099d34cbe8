"""A TypeScript program against the generated SDK (sdk/nodejs), as a user has it after
`npm install --install-links <checkout>/sdk/nodejs`: the SDK compiled by its own install script
(its tsconfig, the TypeScript its package.json asks for, one copy of @pulumi/pulumi), then the
program type-checked by `tsc` in strict mode.
nodejs/index.ts passes clean; each mistake a user makes (a misspelt input, a string for
epochCount, an unknown enum value, a misspelt output or metric) is reported on its own line.

Pinned packages come from nodejs/package-lock.json (the `typescript` fixture). Running the
program needs Pulumi's Node.js language host, which cannot be obtained here: docs/package.md.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest

from tests.languages.conftest import FIRST_RUN_SECONDS, HERE, ROOT, wrong_line, wrong_variant

pytestmark = pytest.mark.timeout(FIRST_RUN_SECONDS)  # the first run on a machine builds its tools

PROGRAM = (HERE / "nodejs" / "index.ts").read_text()
PACKAGE = "pulumi-vertex-tuning"  # sdk/nodejs/package.json's name, as the program imports it

# name -> (the program's line, the mistake put in its place, what tsc says about that line)
MISTAKES = {
    "misspelt_input": ("    epochCount: 3,", "    epochs: 3,",
                       "'epochs' does not exist in type 'TuningJobArgs'"),
    "string_for_a_number": ("    epochCount: 3,", '    epochCount: "three",',
                            "Type 'string' is not assignable to type 'Input<number | undefined>'"),
    "unknown_enum_value": ("    serveCheckpoint: vertextuning.ServeCheckpoint.BestEvalLoss,",
                           '    serveCheckpoint: "best",', "Type '\"best\"' is not assignable to type"),
    "misspelt_output": (
        "export const tunedModelEndpoint: pulumi.Output<string> = reviews.tunedModelEndpoint;",
        "export const tunedModelEndpoint: pulumi.Output<string> = reviews.tunedModelEndpont;",
        "Property 'tunedModelEndpont' does not exist on type 'TuningJob'"),
    "misspelt_metric": (
        "export const evalLoss: pulumi.Output<number | undefined> = reviews.metrics.apply(m => m?.evalLoss);",
        "export const evalLoss: pulumi.Output<number | undefined> = reviews.metrics.apply(m => m?.evalLos);",
        "Property 'evalLos' does not exist on type 'Metrics'"),
}

_DIAGNOSTIC = re.compile(r"^(?P<file>[^(\s]+)\((?P<line>\d+),\d+\): error (?P<code>TS\d+): (?P<message>.*)$")


def tsc(typescript: Path, package: str) -> list[str]:
    """The command of the tsc a package (typescript, typescript-for-the-sdk) installs."""
    return ["node", str(typescript / "node_modules" / package / "bin" / "tsc")]


@pytest.fixture(scope="module")
def project(typescript: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder laid out as npm leaves a project that installed the SDK from the checkout: the
    pinned node_modules, the SDK compiled in place (typed JavaScript in bin/) by its postinstall
    script, and the program with one copy per mistake."""
    root = tmp_path_factory.mktemp("typescript")
    (root / "node_modules").symlink_to(typescript / "node_modules")
    sdk = shutil.copytree(ROOT / "sdk" / "nodejs", root / "sdk")
    # The script runs `tsc` from PATH, as npm's PATH gives it the SDK's own typescript (^4.7.0).
    tools = root / "tools"
    tools.mkdir()
    (tools / "tsc").write_text(f"#!/bin/sh\nexec {' '.join(tsc(typescript, 'typescript-for-the-sdk'))} \"$@\"\n")
    (tools / "tsc").chmod(0o755)
    built = subprocess.run(["node", "scripts/postinstall.js"], cwd=sdk, capture_output=True, text=True,
                           env={**os.environ, "PATH": f"{tools}:{os.environ['PATH']}"},
                           timeout=FIRST_RUN_SECONDS, check=False)
    assert built.returncode == 0, f"the SDK's install script failed:\n{built.stdout}\n{built.stderr}"
    assert "tunedModelEndpoint: pulumi.Output<string>" in (sdk / "bin" / "tuningJob.d.ts").read_text()
    program = root / "program"
    (program / "node_modules").mkdir(parents=True)
    (program / "node_modules" / PACKAGE).symlink_to(sdk)
    shutil.copyfile(HERE / "nodejs" / "tsconfig.json", program / "tsconfig.json")
    (program / "index.ts").write_text(PROGRAM)
    for name, (line, mistake, _) in MISTAKES.items():
        (program / f"{name}.ts").write_text(wrong_variant(PROGRAM, line, mistake, "//"))
    return program


def test_tsc_passes_the_program_and_reports_each_mistake_on_its_line(project: Path, typescript: Path) -> None:
    run = subprocess.run([*tsc(typescript, "typescript"), "-p", ".", "--pretty", "false"], cwd=project,
                         capture_output=True, text=True, timeout=FIRST_RUN_SECONDS, check=False)
    said: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for line in run.stdout.splitlines():
        match = _DIAGNOSTIC.match(line)
        if match:
            said[Path(match["file"]).stem].append((int(match["line"]), f"{match['code']}: {match['message']}"))
        else:
            assert line.startswith(" "), f"unexpected tsc output: {line}"  # a message's further lines
    assert run.stderr == ""
    assert said.pop("index", []) == [], "tsc finds fault with nodejs/index.ts"
    for name, (_, _, message) in MISTAKES.items():
        wrong = wrong_line((project / f"{name}.ts").read_text())
        got = said.pop(name, [])
        assert got and all(number == wrong for number, _ in got), f"{name}.ts: expected line {wrong}, got {got}"
        assert any(message in text for _, text in got), f"{name}.ts: {got}"
    assert said == {}
