"""A serving app, reduced to its core: find the tuned model through the stack, ask it a question.

    python examples/ask_tuned_model.py --stack dev "Great battery, awful screen. Phone X200."
    python examples/ask_tuned_model.py --stack local "..."        # the emulator of the local stack
    python examples/ask_tuned_model.py --endpoint projects/P/locations/L/endpoints/ID "..."
    python examples/ask_tuned_model.py --stack prod --job reviews "..."   # a stack of several jobs

The app depends on the infrastructure only through stack outputs, as any serving app should:
`tunedModelEndpoint` (the endpoint to ask) and `tuningJobName` (which says the project and
region), read with `pulumi stack output --json --stack NAME`. A Pulumi program would read the
same names with `pulumi.StackReference("organization/tuning/dev").get_output("tunedModelEndpoint")`.
A stack of several jobs exports them per job: `jobs.reviews.tunedModelEndpoint` (`--job reviews`).
For a stack with `tuning:apiEndpoint` (local) the request goes to that emulator instead of Vertex AI.

Credentials are Application Default Credentials (`gcloud auth application-default login`, or
the workload's service account); the state backend is the one in PULUMI_BACKEND_URL, or the
project's local one for the local stack (run it with the virtualenv active: `. .venv/bin/activate`).
The answer is generated with thinking off (budget 0),
as tuned models are meant to answer their task directly.
Exit codes: 0 answered; 2 the endpoint could not be found; 3 the model could not be asked.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: the project's packages

from tuning_provider.errors import TuningError  # noqa: E402
from tuning_provider.vertex import Connection, connect, generate_content  # noqa: E402

_RESOURCE = re.compile(r"^projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/")


class NotReady(Exception):
    """The stack has no tuned model to ask (yet)."""


def pulumi(*args: str) -> subprocess.CompletedProcess[str]:
    """The pulumi CLI on PATH (with the virtualenv active, the project's own), in the project folder."""
    return subprocess.run(
        ["pulumi", *args, "--non-interactive"], cwd=ROOT, capture_output=True, text=True, check=False,
    )


def stack_outputs(stack: str) -> dict[str, object]:
    run = pulumi("stack", "output", "--json", "--stack", stack)
    if run.returncode != 0:
        raise NotReady(f"cannot read the outputs of stack {stack}: {run.stderr.strip() or run.stdout.strip()}")
    return dict(json.loads(run.stdout or "{}"))


def stack_api_endpoint(stack: str) -> str | None:
    """The stack's tuning:apiEndpoint (the emulator's address), or None for Vertex AI itself."""
    run = pulumi("config", "get", "tuning:apiEndpoint", "--stack", stack)
    if run.returncode != 0:  # not set: the stack runs on Vertex AI
        return None
    return run.stdout.strip() or None


def connection_for(endpoint: str, api_endpoint: str | None) -> Connection:
    """Project and region come from the endpoint's own resource name."""
    match = _RESOURCE.match(endpoint)
    if match is None:
        raise NotReady(f"{endpoint!r} is not an endpoint name such as projects/P/locations/L/endpoints/ID")
    return connect(match["project"], match["location"], api_endpoint)


def find_endpoint(stack: str, job: str | None = None) -> tuple[str, str | None]:
    outputs = stack_outputs(stack)
    if job is not None:
        jobs = outputs.get("jobs")
        if not isinstance(jobs, dict) or job not in jobs:
            raise NotReady(f"stack {stack} has no job {job!r}; its jobs: {', '.join(sorted(jobs or {})) or 'none'}")
        outputs = jobs[job]
    endpoint = outputs.get("tunedModelEndpoint")
    if not endpoint:
        state = outputs.get("tuningJobState") or "not created"
        raise NotReady(
            f"stack {stack} has no tunedModelEndpoint yet (tuning job: {state}); "
            f"run `pulumi up --stack {stack}`: it records the job once its model serves (a refresh never "
            "changes stack outputs)"
        )
    return str(endpoint), stack_api_endpoint(stack)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Ask the tuned model of a stack one question.")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--stack", default="local", help="the stack whose tuned model to ask (default: local)")
    where.add_argument("--endpoint", help="an endpoint resource name, instead of the stack's")
    parser.add_argument("--job", help="in a stack of several jobs, the job whose model to ask")
    parser.add_argument("--api-endpoint", help="base URL of the API (an emulator), instead of Vertex AI")
    parser.add_argument("prompt", help="the question, as one argument")
    parser.add_argument("--system", help="a system instruction")
    parser.add_argument("--temperature", type=float, default=0.2)
    parser.add_argument("--top-p", type=float, default=0.95)
    parser.add_argument("--top-k", type=int, default=40)
    parser.add_argument("--max-output-tokens", type=int, default=256)
    args = parser.parse_args(argv)

    try:
        endpoint, api_endpoint = (args.endpoint, None) if args.endpoint else find_endpoint(args.stack, args.job)
        conn = connection_for(endpoint, args.api_endpoint or api_endpoint)
    except NotReady as exc:
        print(exc, file=sys.stderr)
        return 2
    try:
        answer = generate_content(
            conn, endpoint, args.prompt,
            system=args.system, temperature=args.temperature, top_p=args.top_p, top_k=args.top_k,
            max_output_tokens=args.max_output_tokens,
        )
    except TuningError as exc:
        print(f"asking {endpoint} failed: {exc}", file=sys.stderr)
        return 3
    print(answer)
    return 0


if __name__ == "__main__":
    sys.exit(main())
