"""Engine-test fixtures: the plain `pulumi` CLI, as users type it, on a copy of this project.

- `Project`: Pulumi.yaml and __main__.py copied into a temporary folder with one stack
  (`enginetest`) whose config `set_job`/`write` rewrite, its own file state backend, and the
  project's virtualenv linked in. `project.pulumi("up", "--yes")` runs the CLI there, and
  `deploy()` the first up a test starts from (without its preview phase), returning the outputs;
  `outputs()`, `resource()` (the TuningJob as recorded in state), `jobs()` (every job the
  emulator holds) and `ask(outputs)` (a question to the endpoint the outputs name) check it.
- `YamlProject`: the same TuningJob and stack outputs declared by a Pulumi YAML program
  (`runtime: yaml`) through the provider plugin `pulumi-resource-vertex-tuning`, found on
  PATH in the project's virtualenv; `set_job` takes the same settings. The `project` fixture
  is the Python program, or the YAML one for a test marked `@BOTH_FACES` (each such test runs
  once per face: the serving invariant holds through either).
- `start_pulumi(...)`: the CLI in the background, for tests that interrupt it; every process
  it started (the CLI, the language host, the program, the provider) is stopped at teardown.
- `emulator`: jobs of ENGINE_JOB_SECONDS on `clock`, which a test freezes to keep a job
  running while it acts (cancel it, interrupt the CLI, reach a wait bound).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from stacks.engine import ROOT, Recovery, pulumi_executable, recover, run_pulumi
from stacks.job import JOB_OUTPUTS
from tests.conftest import BUCKET, SAMPLE_EXAMPLES, example_line, offline_pulumi_env
from tuning_provider import vertex
from tuning_provider.emulator import Emulator
from tuning_provider.engine_log import RESOURCE_TYPE
from tuning_provider.plugin import properties

# A quick `pulumi up` (a few polls at the 0.5 s poll interval); tests that act on a running job
# freeze the emulator's clock instead.
ENGINE_JOB_SECONDS = 1.0
STACK = "enginetest"
PROJECT, LOCATION = "engine-project", "us-central1"
RESOURCE_NAME = "engine-job"
URN = f"urn:pulumi:{STACK}::tuning::{RESOURCE_TYPE}::{RESOURCE_NAME}"
QUESTION = "What is the capital of France?"
# The TuningJob every engine test starts from (the stack's tuning:job settings).
JOB_SETTINGS: dict[str, Any] = {
    "base_model": "gemini-3.5-flash",
    "epoch_count": 2,
    "adapter_size": 4,
    "poll_interval_seconds": 0.5,
    "wait_timeout_seconds": 120,
}
FACES = ("python", "yaml")
# Runs a test once per provider face: the Python program (dynamic provider), the YAML one (plugin).
BOTH_FACES = pytest.mark.parametrize("face", FACES, indirect=True)


class Project:
    """A copy of the project with one test stack, its own state backend and its own emulator."""

    # The face: the TuningJob's type, and how its properties are named (the spec's own names).
    resource_type = RESOURCE_TYPE
    urn = URN

    @staticmethod
    def name_of(field: str) -> str:
        """A TuningJob field as this face's program and previews name it."""
        return field

    def __init__(self, root: Path, emulator: Emulator, gcs_dir: Path, train: Path) -> None:
        self.dir = root / "project"
        (self.dir / "stacks").mkdir(parents=True)
        self.emulator = emulator
        self.started: list[subprocess.Popen[str]] = []
        self.env = offline_pulumi_env(root / "pulumi")
        self._write_program(gcs_dir, train)
        self.pulumi("stack", "init", STACK, "--no-select", stack=False)

    def _write_program(self, gcs_dir: Path, train: Path) -> None:
        for name in ("Pulumi.yaml", "__main__.py"):
            shutil.copyfile(ROOT / name, self.dir / name)
        (self.dir / ".venv").symlink_to(ROOT / ".venv")  # Pulumi.yaml's `virtualenv: .venv`
        self.config: dict[str, Any] = {
            "tuning:apiEndpoint": self.emulator.url,
            "tuning:project": PROJECT,
            "tuning:region": LOCATION,
            "tuning:trainingData": str(train),
            "tuning:localGcsDir": str(gcs_dir),
            "tuning:namePrefix": "engine",
            "tuning:job": dict(JOB_SETTINGS),
        }
        self.write()

    @property
    def conn(self) -> vertex.Connection:
        return vertex.connect(PROJECT, LOCATION, self.emulator.url)

    def write(self) -> None:
        path = self.dir / "stacks" / f"Pulumi.{STACK}.yaml"
        path.write_text(yaml.safe_dump({"config": self.config}))

    def set_job(self, **settings: Any) -> None:
        self.config["tuning:job"].update(settings)
        self.write()

    def use_validation_data(self, path: Path) -> None:
        self.config["tuning:validationData"] = str(path)
        self.write()

    def pulumi(self, *args: str, check: bool = True, stack: bool = True) -> subprocess.CompletedProcess[str]:
        """One pulumi command, as typed by a user in the project folder."""
        run = run_pulumi(*args, *(("--stack", STACK) if stack else ()), cwd=self.dir, env=self.env)
        if check and run.returncode != 0:
            raise AssertionError(f"pulumi {' '.join(args)} failed ({run.returncode}):\n{run.stdout}\n{run.stderr}")
        return run

    def deploy(self) -> dict[str, Any]:
        """The deployment a test starts from, and its stack outputs: `pulumi up --skip-preview`.
        The preview of a first `up` is checked by test_up_serves_a_model_and_a_second_up_changes_nothing
        in either face; here it would run again for nothing (a program, a provider and pip's
        package list, each a process of its own). The update checks the inputs all the same."""
        self.pulumi("up", "--yes", "--skip-preview")
        return self.outputs()

    def outputs(self) -> dict[str, Any]:
        return dict(json.loads(self.pulumi("stack", "output", "--json").stdout))

    def state(self) -> dict[str, Any]:
        return dict(json.loads(self.pulumi("stack", "export").stdout)["deployment"])

    def resource(self) -> dict[str, Any]:
        """The TuningJob's outputs as recorded in state, keyed by the spec's field names in
        either face (refresh updates these; stack outputs are recomputed only by `up`)."""
        (job,) = [r for r in self.state()["resources"] if r["type"].endswith(":TuningJob")]
        return properties.outputs_from_wire(job["outputs"]) if self.resource_type == properties.TOKEN \
            else dict(job["outputs"])

    def jobs(self) -> list[vertex.JobRecord]:
        return list(vertex.list_tuning_jobs(self.conn))

    def ask(self, outputs: dict[str, Any]) -> str:
        """The serving invariant, checked the way a serving app lives it: the endpoint the
        stack outputs name answers a question (and its model exists)."""
        assert outputs.get("tunedModelEndpoint"), f"the stack outputs name no endpoint: {outputs}"
        return vertex.generate_content(self.conn, outputs["tunedModelEndpoint"], QUESTION, temperature=0)

    def recovered_up_adopts(self, running: vertex.JobRecord) -> Recovery:
        """After an up that stopped while `running` trained: recovery as `make up` does it, then
        `pulumi up` adopts that job (never a second one) and the outputs name a model that answers.
        Returns what recovery found."""
        recovery = recover(STACK, cwd=self.dir, env=self.env)
        self.pulumi("up", "--yes")
        out = self.outputs()
        assert out["tuningJobName"] == running.name and "Paris" in self.ask(out)
        assert len(self.jobs()) == 1
        return recovery

    def start_pulumi(self, *args: str) -> subprocess.Popen[str]:
        """The CLI in the background in a session of its own; `close` stops what is left."""
        process = subprocess.Popen(
            [pulumi_executable(), *args, "--stack", STACK, "--non-interactive"], cwd=self.dir, env=self.env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        )
        self.started.append(process)
        return process

    def close(self) -> None:
        for process in self.started:
            if process.poll() is None:
                kill_tree(process)
            if process.stdout:
                process.stdout.close()


