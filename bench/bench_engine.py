"""Benchmark of TuningJobs through the real engine: the plain `pulumi` CLI against the emulator.

Prints, in one run:
- `pulumi up` of 1 job vs N jobs as separate TuningJob resources (with the provider's wide
  pool for long calls, and with it turned off: Pulumi's 4 workers) and as a sweep of N trials;
- `pulumi preview` of a deployed TuningJob vs a deployed bare dynamic resource (best of R);
- completion latency: how long after a job's endTime the provider first read it SUCCEEDED,
  and the time between two reads of a job while it waited (from submission to that read),
  over N jobs whose durations spread over one poll interval (so that their ends fall anywhere
  between two reads, as real jobs' do);
- the whole `python -m tuning_provider validate --json` process on the ~300 MB file of
  bench_dataset.py vs a whole process that only decodes each line with msgspec (best of R;
  bench_dataset.py's own comparison, which also says where the time goes);
- the targets of issues 23 and 29, each with the figure it is judged on and whether it is met.

Every command's wall time and CPU time (user+sys of its whole process tree, from
getrusage(RUSAGE_CHILDREN)) are taken. The machine may be shared: previews are judged on CPU
time, which other work on the machine barely moves; `up` on wall time, since jobs run on the
clock, and the validate process on wall time too, since that is what its user waits for
(issue 29; its CPU time is shown beside). Python processes write and reuse bytecode caches as
they do for a user (PYTHONDONTWRITEBYTECODE is cleared for them; the package is compiled
first).

Each scenario is a fresh project folder (Pulumi.yaml, a small __main__.py, the repository's
.venv) with its own file state backend; the emulator runs in this process, jobs of
`--job-seconds`. The engine's own limit, `--parallel` (4 per CPU by default), applies as
it would for a user unless `--parallel` is given here.

    .venv/bin/python bench/bench_engine.py [--jobs 8] [--job-seconds 20] [--repeat 3]
"""

from __future__ import annotations

import argparse
import compileall
import datetime as dt
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.bench_dataset import compare_processes  # noqa: E402
from tuning_provider.emulator import Emulator  # noqa: E402
from tuning_provider.emulator.http.app import Request, Response  # noqa: E402
from tuning_provider.pulumi_internals import WORKERS_ENV  # noqa: E402

PULUMI = REPO / ".venv" / "bin" / "pulumi"
PYTHON = REPO / ".venv" / "bin" / "python"
PROJECT, LOCATION, STACK = "bench-project", "us-central1", "bench"
BUCKET = "bench-datasets"
TRAIN = REPO / "examples" / "data" / "train.jsonl"
VALIDATION = REPO / "examples" / "data" / "validation.jsonl"
SEED = 20261130
BIG_FILE = REPO / "bench" / "data" / "train-300mb-seed20261124-unicode0.02.jsonl"
# Issue 23's targets: preview of a TuningJob / of a bare dynamic resource, up of 8 jobs / of
# one, and the validate process's speed / the msgspec reference's.
PREVIEW_TARGET, UP_TARGET, VALIDATE_TARGET = 1.15, 1.15, 1.0
# What a user's Python does: write bytecode caches and reuse them (this environment may not).
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}

_JOB_PROGRAM = """
import pulumi
from tuning_provider import TuningJob, TuningJobArgs

for index in range({jobs}):
    job = TuningJob(f"{prefix}-{{index}}", TuningJobArgs(
        project="{project}", location="{location}", base_model="gemini-3.5-flash",
        training_dataset_uri="gs://{bucket}/train.jsonl", epoch_count=2, adapter_size=4,
        poll_interval_seconds={poll}, wait_timeout_seconds=3600))
    pulumi.export(f"endpoint{{index}}", job.tuned_model_endpoint)
"""

_SWEEP_PROGRAM = """
import pulumi
from stacks.sweep import Sweep, SweepSettings

sweep = Sweep("sweep", SweepSettings(
    base={{"project": "{project}", "location": "{location}", "base_model": "gemini-3.5-flash",
           "training_dataset_uri": "gs://{bucket}/train.jsonl",
           "validation_dataset_uri": "gs://{bucket}/validation.jsonl",
           "poll_interval_seconds": {poll}, "wait_timeout_seconds": 3600}},
    grid={grid}))
pulumi.export("best", sweep.best)
"""

_BARE_PROVIDER = '''
from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider


class BareProvider(ResourceProvider):
    def create(self, props):
        return CreateResult("bare", dict(props))

    def diff(self, _id, olds, news):
        return DiffResult(changes=False)
'''

_BARE_PROGRAM = """
import pulumi
from pulumi.dynamic import Resource
from bare_provider import BareProvider



class Bare(Resource, module="bench", name="Bare"):
    pass


Bare(BareProvider(), "bare", {"value": 1})
"""


