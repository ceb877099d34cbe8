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
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pulumi import automation as auto

__all__ = ["ROOT", "main", "offline_env", "select_stack"]

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "tuning"


def offline_env(root: Path = ROOT, state_dir: Path | None = None) -> dict[str, str]:
    """Environment for the CLI with no cloud: a file state backend inside the project,
    no update checks and no plugin downloads. Values already set in the environment win."""
    state = state_dir or root / ".state"
    defaults = {
        "PULUMI_BACKEND_URL": f"file://{state / 'pulumi-backend'}",
        "PULUMI_HOME": str(state / "pulumi-home"),
        "PULUMI_CONFIG_PASSPHRASE": "",
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
    }
    env = {k: os.environ.get(k, v) for k, v in defaults.items()}
    if env["PULUMI_BACKEND_URL"].startswith("file://"):
        Path(env["PULUMI_BACKEND_URL"].removeprefix("file://")).mkdir(parents=True, exist_ok=True)
    tools = root / ".tools" / "pulumi" / "bin"
    env["PATH"] = f"{tools}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return env


def select_stack(
    stack: str,
    *,
    program: Callable[[], None] | None = None,
    root: Path = ROOT,
    env: dict[str, str] | None = None,
) -> auto.Stack:
    """The named stack of this project (created in the backend if new), ready to run."""
    if program is None:
        import stacks

        program = stacks.run
    env = env or offline_env(root)
    os.environ.update(env)  # the provider process and the CLI inherit these
    tools = root / ".tools" / "pulumi"
    command = auto.PulumiCommand(root=str(tools)) if (tools / "bin" / "pulumi").exists() else auto.PulumiCommand()
    opts = auto.LocalWorkspaceOptions(work_dir=str(root), env_vars=env, pulumi_command=command)
    return auto.create_or_select_stack(stack_name=stack, project_name=PROJECT, program=program, opts=opts)


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
            stack.up(on_output=_print, diff=args.diff, color="never")
        elif args.command == "preview":
            stack.preview(on_output=_print, diff=args.diff, color="never")
        elif args.command == "refresh":
            stack.refresh(on_output=_print, color="never")
        elif args.command == "destroy":
            stack.destroy(on_output=_print, color="never")
    except auto.errors.CommandError as exc:
        print(_failure(exc), file=sys.stderr)
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
