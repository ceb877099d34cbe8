"""Shared fixtures: a local emulator on a free port, a google-genai client pointed at it, and
GCS bucket folders with datasets in them.

    def test_something(genai_client, write_dataset):
        uri = write_dataset("train.jsonl")                 # gs://tuning-data/train.jsonl
        job = genai_client.tunings.tune(base_model="gemini-3.5-flash",
                                        training_dataset=types.TuningDataset(gcs_uri=uri))

- `gcs_dir`: a temporary folder served as Cloud Storage; it holds the bucket BUCKET.
- `write_dataset(name, examples=SAMPLE_EXAMPLES, *, bucket=BUCKET, lines=None)`: writes a
  JSONL tuning file into gcs_dir/bucket/name (from (question, answer) pairs, or raw `lines`)
  and returns its gs:// URI. `write_training_file` is the same fixture under another name.
- `sample_examples`: the (question, answer) pairs write_dataset writes by default.
- `emulator`: an Emulator on a free port with JOB_DURATION-second jobs and a fixed fault seed.
- `emulator_factory(**overrides)`: more emulators (other job durations, fault rates or rules,
  a list lag, a manual clock, the same state dir for restarts); all are stopped at teardown.
  `emulator.faults.add("POST tuningJobs after=reset")` injects faults into a running one.
- `genai_client`: google-genai in Vertex mode against `emulator` (PROJECT, LOCATION);
  `make_genai_client(emulator, location=LOCATION)` for another emulator or location.
- `manual_clock`: a clock tests move by hand (`manual_clock.advance(seconds)`), for
  emulator_factory(clock=manual_clock).
- `vertex_http(method, path, body=None, *, emulator=None, token="test-token")`: a raw HTTP
  call (urllib) returning (status, headers, JSON body), for what google-genai hides.
- `wait_for_job(client, name, until=TERMINAL_STATES, timeout=20)`: polls until the job's
  state is one of `until` and returns the job (generous bound: never a timing assumption).
- `start_tuning_job(client, uri, base_model="gemini-3.5-flash", **config)`: tunings.tune
  with a CreateTuningJobConfig(**config); returns the new job.
- `tuning_parent`: "projects/PROJECT/locations/LOCATION".
- `offline_pulumi_env(folder)`: the environment for the plain pulumi CLI with its state
  backend and home in `folder` and this repository importable (for tests that run it).
- `uv`: the path of uv at the locked version, as setup uses it (scripts/install-uv.sh).

`--clock-at YYYY-MM-DD` moves the wall clock of the test processes to that day (time-machine):
what fails then has a date on it (docs/development.md).

google-genai warns that its tuning support is experimental; that warning is silenced here.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from google import genai
from google.genai import types
from google.oauth2.credentials import Credentials

from tuning_provider.emulator import Emulator

PROJECT = "test-project"
LOCATION = "us-central1"
BUCKET = "tuning-data"
JOB_DURATION = 1.0
TERMINAL_STATES = ("JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED", "JOB_STATE_EXPIRED")
FAULT_SEED = 1234
REPOSITORY = Path(__file__).resolve().parent.parent

# Small but valid training data: distinct questions so answers can be told apart.
SAMPLE_EXAMPLES: tuple[tuple[str, str], ...] = (
    ("What is the capital of France?", "The capital of France is Paris."),
    ("What is the capital of Italy?", "The capital of Italy is Rome."),
    ("How many legs does a spider have?", "A spider has eight legs."),
    ("What colour is a clear daytime sky?", "A clear daytime sky is blue."),
    ("Which planet is known as the red planet?", "Mars is known as the red planet."),
    ("What is the boiling point of water at sea level in Celsius?", "Water boils at 100 degrees Celsius at sea level."),
    ("Who wrote the play Romeo and Juliet?", "William Shakespeare wrote Romeo and Juliet."),
    ("What gas do plants absorb from the air?", "Plants absorb carbon dioxide from the air."),
    ("How many days are in a leap year?", "A leap year has 366 days."),
    ("What is the largest ocean on Earth?", "The Pacific is the largest ocean on Earth."),
    ("What is the chemical symbol for gold?", "The chemical symbol for gold is Au."),
    ("How many continents are there?", "There are seven continents."),
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--clock-at", metavar="YYYY-MM-DD",
        help="run with the wall clock moved to this day (00:00 UTC, then ticking) in the test processes "
        "(time-machine): what fails has a date on it. Subprocesses (the pulumi CLI, its provider) keep "
        "the real clock",
    )


def pytest_configure(config: pytest.Config) -> None:
    # In the controller and in every xdist worker: each is a process of its own.
    day = config.getoption("--clock-at", default=None)
    if day:
        import datetime as dt

        import time_machine

        moment = dt.datetime.combine(dt.date.fromisoformat(day), dt.time(), dt.UTC)
        traveller = time_machine.travel(moment, tick=True)
        traveller.start()
        config.add_cleanup(traveller.stop)


# Workers per core for `-n auto`: measured on 2 cores, a test spends most of its time waiting
# (on a job's clock, a poll interval, a CLI starting its plugins), so two per core keep both cores
# busy without the engine tests' CPU bursts starving each other (docs/development.md).
WORKERS_PER_CORE = 2
MAX_WORKERS = 8


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    return min(MAX_WORKERS, WORKERS_PER_CORE * len(os.sched_getaffinity(0)))


# Tests that share an expensive session fixture (the wheel and the virtualenv it is installed
# in) run on one worker, so that it is built once. (xdist's own `--dist loadgroup` marks groups
# by rewriting a private node id that pytest 9 no longer reads.)
SHARED_FIXTURE_FOLDERS = ("tests/packaging/",)
# Tests that take the longest on their own (measured with --durations: tsc and go builds 10-20 s,
# a venv filled by pip 12 s, mypy on the user programs 10 s after `make lint`, a minute without its
# cache): started before everything else.
LONGEST_FIRST = ("tests/codegen/test_user_programs.py", "tests/languages/", "tests/setup/test_install_venv.py")


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    from xdist.scheduler import LoadScopeScheduling

    class SharedFixtureScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return next((folder for folder in SHARED_FIXTURE_FOLDERS if nodeid.startswith(folder)), nodeid)

    return SharedFixtureScheduling(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--clock-at", default=None):
        moved = pytest.mark.skip(reason="reads the real clock in C (marked real_clock): --clock-at cannot move it")
        for item in items:
            if item.get_closest_marker("real_clock") is not None:
                item.add_marker(moved)
    # The longest tests go to the workers first, so that the short ones fill the gaps instead of
    # leaving one long test running alone at the end: the single longest ones (other toolchains
    # checking programs), then the real CLI and the installed wheel, then the rest.
    def rank(item: pytest.Item) -> int:
        if item.nodeid.startswith(LONGEST_FIRST):
            return 0
        engine = item.get_closest_marker("engine") is not None
        return 1 if engine or item.nodeid.startswith(SHARED_FIXTURE_FOLDERS) else 2

    items.sort(key=rank)


def example_line(question: str, answer: str) -> str:
    """One JSONL tuning example: a user turn and the model turn answering it."""
    return json.dumps(
        {"contents": [{"role": "user", "parts": [{"text": question}]},
                      {"role": "model", "parts": [{"text": answer}]}]}
    )


def offline_pulumi_env(folder: Path) -> dict[str, str]:
    """The plain CLI's environment for a test: a file state backend and PULUMI_HOME of its own
    in `folder`, the empty passphrase of local stacks, and this repository importable by the
    program and the provider (a copied project has only Pulumi.yaml and __main__.py)."""
    (folder / "backend").mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        "PULUMI_BACKEND_URL": f"file://{folder / 'backend'}",
        "PULUMI_HOME": str(folder / "home"),
        "PULUMI_CONFIG_PASSPHRASE": "",
        "PYTHONPATH": str(REPOSITORY),
        # The provider's machine cache (dataset verdicts, lines shown) of this test only.
        "PULUMI_VERTEX_TUNING_CACHE": str(folder / "cache"),
    }


@pytest.fixture(scope="session")
def uv() -> Path:
    """uv of the version requirements-uv.txt locks, from the per-user cache where
    scripts/install-uv.sh keeps it (installing it there the first time on a machine)."""
    found = subprocess.run(["bash", str(REPOSITORY / "scripts" / "install-uv.sh")], capture_output=True, text=True,
                           timeout=600)
    assert found.returncode == 0, f"scripts/install-uv.sh failed:\n{found.stderr}"
    return Path(found.stdout.strip())


class ManualClock:
    """A clock that moves only when told to; call it for the time in epoch seconds."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(autouse=True)