class Watch:
    """Sees every answer of the emulator (its `on_answer`) and gives each new job its duration
    (its `job_duration`): for each job, when the provider first read it SUCCEEDED, its endTime,
    and how many times it was read."""

    def __init__(self, job_seconds: float) -> None:
        self._base_duration = job_seconds
        # When set, each new job runs base + uniform(0, spread) seconds: ends fall anywhere
        # between two reads, as real jobs' do, instead of in step with the poll interval.
        self.spread = 0.0
        self._random = random.Random(SEED)
        self._lock = threading.Lock()
        self.reads: dict[str, int] = {}
        self.created: dict[str, float] = {}
        self.noticed: dict[str, tuple[float, float]] = {}  # job -> (first read SUCCEEDED, endTime)

    def job_duration(self) -> float:
        with self._lock:
            return self._base_duration + self._random.uniform(0, self.spread)

    def observe(self, request: Request, response: Response) -> None:
        if request.method != "GET" or "/tuningJobs/" not in request.path or not isinstance(response.body, bytes):
            return
        now = time.time()
        try:
            body = json.loads(response.body)
        except ValueError:
            return
        name = str(body.get("name", ""))
        with self._lock:
            self.reads[name] = self.reads.get(name, 0) + 1
            if "createTime" in body:
                self.created.setdefault(name, _epoch(body["createTime"]))
            if body.get("state") in ("JOB_STATE_SUCCEEDED", 4) and name not in self.noticed:
                self.noticed[name] = (now, _epoch(body["endTime"]))

    def reset(self) -> None:
        with self._lock:
            self.reads.clear()
            self.created.clear()
            self.noticed.clear()


class Measured(NamedTuple):
    """One command: wall seconds, and CPU seconds (user+sys) of its whole process tree."""

    wall: float
    cpu: float


def _run(argv: list[str], **kwargs: Any) -> tuple[subprocess.CompletedProcess[str], Measured]:
    """Run a command to its end; nothing else of this process's children runs meanwhile, so
    the growth of RUSAGE_CHILDREN is its tree's CPU (every process in it was waited for)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    run = subprocess.run(argv, check=False, **kwargs)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return run, Measured(wall, cpu)


def _epoch(timestamp: str) -> float:
    return dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()


class Project:
    """A project folder with one stack, its own state, and the repository's virtualenv."""

    def __init__(self, root: Path, name: str, program: str, config: dict[str, str],
                 files: dict[str, str] | None = None) -> None:
        self.dir = root / name
        self.dir.mkdir(parents=True)
        (self.dir / ".venv").symlink_to(REPO / ".venv")
        (self.dir / "Pulumi.yaml").write_text(
            "name: tuning\nruntime:\n  name: python\n  options:\n    toolchain: pip\n    virtualenv: .venv\n"
        )
        (self.dir / "__main__.py").write_text(program)
        for file, text in (files or {}).items():
            (self.dir / file).write_text(text)
        lines = "".join(f"  {key}: {json.dumps(value)}\n" for key, value in config.items())
        (self.dir / f"Pulumi.{STACK}.yaml").write_text(f"config:\n{lines}")
        (self.dir / "state").mkdir()
        self.env = {
            **_ENV,
            "PULUMI_BACKEND_URL": f"file://{self.dir / 'state'}",
            "PULUMI_HOME": str(root / "pulumi-home"),
            "PULUMI_CONFIG_PASSPHRASE": "",
            "PYTHONPATH": f"{REPO}{os.pathsep}{self.dir}",
        }
        self.pulumi("stack", "init", STACK, stack=False)

    def pulumi(self, *args: str, stack: bool = True, env: dict[str, str] | None = None) -> Measured:
        """Run one pulumi command; its wall and CPU time. Fails loudly."""
        run, measured = _run(
            [str(PULUMI), *args, *(("--stack", STACK) if stack else ()), "--non-interactive"],
            cwd=self.dir, env={**self.env, **(env or {})}, capture_output=True, text=True,
        )
        if run.returncode != 0:
            raise SystemExit(f"pulumi {' '.join(args)} failed in {self.dir}:\n{run.stdout}\n{run.stderr}")
        return measured


def _best(runs: list[Measured]) -> Measured:
    """The least wall and the least CPU time of several runs (each may come from a different
    run): other work on the machine only ever slows a run down."""
    return Measured(min(r.wall for r in runs), min(r.cpu for r in runs))


def _verdict(label: str, ratio: float, judged_on: str, target: float, *, at_most: bool, other: str = "") -> str:
    within = ratio <= target if at_most else ratio >= target
    bound = f"{'<=' if at_most else '>='} {target:.2f}x"
    return (f"  {label:<44}{ratio:>6.2f}x {judged_on:<5}{other:<14} target {bound:<9} "
            f"{'within' if within else 'NOT within'}")


