"""`ask`: one prompt to a tuned model's endpoint, the answer on stdout.

    python -m tuning_provider ask ENDPOINT "prompt" [--system TEXT] [--temperature T]
        [--top-p P] [--top-k K] [--max-output-tokens N]
    python -m tuning_provider ask stack:NAME "prompt"      # the stack's tunedModelEndpoint
    python -m tuning_provider ask --stack NAME "prompt"    # the same
    python -m tuning_provider ask stack:NAME --job JOB "prompt"   # a stack of several jobs

ENDPOINT is a full resource name (projects/P/locations/L/endpoints/ID) or a bare endpoint id,
expanded with the project and location (see `tuning_provider.cli.connection`). A stack's
endpoint is its `tunedModelEndpoint` output, read through the Pulumi CLI; the stack's config
then also supplies the API endpoint. The thinking budget is 0, as tuned models want.
Exit codes: 0 answered; 2 usage, or the stack has no endpoint yet; 3 API error.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from tuning_provider.cli.connection import (
    CLI_RETRY,
    STACKS_DIR,
    UsageError,
    add_connection_options,
    command,
    not_found_in,
    read_stack_config,
    resolve_connection,
    split_resource_name,
)
from tuning_provider.cli.numbers import number
from tuning_provider.names import EndpointName, resource_id
from tuning_provider.vertex import Connection, generate_content

__all__ = ["ENDPOINT_OUTPUT", "JOBS_OUTPUT", "register", "resolve_endpoint", "stack_outputs"]

# The stack output holding the tuned model's endpoint (stacks/outputs.py).
ENDPOINT_OUTPUT = "tunedModelEndpoint"
# A stack of several jobs exports each job's outputs under jobs.JOB (stacks/job.py).
JOBS_OUTPUT = "jobs"
_STACK_PREFIX = "stack:"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "ask", help="ask a tuned model's endpoint one question",
        description="Send one prompt to a tuned model's endpoint and print the answer.",
    )
    parser.add_argument(
        "target", nargs="?", metavar="ENDPOINT_OR_STACK_OUTPUT",
        help="endpoint resource name or id, or stack:NAME for that stack's tunedModelEndpoint "
             "(may be left out with --stack NAME)",
    )
    parser.add_argument("prompt", metavar="PROMPT", help="the question, as one argument (quote it)")
    parser.add_argument("--job", metavar="JOB",
                        help="in a stack of several jobs, the job whose model to ask (its jobs.JOB.tunedModelEndpoint)")
    parser.add_argument("--system", metavar="TEXT", help="a system instruction")
    parser.add_argument("--temperature", type=number(float, at_least=0, at_most=2), metavar="T", help="0 to 2")
    parser.add_argument("--top-p", type=number(float, at_least=0, at_most=1), metavar="P", help="0 to 1")
    parser.add_argument("--top-k", type=number(int, at_least=1), metavar="K", help="1 or more")
    parser.add_argument("--max-output-tokens", type=number(int, at_least=1), metavar="N", help="1 or more")
    add_connection_options(parser)
    parser.set_defaults(func=ask_command)


def stack_outputs(stack: str) -> Mapping[str, Any]:
    """The outputs of one of this project's stacks, read with `pulumi stack output` (the
    virtualenv's `pulumi` carries the project's backend defaults)."""
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        raise UsageError("reading stack outputs needs the pulumi CLI on PATH: run `make setup` and "
                         "`. .venv/bin/activate`, or give the endpoint instead of stack:NAME")
    run = subprocess.run([pulumi, "stack", "output", "--json", "--show-secrets", "--stack", stack,
                          "--non-interactive"], capture_output=True, text=True, check=False)
    if run.returncode != 0:
        detail = (run.stderr or run.stdout).strip().splitlines()
        raise UsageError(f"cannot read the outputs of stack {stack}: {detail[-1] if detail else 'pulumi failed'}")
    return dict(json.loads(run.stdout or "{}"))


def resolve_endpoint(
    args: argparse.Namespace,
    *,
    outputs_of: Callable[[str], Mapping[str, Any]] = stack_outputs,
    environ: Mapping[str, str] | None = None,
    stacks_dir: Path = STACKS_DIR,
) -> tuple[Connection, str]:
    """The connection and the endpoint's full resource name that the command line names.

    `outputs_of` reads a stack's outputs (the seam tests replace); `environ` and `stacks_dir`
    are passed to `resolve_connection`."""
    target = args.target
    stack = None
    if target is None:
        if not args.stack:
            raise UsageError("name the endpoint: give ENDPOINT (or stack:NAME) before the prompt, or --stack NAME")
        stack = args.stack
    elif target.startswith(_STACK_PREFIX):
        stack = target.removeprefix(_STACK_PREFIX)
        if not stack:
            raise UsageError("stack: needs a stack name, as in stack:local")
        if not args.stack:
            args = argparse.Namespace(**{**vars(args), "stack": stack})
    if stack is not None:
        # Fail on a misspelt stack before the Pulumi CLI creates it.
        read_stack_config(stack, stacks_dir)
        outputs = outputs_of(stack)
        jobs = outputs.get(JOBS_OUTPUT)
        job = getattr(args, "job", None)
        if isinstance(jobs, Mapping) and ENDPOINT_OUTPUT not in outputs or job:
            jobs = jobs if isinstance(jobs, Mapping) else {}
            if job not in jobs:
                names = ", ".join(sorted(jobs)) or "none"
                raise UsageError(f"stack {stack} has several jobs ({names}): name one with --job"
                                 if job is None else f"stack {stack} has no job {job!r}; its jobs: {names}")
            outputs = jobs[job]
        endpoint = outputs.get(ENDPOINT_OUTPUT)
        if not endpoint:
            raise UsageError(
                f"stack {stack} has no {ENDPOINT_OUTPUT} output yet: its tuning job has not "
                f"succeeded, or `pulumi up --stack {stack}` has not run"
            )
        target = str(endpoint)
    resource = split_resource_name(target, EndpointName)
    conn = resolve_connection(args, resource=resource, environ=environ, stacks_dir=stacks_dir)
    full = target if resource else str(EndpointName(conn.project, conn.location, target))
    return conn, full


@command
def ask_command(args: argparse.Namespace) -> int:
    conn, endpoint = resolve_endpoint(args)
    with not_found_in(conn, f"endpoint {resource_id(endpoint)}",
                      "check the id, or whether the tuned model was deleted"):
        answer = generate_content(
            conn, endpoint, args.prompt,
            system=args.system, temperature=args.temperature, top_p=args.top_p, top_k=args.top_k,
            max_output_tokens=args.max_output_tokens, retry=CLI_RETRY,
        )
    if not answer:
        print(f"{endpoint} answered with no text", file=sys.stderr)
        return 0
    print(answer)
    return 0
