"""Run pulumi up / preview / refresh / destroy on this project's stacks, with the real CLI.

    python -m stacks.engine up --stack local
    python -m stacks.engine preview --stack local --diff

It drives the `pulumi` CLI through the Automation API with the program in stacks.run (what
__main__.py runs). Where the Python language host plugin is installed, `pulumi up --stack
local` does the same; this path needs only the CLI and the dynamic-provider shim, which the
project's setup builds offline (scripts/install-pulumi.sh), so it works on any machine.
Stack config comes from stacks/Pulumi.<stack>.yaml as usual (Pulumi.yaml: stackConfigDir).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pulumi import automation as auto

__all__ = ["ROOT", "main", "offline_env", "recover_interrupted_creates", "release_stale_locks", "select_stack", "up"]

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "tuning"


def offline_env(root: Path = ROOT, state_dir: Path | None = None) -> dict[str, str]:
    """Environment for the CLI with no cloud: a file state backend inside the project (or
    in `state_dir`), no update checks and no plugin downloads. Without `state_dir`, values
    already set in the environment win (a user's own backend, say)."""
    state = state_dir or root / ".state"
    settings = {
        "PULUMI_BACKEND_URL": f"file://{state / 'pulumi-backend'}",
        "PULUMI_HOME": str(state / "pulumi-home"),
        "PULUMI_CONFIG_PASSPHRASE": "",
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
    }
    env = settings if state_dir else {k: os.environ.get(k, v) for k, v in settings.items()}
    if env["PULUMI_BACKEND_URL"].startswith("file://"):
        Path(env["PULUMI_BACKEND_URL"].removeprefix("file://")).mkdir(parents=True, exist_ok=True)
    tools = root / ".tools" / "pulumi" / "bin"
    # The dynamic-provider shim runs `python3` from PATH: make that this virtualenv's, and
    # let it import this project whatever the working directory.
    env["PATH"] = f"{tools}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), os.environ.get("PYTHONPATH", "")) if p)
    return env


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


def select_stack(
    stack: str,
    *,
    program: Callable[[], None] | None = None,
    work_dir: Path = ROOT,
    env: dict[str, str] | None = None,
) -> auto.Stack:
    """The named stack (created in the backend if new), ready to run. `work_dir` holds the
    Pulumi.yaml and stacks/Pulumi.<stack>.yaml; tests point it at a copy."""
    if program is None:
        import stacks

        program = stacks.run
    env = env or offline_env()
    release_stale_locks(env.get("PULUMI_BACKEND_URL", ""))
    tools = ROOT / ".tools" / "pulumi"
    command = auto.PulumiCommand(root=str(tools)) if (tools / "bin" / "pulumi").exists() else auto.PulumiCommand()
    opts = auto.LocalWorkspaceOptions(work_dir=str(work_dir), env_vars=env, pulumi_command=command)
    return auto.create_or_select_stack(stack_name=stack, project_name=PROJECT, program=program, opts=opts)


def recover_interrupted_creates(stack: auto.Stack, on_output: Callable[[str], None] | None = None) -> list[str]:
    """Clear the creates an interrupted `pulumi up` left pending, when every one of them is a
    TuningJob, and return their URNs. That is safe because a TuningJob create is idempotent: the
    next create finds the job it submitted by its fingerprint label and adopts it. A pending
    create of any other resource is left for a person to resolve (`pulumi refresh`)."""
    pending = (stack.export_stack().deployment or {}).get("pending_operations") or []
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
    stack.refresh(clear_pending_creates=True, on_output=on_output, color="never")
    return creates


def up(stack: auto.Stack, on_output: Callable[[str], None] | None = None, diff: bool = False) -> auto.UpResult:
    """`pulumi up`, after recovering from an interrupted one (see recover_interrupted_creates)."""
    recover_interrupted_creates(stack, on_output)
    return stack.up(on_output=on_output, diff=diff, color="never")


def _print(line: str) -> None:
    print(line, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stacks.engine", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["up", "preview", "refresh", "destroy", "outputs"])
    parser.add_argument("--stack", default="local")
    parser.add_argument("--diff", action="store_true", help="show property-level diffs")
    args = parser.parse_args(argv)
    stack = select_stack(args.stack)
    try:
        if args.command == "up":
            up(stack, on_output=_print, diff=args.diff)
        elif args.command == "preview":
            stack.preview(on_output=_print, diff=args.diff, color="never")
        elif args.command == "refresh":
            stack.refresh(on_output=_print, color="never")
        elif args.command == "destroy":
            stack.destroy(on_output=_print, color="never")
    except auto.errors.CommandError as exc:
        print(_failure(exc), file=sys.stderr)
        return 1
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.command in ("up", "refresh", "outputs"):
        outputs: dict[str, Any] = {k: v.value for k, v in stack.outputs().items()}
        print(f"\nOutputs of stack {args.stack}:")
        print(json.dumps(outputs, indent=2, sort_keys=True))
    return 0


def _failure(exc: Exception) -> str:
    # The CLI's own output was streamed already; its stderr holds the diagnostics.
    stderr = getattr(exc, "stderr", "") or ""
    return stderr.strip() or str(exc)


if __name__ == "__main__":
    sys.exit(main())