def _grid(trials: int) -> dict[str, list[Any]]:
    """A grid of exactly `trials` settings (a product of epochs, learning rates, adapter sizes)."""
    for epochs in (1, 2, 3, 4):
        for rates in (1, 2, 4):
            for sizes in (1, 2):
                if epochs * rates * sizes == trials:
                    return {"epoch_count": list(range(1, epochs + 1)),
                            "learning_rate_multiplier": [0.5, 1.0, 2.0, 4.0][:rates],
                            "adapter_size": [4, 8][:sizes]}
    return {"epoch_count": list(range(1, trials + 1))}


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=8, help="jobs in the many-jobs runs (default 8)")
    parser.add_argument("--job-seconds", type=float, default=20.0, help="how long each emulator job runs")
    parser.add_argument("--repeat", type=int, default=5, help="runs per preview and validate figure; the best shown")
    parser.add_argument("--parallel", type=int, help="pass --parallel P to pulumi up (default: pulumi's own)")
    parser.add_argument("--poll", type=float, default=10.0, help="poll_interval_seconds of the jobs (default 10)")
    parser.add_argument("--skip", nargs="*", default=[],
                        choices=["separate", "without-hook", "sweep", "latency", "validate"])
    return parser.parse_args()


@dataclass
class _Bench:
    """One run of the benchmark: the emulator's endpoint, the projects made in `root`, and the
    figures gathered on the way (each scenario a method, in the order they are printed)."""

    args: argparse.Namespace
    root: Path
    watch: Watch
    config: dict[str, str]  # every project's stack config: the emulator's endpoint
    latencies: list[float] = field(default_factory=list)
    read_gaps: list[float] = field(default_factory=list)
    verdicts: list[str] = field(default_factory=list)

    @property
    def up(self) -> list[str]:
        parallel = ["--parallel", str(self.args.parallel)] if self.args.parallel else []
        return ["up", "--yes", "--skip-preview", *parallel]

    def program(self, template: str, **values: Any) -> str:
        return template.format(project=PROJECT, location=LOCATION, bucket=BUCKET, poll=self.args.poll, **values)

    def timed_up(self, name: str, program: str, env: dict[str, str] | None = None) -> tuple[Measured, Project]:
        self.watch.reset()
        project = Project(self.root, name, program, self.config)
        measured = project.pulumi(*self.up, env=env)
        for job, (noticed, ended) in self.watch.noticed.items():
            self.latencies.append(noticed - ended)
            # The mean time between two reads of the job while the provider waited for it.
            reads = self.watch.reads.get(job, 0)
            if reads > 1:
                self.read_gaps.append((noticed - self.watch.created.get(job, noticed)) / (reads - 1))
        return measured, project

    @staticmethod
    def show_up(label: str, measured: Measured, one: Measured | None = None) -> None:
        ratio = f"{measured.wall / one.wall:>7.2f}x" if one else " " * 8
        print(f"{label:<52}{measured.wall:>8.1f} s{ratio}   (CPU {measured.cpu:.1f} s)", flush=True)

    def ups(self) -> Project:
        """The `pulumi up` figures; returns the one-job project, for the previews."""
        args, skip = self.args, self.args.skip
        # Each scenario's resources have names of their own: equal names would adopt the jobs
        # of an earlier scenario by their fingerprint label, and run none.
        one, one_project = self.timed_up("one", self.program(_JOB_PROGRAM, jobs=1, prefix="one"))
        self.show_up("up, 1 job", one)
        if "separate" not in skip:
            many, _ = self.timed_up("separate", self.program(_JOB_PROGRAM, jobs=args.jobs, prefix="wide"))
            self.show_up(f"up, {args.jobs} separate TuningJobs (wide pool for long calls)", many, one)
            self.verdicts.append(_verdict(f"up, {args.jobs} jobs / 1 job", many.wall / one.wall, "wall", UP_TARGET,
                                          at_most=True))
        if "without-hook" not in skip:
            narrow, _ = self.timed_up("separate-narrow", self.program(_JOB_PROGRAM, jobs=args.jobs, prefix="narrow"),
                                      env={WORKERS_ENV: "0"})
            self.show_up(f"up, {args.jobs} separate TuningJobs (Pulumi 4 workers)", narrow, one)
        if "sweep" not in skip:
            try:
                sweep, _ = self.timed_up("sweep", self.program(_SWEEP_PROGRAM, grid=repr(_grid(args.jobs))))
                self.show_up(f"up, sweep of {args.jobs} trials", sweep, one)
            except SystemExit as failed:  # the sweep reads TuningJob's `metrics` output (issue 13)
                reason = str(failed).strip().splitlines()
                print(f"up, sweep of {args.jobs} trials: failed: {[r for r in reason if 'Error' in r][:1]}",
                      flush=True)
        # Jobs whose ends fall anywhere between two reads: the latency users see on average.
        if "latency" not in skip:
            self.latencies.clear()
            self.read_gaps.clear()
            self.watch.spread = args.poll
            spread, _ = self.timed_up("latency", self.program(_JOB_PROGRAM, jobs=args.jobs, prefix="latency"))
            self.watch.spread = 0.0
            self.show_up(f"up, {args.jobs} jobs of {args.job_seconds:g}-{args.job_seconds + args.poll:g} s", spread)
        return one_project

    def previews(self, one_project: Project) -> None:
        """A deployed TuningJob's preview against a bare dynamic resource's."""
        bare = Project(self.root, "bare", _BARE_PROGRAM, self.config, files={"bare_provider.py": _BARE_PROVIDER})
        bare.pulumi(*self.up)
        # Taken in turns, so that other work on the machine weighs on both alike.
        previews = [(bare.pulumi("preview"), one_project.pulumi("preview")) for _ in range(self.args.repeat)]
        bare_preview = _best([bare_run for bare_run, _ in previews])
        job_preview = _best([job_run for _, job_run in previews])
        print(f"{'preview, deployed bare dynamic resource':<52}{bare_preview.wall:>8.2f} s"
              f"{'':8}   (CPU {bare_preview.cpu:.2f} s)", flush=True)
        print(f"{'preview, deployed TuningJob':<52}{job_preview.wall:>8.2f} s"
              f"{job_preview.wall / bare_preview.wall:>7.2f}x   (CPU {job_preview.cpu:.2f} s, "
              f"{job_preview.cpu / bare_preview.cpu:.2f}x)", flush=True)
        self.verdicts.insert(0, _verdict(
            "preview, TuningJob / bare dynamic resource", job_preview.cpu / bare_preview.cpu, "CPU", PREVIEW_TARGET,
            at_most=True, other=f"(wall {job_preview.wall / bare_preview.wall:.2f}x)"))

    def reads(self) -> None:
        """How soon the provider noticed a job's end, and how often it read the job."""
        if self.latencies:
            print(f"{'completion noticed after endTime, mean':<52}{statistics.mean(self.latencies):>8.1f} s"
                  f"   (max {max(self.latencies):.1f} s, {len(self.latencies)} jobs)", flush=True)
        if self.read_gaps:
            print(f"{'seconds between two reads of a job, mean':<52}{statistics.mean(self.read_gaps):>8.1f} s"
                  f"   (min {min(self.read_gaps):.1f} s)", flush=True)

    def validate(self) -> None:
        """The validate process against a msgspec decode of every line."""
        if not BIG_FILE.exists():
            print(f"validate: {BIG_FILE.name} missing; run bench/bench_dataset.py once to generate it")
            return
        print("processes: validate --json vs msgspec decode of every line (reference)", flush=True)
        reference, validate = compare_processes(BIG_FILE, self.args.repeat, _ENV)
        self.verdicts.append(_verdict(
            "validate process speed / msgspec reference", reference.wall / validate.wall, "wall",
            VALIDATE_TARGET, at_most=False, other=f"(CPU {reference.cpu / validate.cpu:.2f}x)"))

    def conclude(self) -> None:
        print("targets (issues 23 and 29): previews judged on CPU time (user+sys of the whole process "
              "tree, best of runs), up and validate on wall time", flush=True)
        for line in self.verdicts:
            print(line, flush=True)