def _machine_cache_of_this_test(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The provider's machine cache in the test's own folder, never the user's ~/.cache; and
    each test a provider process of its own (check lines are shown once per process)."""
    monkeypatch.setenv("PULUMI_VERTEX_TUNING_CACHE", str(tmp_path / "machine-cache"))
    from tuning_provider import engine_log

    engine_log.reset_shown()


@pytest.fixture
def gcs_dir(tmp_path: Path) -> Path:
    root = tmp_path / "gcs"
    (root / BUCKET).mkdir(parents=True)
    return root


@pytest.fixture
def write_dataset(gcs_dir: Path) -> Callable[..., str]:
    def write(
        name: str = "train.jsonl",
        examples: Sequence[tuple[str, str]] = SAMPLE_EXAMPLES,
        *,
        bucket: str = BUCKET,
        lines: Sequence[str] | None = None,
    ) -> str:
        path = gcs_dir / bucket / name
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = list(lines) if lines is not None else [example_line(q, a) for q, a in examples]
        path.write_text("\n".join(rows) + "\n", encoding="utf-8")
        return f"gs://{bucket}/{name}"

    return write


@pytest.fixture
def write_training_file(write_dataset: Callable[..., str]) -> Callable[..., str]:
    return write_dataset


@pytest.fixture
def sample_examples() -> tuple[tuple[str, str], ...]:
    """The (question, answer) pairs `write_dataset` writes by default."""
    return SAMPLE_EXAMPLES


@pytest.fixture
def manual_clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def emulator_factory(tmp_path: Path, gcs_dir: Path) -> Iterator[Callable[..., Emulator]]:
    started: list[Emulator] = []

    def start(**overrides: Any) -> Emulator:
        settings: dict[str, Any] = {
            "state_dir": tmp_path / "state",
            "gcs_dir": gcs_dir,
            "job_duration": JOB_DURATION,
            "fault_seed": FAULT_SEED,
        }
        settings.update(overrides)
        emulator = Emulator(**settings).start()
        started.append(emulator)
        return emulator

    yield start
    for emulator in started:
        emulator.stop()


@pytest.fixture
def emulator(emulator_factory: Callable[..., Emulator]) -> Emulator:
    return emulator_factory()


@pytest.fixture
def make_genai_client() -> Callable[..., genai.Client]:
    def make(emulator: Emulator, location: str = LOCATION) -> genai.Client:
        return genai.Client(
            vertexai=True,
            project=PROJECT,
            location=location,
            credentials=Credentials(token="test-token"),
            http_options=types.HttpOptions(base_url=emulator.url, api_version="v1"),
        )

    return make


@pytest.fixture
def genai_client(emulator: Emulator, make_genai_client: Callable[..., genai.Client]) -> genai.Client:
    return make_genai_client(emulator)


@pytest.fixture
def tuning_parent() -> str:
    return f"projects/{PROJECT}/locations/{LOCATION}"


@pytest.fixture
def vertex_http(request: pytest.FixtureRequest) -> Callable[..., tuple[int, dict[str, str], Any]]:
    def call(
        method: str,
        path: str,
        body: Any = None,
        *,
        emulator: Emulator | None = None,
        token: str | None = "test-token",
        raw_body: bytes | None = None,
    ) -> tuple[int, dict[str, str], Any]:
        target = emulator or request.getfixturevalue("emulator")
        data = raw_body if raw_body is not None else (json.dumps(body).encode() if body is not None else None)
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        http_request = urllib.request.Request(target.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(http_request, timeout=10) as response:
                status, answer_headers, payload = response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            status, answer_headers, payload = error.code, dict(error.headers), error.read()
        return status, answer_headers, json.loads(payload) if payload else None

    return call


@pytest.fixture
def wait_for_job() -> Callable[..., types.TuningJob]:
    def wait(
        client: genai.Client, name: str, *, until: Sequence[str] = TERMINAL_STATES, timeout: float = 20.0
    ) -> types.TuningJob:
        deadline = time.monotonic() + timeout
        while True:
            job = client.tunings.get(name=name)
            if job.state is not None and job.state.value in until:
                return job
            if time.monotonic() > deadline:
                raise AssertionError(f"{name} was still {job.state} after {timeout}s")
            time.sleep(0.05)

    return wait


@pytest.fixture
def start_tuning_job() -> Callable[..., types.TuningJob]:
    def start(client: genai.Client, uri: str, base_model: str = "gemini-3.5-flash", **config: Any) -> types.TuningJob:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*experimental")
            return client.tunings.tune(
                base_model=base_model,
                training_dataset=types.TuningDataset(gcs_uri=uri),
                config=types.CreateTuningJobConfig(**config),
            )

    return start
