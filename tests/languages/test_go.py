"""A Go program against the generated SDK (sdk/go), as a user has it: go/main.go in a module of
its own that takes the SDK from this checkout (go.mod's replace) and pins the Pulumi Go SDK
(go.mod, go.sum). `go build` links it; each mistake a user makes (a misspelt input, a string for
epochCount, a misspelt output) fails the build on its own line.

Modules come from the Go module proxy into Go's module cache, and compiled packages stay in
Go's build cache: the first run on a machine compiles the Pulumi SDK (minutes), later ones take
seconds. Running the program needs Pulumi's Go language host, which cannot be obtained here:
docs/package.md.
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

PROGRAM = (HERE / "go" / "main.go").read_text()
SDK_MODULE = "pulumi-vertex-tuning/sdk/go"

pytestmark = pytest.mark.timeout(FIRST_RUN_SECONDS)  # the first run on a machine compiles the Pulumi SDK

# name -> (the program's line, the mistake put in its place, what the compiler says about that line)
MISTAKES = {
    "misspelt_input": ("\t\t\tEpochCount:         pulumi.Int(3),", "\t\t\tEpochs:             pulumi.Int(3),",
                       "unknown field Epochs in struct literal of type vertextuning.TuningJobArgs"),
    "string_for_a_number": ("\t\t\tEpochCount:         pulumi.Int(3),",
                            '\t\t\tEpochCount:         pulumi.String("three"),',
                            'cannot use pulumi.String("three")'),
    "misspelt_output": ('\t\tctx.Export("tunedModelEndpoint", reviews.TunedModelEndpoint)',
                        '\t\tctx.Export("tunedModelEndpoint", reviews.TunedModelEndpont)',
                        "reviews.TunedModelEndpont undefined"),
}

_DIAGNOSTIC = re.compile(r"^(?P<file>\S+\.go):(?P<line>\d+):\d+: (?P<message>.*)$")


def go(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # CGO off, as every Go build of this project: the build cache is shared only between builds
    # with the same settings.
    env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-buildvcs=false -mod=readonly"}
    return subprocess.run(["go", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=FIRST_RUN_SECONDS, check=False)


def test_go_build_links_the_program_with_the_generated_sdk(tmp_path: Path) -> None:
    # In place: the committed go.mod takes the SDK from ../../../sdk/go, as a user's takes it
    # from their checkout; -mod=readonly writes nothing there.
    run = go("build", "-o", str(tmp_path / "tuning-program"), ".", cwd=HERE / "go")
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "tuning-program").stat().st_size > 0


def test_go_build_reports_each_mistake_on_its_line(tmp_path: Path) -> None:
    module = tmp_path / "programs"
    module.mkdir()
    for name in ("go.mod", "go.sum"):
        shutil.copyfile(HERE / "go" / name, module / name)
    assert go("mod", "edit", f"-replace={SDK_MODULE}={ROOT / 'sdk' / 'go'}", cwd=module).returncode == 0
    for name, (line, mistake, _) in MISTAKES.items():
        (module / name).mkdir()
        (module / name / "main.go").write_text(wrong_variant(PROGRAM, line, mistake, "//"))
    run = go("build", *(f"./{name}" for name in MISTAKES), cwd=module)
    assert run.returncode != 0
    said: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for line in run.stderr.splitlines():
        match = _DIAGNOSTIC.match(line)
        if match:
            said[Path(match["file"]).parent.name].append((int(match["line"]), match["message"]))
        else:
            assert line.startswith(("# ", "\t")), f"unexpected go output: {line}"  # package headers
    for name, (_, _, message) in MISTAKES.items():
        wrong = wrong_line((module / name / "main.go").read_text())
        got = said.pop(name, [])
        assert got and all(number == wrong for number, _ in got), f"{name}: expected line {wrong}, got {got}"
        assert any(message in text for _, text in got), f"{name}: {got}"
    assert said == {}
