"""The plain `pulumi` CLI on this project, and getting a stack ready for it.

    python -m stacks.engine prepare --stack local     # `make up`/`preview` run it before `pulumi`
    python -m stacks.engine in-flight --stack dev     # the workflow's scheduled run asks it

`prepare` checks the stack file first (every config problem at once, and a YAML syntax error
with its file and line, which pulumi's own parser does not name), then recovers the stack
from an interrupted `pulumi up`.

`pulumi` here is the command users type: the virtualenv's `pulumi` when there is one (written
by scripts/setup.sh: the pinned CLI with the project's offline defaults), else the one on PATH.
A `pulumi up` killed half-way (Ctrl-C twice, a CI runner stopped) leaves a lock and "pending
creates" in the state, and the plain CLI does not clear either by itself; `recover` does, when
that is safe, so that the next `pulumi up` adopts the job already submitted instead of paying
for a second one.

`in-flight` says whether a tuning job of the stack is still running in Vertex after the `up`
that submitted it failed (it reached wait_timeout_seconds, or the CI job's own limit): a job
the stack's preview plans to create or replace, whose fingerprint a live job carries. The next
`pulumi up` adopts that job and waits for it; the workflow's scheduled run is that `up`. It
prints the jobs and exits 0, or exits 3 when none is in flight (1 on an error).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "ROOT",
    "Recovery",
    "jobs_in_flight",
    "main",
    "pulumi_executable",
    "recover",
    "recover_interrupted_creates",
    "release_stale_locks",
    "run_pulumi",
    "stack_outputs",
]

ROOT = Path(__file__).resolve().parent.parent


def pulumi_executable(root: Path = ROOT) -> str:
    """The `pulumi` a user of this project runs: the virtualenv's, else the one on PATH."""
    venv = root / ".venv" / "bin" / "pulumi"
    if venv.exists():
        return str(venv)
    found = shutil.which("pulumi")
    if found is None:
        raise RuntimeError("no pulumi CLI found: run `make setup` (it finds or builds one: scripts/install-pulumi.sh)")
    return found


def run_pulumi(
    *args: str, cwd: Path = ROOT, env: Mapping[str, str] | None = None, capture: bool = True
) -> subprocess.CompletedProcess[str]:
    """One non-interactive pulumi command in the project folder `cwd`."""
    return subprocess.run(
        [pulumi_executable(), *args, "--non-interactive"], cwd=cwd,
        env=dict(env) if env is not None else None, capture_output=capture, text=True, check=False,
    )


def _checked(run: subprocess.CompletedProcess[str], what: str) -> str:
    if run.returncode != 0:
        detail = (run.stderr or run.stdout or "").strip()
        raise RuntimeError(f"{what} failed: {detail}")
    return run.stdout


