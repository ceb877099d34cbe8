"""What a user's type checker says about programs written against the typed SDK: mypy (strict)
and pyright (strict) each run once over a folder of small programs, and every mistake is
reported on its own line while correct programs, including ones passing another resource's
Output into an input, are clean. examples/own_program is checked in the same mypy run.

Each mistake sits on the line marked `# <- wrong`; the test asserts the checker reports that
line with the message given, and nothing anywhere else.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "own_program" / "__main__.py"
OWN_PROGRAM = "own_program"  # the example's name among the programs checked
# The checkout's own mypy cache: `make lint` (run before the tests by `make test`) has analysed
# pulumi, google-genai and the pulumi_gcp services it reads into it with the same strict settings
# (mypy_config), which makes this run warm.
MYPY_CACHE = ROOT / ".mypy_cache"


def mypy_config() -> str:
    """strict, with pyproject.toml's per-module overrides: mypy reads only the pulumi_gcp services
    `make lint` reads (the programs here use storage), with the same options, so its cache serves;
    without them this run would analyse all ~150 services (two minutes of CPU)."""
    overrides = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"].get("overrides", [])
    sections = ["[mypy]\nstrict = True\npython_version = 3.11\n"]
    for override in overrides:
        options = "".join(f"{key} = {value}\n" for key, value in override.items() if key != "module")
        sections.append(f"[mypy-{','.join(override['module'])}]\n{options}")
    return "\n".join(sections)


# The required inputs, for the programs that are about something else.
REQUIRED = 'project="p", base_model="gemini-3.5-flash", training_dataset_uri="gs://b/train.jsonl"'
ARGS = "from tuning_provider import TuningJobArgs\n\n"
JOB = f"from tuning_provider import TuningJob\n\njob = TuningJob(\"j\", {REQUIRED})\n"

CORRECT = """\
from typing import assert_type

import pulumi

from tuning_provider import TuningJob, TuningJobArgs
from tuning_provider.resource import MetricsDict

config = pulumi.Config()
first = TuningJob("first", TuningJobArgs(
    project=config.require("project"),
    base_model="gemini-3.5-flash",
    training_dataset_uri="gs://my-bucket/train.jsonl",
    epoch_count=config.get_int("epochs") or 3,
    adapter_size=4,
    learning_rate_multiplier=0.5,
    labels={"team": "reviews"},
    serve_checkpoint="best_eval_loss",
    wait_timeout_seconds=600,
))
also = TuningJob("also", project="p", base_model="gemini-3.5-flash", training_dataset_uri="gs://b/t.jsonl",
                 adapter_size="ADAPTER_SIZE_FOUR", opts=pulumi.ResourceOptions(protect=True))
assert_type(first.tuned_model_endpoint, pulumi.Output[str])
assert_type(first.epoch_count, pulumi.Output[int | None])
assert_type(first.metrics, pulumi.Output[MetricsDict | None])
loss = first.metrics.apply(lambda m: m.get("eval_loss") if m else None)
endpoints = first.checkpoints.apply(lambda cs: [c["checkpoint_id"] for c in cs])
pulumi.export("endpoint", first.tuned_model_endpoint)
pulumi.export("loss", loss)
"""

# Another resource's Output wherever an input goes: a tuned model into base_model (continuous
# tuning), a bucket's name into a URI, an Output inside the labels mapping, optional outputs
# (str | None) into optional inputs.
CHAINED = """\
import pulumi
import pulumi_gcp as gcp

from tuning_provider import TuningJob, TuningJobArgs