class YamlProject(Project):
    """The same stack as a Pulumi YAML program: one `vertex-tuning:TuningJob` (the provider
    plugin) with the stack outputs the Python program exports, its training data placed in the
    emulator's Cloud Storage folder, `vertex-tuning:apiEndpoint` pointing at the emulator."""

    resource_type = properties.TOKEN
    urn = f"urn:pulumi:{STACK}::tuning::{properties.TOKEN}::{RESOURCE_NAME}"

    @staticmethod
    def name_of(field: str) -> str:
        return properties.name_of(field)

    @classmethod
    def taking_over(cls, project: Project, job: dict[str, Any]) -> YamlProject:
        """`project`'s folder, stack and state with its program replaced by a YAML one declaring
        `job` (a TuningJob's inputs by field) under the same name: a user moving a job across faces."""
        moved = cls.__new__(cls)
        moved.dir, moved.emulator, moved.env = project.dir, project.emulator, project.env
        moved.started = project.started
        moved._use_venv_plugins()
        moved.job, moved.config = dict(job), {"vertex-tuning:apiEndpoint": project.emulator.url}
        moved.write()
        return moved

    def _use_venv_plugins(self) -> None:
        # The plugin is the venv's console script: the CLI finds it on PATH, as after `. .venv/bin/activate`.
        self.env["PATH"] = f"{ROOT / '.venv' / 'bin'}{os.pathsep}{self.env.get('PATH', '')}"

    def _write_program(self, gcs_dir: Path, train: Path) -> None:
        self._use_venv_plugins()
        self.gcs_dir = gcs_dir
        self.job: dict[str, Any] = {
            "project": PROJECT, "location": LOCATION, "training_dataset_uri": self._uploaded(train), **JOB_SETTINGS,
        }
        self.config = {"vertex-tuning:apiEndpoint": self.emulator.url}
        self.write()

    def write(self) -> None:
        name = RESOURCE_NAME
        outputs = {out: f"${{{name}.{properties.name_of(field)}}}" for out, field in JOB_OUTPUTS.items()}
        outputs["billableTokens"] = f"${{{name}.tuningDataStats.tokens}}"
        program = {
            "name": "tuning", "runtime": "yaml", "stackConfigDir": "stacks",
            "resources": {name: {"type": "vertex-tuning:TuningJob",
                                 "properties": properties.to_wire(self.job)}},
            "outputs": outputs,
        }
        (self.dir / "Pulumi.yaml").write_text(yaml.safe_dump(program, sort_keys=False))
        (self.dir / "stacks" / f"Pulumi.{STACK}.yaml").write_text(yaml.safe_dump({"config": self.config}))

    def set_job(self, **settings: Any) -> None:
        self.job.update(settings)
        self.write()

    def _uploaded(self, path: Path) -> str:
        """A local file placed in the emulator's Cloud Storage folder, as its gs:// URI."""
        shutil.copyfile(path, self.gcs_dir / BUCKET / f"engine-{path.name}")
        return f"gs://{BUCKET}/engine-{path.name}"