def stack_outputs(stack: str, cwd: Path = ROOT, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """`pulumi stack output --json` of a stack, secrets shown."""
    out = _checked(run_pulumi("stack", "output", "--json", "--show-secrets", "--stack", stack, cwd=cwd, env=env),
                   f"reading the outputs of stack {stack}")
    return dict(json.loads(out or "{}"))


def release_stale_locks(backend_url: str) -> list[Path]:
    """Remove stack locks of a file backend left by a pulumi process that no longer exists on
    this machine (a killed `pulumi up`), and return them. A lock held by a live process, or
    by another machine, is left alone: unlike `pulumi cancel`, this never breaks a running update."""
    if not backend_url.startswith("file://"):
        return []
    locks = Path(backend_url.removeprefix("file://").split("?", 1)[0]) / ".pulumi" / "locks"
    released = []
    for lock in locks.rglob("*.json") if locks.is_dir() else []:
        try:
            content = json.loads(lock.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if content.get("hostname") == socket.gethostname() and not _alive(int(content.get("pid", 0))):
            lock.unlink(missing_ok=True)
            released.append(lock)
            print(f"released the lock of an interrupted pulumi process (pid {content.get('pid')}): {lock}",
                  file=sys.stderr)
    return released


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A killed process whose parent died too may linger as a zombie until init reaps it.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def recover_interrupted_creates(stack: str, cwd: Path = ROOT, env: Mapping[str, str] | None = None) -> list[str]:
    """Clear the creates an interrupted `pulumi up` left pending, when every one of them is a
    TuningJob, and return their URNs. That is safe because a TuningJob create is idempotent: the
    next create finds the job it submitted by its fingerprint label and adopts it. A pending
    create of any other resource is left for a person to resolve (`pulumi refresh`)."""
    exported = json.loads(_checked(run_pulumi("stack", "export", "--stack", stack, cwd=cwd, env=env),
                                   f"reading the state of stack {stack}") or "{}")
    pending = (exported.get("deployment") or {}).get("pending_operations") or []
    creates = [op["resource"]["urn"] for op in pending if op.get("type") == "creating"]
    if not creates:
        return []
    others = [urn for urn in creates if ":TuningJob::" not in urn]
    if others:
        raise RuntimeError(
            "an interrupted update left creates pending for " + ", ".join(others) + "; check whether "
            "they exist in the cloud, then run `pulumi refresh` and import or clear them"
        )
    print(f"an interrupted update left {len(creates)} TuningJob create(s) pending; clearing them: "
          "the next create adopts the job by its fingerprint label", file=sys.stderr)
    _checked(run_pulumi("refresh", "--clear-pending-creates", "--yes", "--stack", stack, cwd=cwd, env=env),
             f"clearing the pending creates of stack {stack}")
    return creates


@dataclass(frozen=True)
class Recovery:
    """What `recover` found on a stack: the stale locks it released, the pending creates it cleared."""

    stack: str
    locks: tuple[Path, ...] = ()
    creates: tuple[str, ...] = ()

    def summary(self) -> str:
        """One line: what was found and done, or that there was nothing to recover."""
        if not self.locks and not self.creates:
            return (f"stack {self.stack}: nothing to recover (no lock of an interrupted pulumi process, "
                    "no pending create)")
        done = []
        if self.locks:
            done.append(f"released {_count(len(self.locks), 'stale lock')}")
        if self.creates:
            done.append(f"cleared {_count(len(self.creates), 'pending TuningJob create')} "
                        "(the next `pulumi up` adopts the submitted job)")
        return f"stack {self.stack}: " + " and ".join(done)


def _count(number: int, thing: str) -> str:
    return f"{number} {thing}{'' if number == 1 else 's'}"


def recover(stack: str, cwd: Path = ROOT, env: Mapping[str, str] | None = None) -> Recovery:
    """Make a stack that an interrupted `pulumi up` left behind ready for the next one, and say
    what was found."""
    whoami = json.loads(_checked(run_pulumi("whoami", "--json", cwd=cwd, env=env), "finding the state backend"))
    locks = release_stale_locks(str(whoami.get("url", "")))
    creates = recover_interrupted_creates(stack, cwd, env)
    return Recovery(stack, tuple(locks), tuple(creates))


# What a preview does to a resource that a `pulumi up` would create anew (pulumi's step ops).
_CREATING_OPS = frozenset({"create", "replace", "create-replacement"})


def jobs_in_flight(preview: Mapping[str, Any], api_endpoint: str | None) -> list[str]:
    """The running tuning jobs a `pulumi up` of this preview (`pulumi preview --json`) would
    adopt: for each TuningJob it creates or replaces, a live job with that spec's fingerprint.
    A TuningJob whose inputs are not all known yet (new data to upload) runs a new job."""
    from tuning_provider import vertex
    from tuning_provider.errors import SpecError
    from tuning_provider.provider import RESOURCE_TYPE
    from tuning_provider.spec import FINGERPRINT_LABEL, TuningJobSpec

    names: list[str] = []
    for step in preview.get("steps") or []:
        state = step.get("newState") or {}
        if state.get("type") != RESOURCE_TYPE or step.get("op") not in _CREATING_OPS:
            continue
        inputs = {k: v for k, v in (state.get("inputs") or {}).items() if k in TuningJobSpec.model_fields}
        try:
            spec = TuningJobSpec.model_validate(inputs)
        except SpecError:
            continue
        conn = vertex.connect(spec.project, spec.location, api_endpoint)
        jobs = vertex.list_tuning_jobs(conn, labels={FINGERPRINT_LABEL: spec.fingerprint()})
        names += [job.name for job in jobs if job.live and job.name not in names]
    return names


def _in_flight(stack: str) -> int:
    preview = json.loads(_checked(run_pulumi("preview", "--json", "--stack", stack), f"previewing stack {stack}"))
    endpoint = run_pulumi("config", "get", "tuning:apiEndpoint", "--stack", stack)
    names = jobs_in_flight(preview, endpoint.stdout.strip() if endpoint.returncode == 0 else None)
    for name in names:
        print(f"in flight: {name}")
    if not names:
        print(f"no tuning job of stack {stack} is in flight")
    return 0 if names else 3


def main(argv: Sequence[str] | None = None) -> int:
    from stacks.config import check_stack_file
    from stacks.config_file import stack_file
    from tuning_provider.errors import ApiError, ConfigError

    parser = argparse.ArgumentParser(prog="python -m stacks.engine", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["prepare", "recover", "in-flight"])
    parser.add_argument("--stack", default="local")
    args = parser.parse_args(argv)
    try:
        if args.command == "in-flight":
            return _in_flight(args.stack)
        if args.command == "prepare" and stack_file(args.stack, ROOT).is_file():
            check_stack_file(stack_file(args.stack, ROOT))
        recovery = recover(args.stack)
        if args.command == "recover":  # `prepare` runs before every `make up`: quiet when all is well
            print(recovery.summary())
    except (RuntimeError, ConfigError, ApiError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