def main() -> None:
    args = _arguments()
    # Bytecode as a user's Python leaves it: written once, reused by every later process.
    compileall.compile_dir(REPO / "tuning_provider", quiet=1)
    compileall.compile_dir(REPO / "stacks", quiet=1)
    root = Path(tempfile.mkdtemp(prefix="bench-engine-"))
    gcs = root / "gcs"
    (gcs / BUCKET).mkdir(parents=True)
    shutil.copyfile(TRAIN, gcs / BUCKET / "train.jsonl")
    shutil.copyfile(VALIDATION, gcs / BUCKET / "validation.jsonl")
    watch = Watch(args.job_seconds)
    emulator = Emulator(root / "emulator", gcs, job_duration=watch.job_duration, on_answer=watch.observe).start()
    bench = _Bench(args, root, watch, {"tuning:apiEndpoint": emulator.url})
    try:
        print(f"emulator jobs of {args.job_seconds:g} s; poll_interval_seconds {args.poll:g}; "
              f"pulumi up --parallel {args.parallel or 'default (4 per CPU: ' + str(4 * (os.cpu_count() or 1)) + ')'}; "
              "bytecode caches on, as for a user", flush=True)
        one_project = bench.ups()
        bench.previews(one_project)
        bench.reads()
        if "validate" not in args.skip:
            bench.validate()
        bench.conclude()
    finally:
        emulator.stop()
        shutil.rmtree(root, ignore_errors=True)

if __name__ == "__main__":
    main()