def descendants(pid: int) -> list[int]:
    """Every process started by `pid`, children first. Pulumi puts each plugin in a process
    group of its own, so killing the CLI's group leaves them running: find them by parentage."""
    found: list[int] = []
    pending = [pid]
    while pending:
        parent = pending.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                children = [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
            found += children
            pending += children
    return found


def kill_tree(process: subprocess.Popen[str]) -> None:
    """SIGKILL a process and everything it started (as a killed CI runner would)."""
    for pid in [*descendants(process.pid), process.pid]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    process.wait()


class FreezableClock:
    """Real time, until a test freezes it: jobs created or running then stay where they are
    (a replacement that is still running when the test acts on it) until `resume`."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._frozen: float | None = None

    def __call__(self) -> float:
        return self._frozen if self._frozen is not None else time.time() + self._offset

    def freeze(self) -> None:
        self._frozen = self()

    def resume(self) -> None:
        if self._frozen is not None:
            self._offset = self._frozen - time.time()
            self._frozen = None


@pytest.fixture
def clock() -> FreezableClock:
    return FreezableClock()


@pytest.fixture
def emulator(emulator_factory: Callable[..., Emulator], clock: FreezableClock) -> Emulator:
    return emulator_factory(job_duration=ENGINE_JOB_SECONDS, clock=clock)


def write_training_file(path: Path, examples: tuple[tuple[str, str], ...] = SAMPLE_EXAMPLES) -> Path:
    path.write_text("".join(example_line(q, a) + "\n" for q, a in examples), encoding="utf-8")
    return path


@pytest.fixture
def face(request: pytest.FixtureRequest) -> str:
    """Which program declares the TuningJob: "python" (the default) or "yaml" (@BOTH_FACES)."""
    return str(getattr(request, "param", "python"))


@pytest.fixture
def project(tmp_path: Path, emulator: Emulator, gcs_dir: Path, face: str) -> Iterator[Project]:
    yield from _project(tmp_path, emulator, gcs_dir, face)


def _project(tmp_path: Path, emulator: Emulator, gcs_dir: Path, face: str = "python") -> Iterator[Project]:
    kind = YamlProject if face == "yaml" else Project
    project = kind(tmp_path, emulator, gcs_dir, write_training_file(tmp_path / "train.jsonl"))
    yield project
    project.close()