bucket = gcp.storage.Bucket("data", location="US")
first = TuningJob("first", TuningJobArgs(
    project="p", base_model="gemini-3.5-flash",
    training_dataset_uri=bucket.name.apply(lambda name: f"gs://{name}/train.jsonl"),
))
more = TuningJob("more", TuningJobArgs(
    project=first.project,
    base_model=first.tuned_model_name,
    training_dataset_uri=pulumi.Output.concat("gs://", bucket.name, "/more.jsonl"),
    labels={"from": first.state.apply(str.lower)},
    validation_dataset_uri=first.validation_dataset_uri,
    tuned_model_display_name=first.tuned_model_display_name,
))
"""


@dataclass(frozen=True)
class Program:
    body: str
    mypy: str = ""  # what mypy says on the `# <- wrong` line; "" for a clean program
    pyright: str = ""


PROGRAMS = {
    "correct": Program(CORRECT),
    "chained": Program(CHAINED),
    "misspelt_input": Program(
        ARGS + f"TuningJobArgs({REQUIRED}, epochs=3)  # <- wrong\n",
        mypy='Unexpected keyword argument "epochs" for "TuningJobArgs"',
        pyright='No parameter named "epochs"',
    ),
    "misspelt_keyword": Program(
        f"from tuning_provider import TuningJob\n\nTuningJob(\"j\", {REQUIRED}, epochs=3)  # <- wrong\n",
        mypy='No overload variant of "TuningJob" matches argument types',
        pyright='No overloads for "__init__" match the provided arguments',
    ),
    "wrong_type": Program(
        ARGS + f'TuningJobArgs({REQUIRED},\n              epoch_count="three")  # <- wrong\n',
        mypy='Argument "epoch_count" to "TuningJobArgs" has incompatible type "str"',
        pyright='Argument of type "Literal[\'three\']" cannot be assigned to parameter "epoch_count"',
    ),
    "missing_input": Program(
        ARGS + 'TuningJobArgs(project="p", training_dataset_uri="gs://b/train.jsonl")  # <- wrong\n',
        mypy='Missing named argument "base_model" for "TuningJobArgs"',
        pyright='Argument missing for parameter "base_model"',
    ),
    "misspelt_output": Program(
        "import pulumi\n" + JOB + 'pulumi.export("endpoint", job.tuned_model_endpont)  # <- wrong\n',
        mypy='"TuningJob" has no attribute "tuned_model_endpont"',
        pyright='Cannot access attribute "tuned_model_endpont" for class "TuningJob"',
    ),
    "misspelt_nested_key": Program(
        JOB + 'job.metrics.apply(lambda m: m["eval_los"] if m else None)  # <- wrong\n',
        mypy='TypedDict "MetricsDict" has no key "eval_los"',
        pyright='"eval_los" is not a defined key in "MetricsDict"',
    ),
    "reveal": Program(
        JOB + "reveal_type(job.tuned_model_endpoint)  # <- wrong\n",
        mypy='Revealed type is "pulumi.output.Output[builtins.str]"',
        pyright='Type of "job.tuned_model_endpoint" is "Output[str]"',
    ),
}


@dataclass(frozen=True)
class Said:
    file: str
    line: int
    message: str


@pytest.fixture(scope="module")
def programs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("user_programs")
    for name, program in PROGRAMS.items():
        (folder / f"{name}.py").write_text(program.body)
    (folder / f"{OWN_PROGRAM}.py").write_text(EXAMPLE.read_text())
    return folder


def wrong_line(folder: Path, name: str) -> int | None:
    lines = (folder / f"{name}.py").read_text().splitlines()
    return next((number for number, line in enumerate(lines, 1) if line.endswith("# <- wrong")), None)


def check_reports(folder: Path, said: list[Said], checker: str) -> None:
    by_file: dict[str, list[Said]] = defaultdict(list)
    for item in said:
        by_file[item.file].append(item)
    example = by_file.pop(OWN_PROGRAM, [])
    assert example == [], f"{checker} finds fault with examples/own_program/__main__.py: {example}"
    for name, program in PROGRAMS.items():
        expected = getattr(program, checker)
        got = by_file.pop(name, [])
        if not expected:
            assert got == [], f"{checker} finds fault with the correct program {name}.py: {got}"
            continue
        line = wrong_line(folder, name)
        assert [s for s in got if s.line != line] == [], f"{checker} on {name}.py: reports beyond line {line}"
        assert any(expected in s.message for s in got), f"{checker} on {name}.py line {line}: {got}"
    assert by_file == {}, f"{checker} reports on other files: {dict(by_file)}"


def test_mypy_reports_each_mistake_on_its_line_and_passes_correct_programs(programs: Path) -> None:
    config = programs / "mypy.ini"
    config.write_text(mypy_config())
    env = {**os.environ, "MYPYPATH": str(ROOT)}
    run = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(config), "--cache-dir", str(MYPY_CACHE),
         "--no-error-summary", "--show-error-codes", "--hide-error-context", "--no-pretty",
         *sorted(str(p) for p in programs.glob("*.py"))],
        capture_output=True, text=True, cwd=programs, env=env, timeout=900, check=False,
    )
    assert run.stderr == "", run.stderr
    pattern = re.compile(r"^(?P<path>[^:]+\.py):(?:(?P<line>\d+):)? (?P<kind>error|note): (?P<message>.*)$")
    said = []
    for line in run.stdout.splitlines():
        match = pattern.match(line)
        assert match, f"unexpected mypy output: {line}"
        if (programs / match["path"]).parent != programs and match["kind"] == "note":
            continue  # where a name it reported on is defined ("TuningJobArgs" defined here)
        said.append(Said(Path(match["path"]).stem, int(match["line"] or 0), match["message"]))
    check_reports(programs, said, "mypy")


@pytest.fixture(scope="session")
def pyright() -> str:
    """pyright of the pinned version: PYRIGHT names one, else scripts/install-pyright.sh installs
    it once per machine (only this test needs it)."""
    if "PYRIGHT" in os.environ:
        return os.environ["PYRIGHT"]
    installed = subprocess.run(["bash", str(ROOT / "scripts" / "install-pyright.sh")], capture_output=True,
                               text=True, timeout=900)
    assert installed.returncode == 0, f"scripts/install-pyright.sh failed:\n{installed.stderr}"
    return installed.stdout.strip()


def test_pyright_reports_each_mistake_on_its_line_and_passes_correct_programs(programs: Path, pyright: str) -> None:
    (programs / "pyrightconfig.json").write_text(json.dumps({
        "typeCheckingMode": "strict", "pythonVersion": "3.11", "extraPaths": [str(ROOT)],
        "include": ["."], "reportMissingModuleSource": False,
    }))
    run = subprocess.run(
        [pyright, "--outputjson", "--pythonpath", str(ROOT / ".venv" / "bin" / "python"), "--project",
         str(programs / "pyrightconfig.json")],
        capture_output=True, text=True, cwd=programs, timeout=900, check=False,
    )
    report = json.loads(run.stdout)
    said = [Said(Path(d["file"]).stem, d["range"]["start"]["line"] + 1, " ".join(d["message"].split()))
            for d in report["generalDiagnostics"]]
    check_reports(programs, said, "pyright")
