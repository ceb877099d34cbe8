"""Where the command line reaches Vertex: project, location and API endpoint.

Each of the three settings comes from the first source that has it:

1. its flag: `--project`, `--location`, `--api-endpoint`;
2. with `--stack NAME`, that stack's config in stacks/Pulumi.NAME.yaml: `tuning:project`,
   `tuning:region`, `tuning:apiEndpoint` (a stack without `apiEndpoint` means Vertex itself,
   whatever the environment says);
3. without `--stack`, the environment: TUNING_PROJECT (else GOOGLE_CLOUD_PROJECT),
   TUNING_LOCATION (else GOOGLE_CLOUD_LOCATION), TUNING_API_ENDPOINT;
4. the location defaults to us-central1, the endpoint to Vertex's regional endpoint.

A full resource name on the command line (projects/P/locations/L/...) names its own project
and location, and those win. What the endpoint means (the emulator, reached with a placeholder
token, or Google's, with Application Default Credentials) is `connection.connect`'s decision.

Problems here are usage problems: `UsageError`, one sentence, exit code 2.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml

from tuning_provider import catalog
from tuning_provider.connection import Connection, connect
from tuning_provider.errors import NotFound
from tuning_provider.names import EndpointName, TuningJobName
from tuning_provider.vertex import RetryPolicy

__all__ = [
    "CLI_RETRY",
    "DEFAULT_LOCATION",
    "STACKS_DIR",
    "UsageError",
    "add_connection_options",
    "command",
    "not_found_in",
    "read_stack_config",
    "resolve_connection",
    "split_resource_name",
]

# Relative to the working directory, the Pulumi project's folder: the package may be installed
# anywhere, and a user's project keeps its stack files in its own stacks/.
STACKS_DIR = Path("stacks")
DEFAULT_LOCATION = catalog.DEFAULT_REGION
# A person is waiting at the terminal: give up on transient errors sooner than the provider.
CLI_RETRY = RetryPolicy(attempts=4, max_elapsed=20.0)



class UsageError(Exception):
    """The command line or its settings are wrong; the message says which flag to fix."""


def add_connection_options(parser: argparse.ArgumentParser) -> None:
    """The flags every command that talks to Vertex takes."""
    group = parser.add_argument_group("where (flag, else --stack config, else environment)")
    group.add_argument("--project", help="Google Cloud project id (env TUNING_PROJECT or GOOGLE_CLOUD_PROJECT)")
    group.add_argument(
        "--location", help=f"region (env TUNING_LOCATION or GOOGLE_CLOUD_LOCATION; default {DEFAULT_LOCATION})"
    )
    group.add_argument(
        "--api-endpoint", metavar="URL",
        help="base URL of the API, e.g. http://127.0.0.1:8765 for the emulator (env TUNING_API_ENDPOINT)",
    )
    group.add_argument("--stack", metavar="NAME", help="take the settings from stacks/Pulumi.NAME.yaml")


_NOUNS = {TuningJobName: ("a", "tuning job"), EndpointName: ("an", "endpoint")}


def split_resource_name(name: str, kind: type[TuningJobName] | type[EndpointName]) -> tuple[str, str] | None:
    """(project, location) of a full resource name of this kind, None for a bare id.
    UsageError for anything else with slashes, or an empty id."""
    article, noun = _NOUNS[kind]
    if "/" not in name:
        if not name.strip():
            raise UsageError(f"the {noun} id is empty")
        return None
    parsed = kind.parse(name)
    if parsed is None:
        raise UsageError(f"{name!r} does not name {article} {noun}: give "
                         f"projects/PROJECT/locations/REGION/{kind.collection}/ID or the bare ID")
    return parsed.project, parsed.location


def read_stack_config(stack: str, stacks_dir: Path = STACKS_DIR) -> dict[str, Any]:
    """The `tuning:` keys of stacks/Pulumi.STACK.yaml, without the namespace."""
    path = stacks_dir / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        known = sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in stacks_dir.glob("Pulumi.*.yaml"))
        raise UsageError(f"no stack {stack!r}: {path} does not exist (stacks: {', '.join(known) or 'none'})")
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.MarkedYAMLError as exc:
        line = f":{exc.problem_mark.line + 1}" if exc.problem_mark else ""
        raise UsageError(f"{path}{line}: not valid YAML: {exc.problem}; fix the file there") from None
    except (OSError, yaml.YAMLError) as exc:
        raise UsageError(f"cannot read {path}: {exc}".splitlines()[0]) from None
    config = document.get("config") if isinstance(document, dict) else None
    if not isinstance(config, dict):
        return {}
    return {key.partition(":")[2]: value for key, value in config.items() if str(key).startswith("tuning:")}


def resolve_connection(
    args: argparse.Namespace,
    *,
    resource: tuple[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
    stacks_dir: Path = STACKS_DIR,
) -> Connection:
    """The Connection the flags, the named stack or the environment describe (in that order).

    `resource` is the (project, location) of a full resource name given on the command line."""
    env = os.environ if environ is None else environ
    stack = getattr(args, "stack", None)
    if stack:
        config = read_stack_config(stack, stacks_dir)
        origin = f"stacks/Pulumi.{stack}.yaml"
        project = _text(config.get("project"), "tuning:project", origin)
        location = _text(config.get("region"), "tuning:region", origin)
        endpoint = _text(config.get("apiEndpoint"), "tuning:apiEndpoint", origin)
    else:
        project = env.get("TUNING_PROJECT") or env.get("GOOGLE_CLOUD_PROJECT")
        location = env.get("TUNING_LOCATION") or env.get("GOOGLE_CLOUD_LOCATION")
        endpoint = env.get("TUNING_API_ENDPOINT")
    project = args.project or project
    location = args.location or location or DEFAULT_LOCATION
    endpoint = args.api_endpoint or endpoint or None
    if resource is not None:
        project, location = resource
    if not project:
        where = f"set tuning:project in stacks/Pulumi.{stack}.yaml" if stack else (
            "set TUNING_PROJECT (or GOOGLE_CLOUD_PROJECT), or name a stack with --stack NAME"
        )
        raise UsageError(f"no project given: pass --project PROJECT_ID or {where}")
    if endpoint:
        url = urlparse(endpoint)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise UsageError(f"API endpoint {endpoint!r} is not a URL such as http://127.0.0.1:8765")
    return connect(project, location, endpoint, environ=env)


def _text(value: Any, key: str, origin: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict) and "secure" in value:
        raise UsageError(f"{key} in {origin} is a secret; pass it with a flag instead")
    return str(value)


@contextlib.contextmanager
def not_found_in(conn: Connection, what: str, fix: str) -> Iterator[None]:
    """A NotFound raised inside, said again for the command line: "WHAT not found in
    projects/P/locations/L: FIX", so a person sees where the CLI looked."""
    try:
        yield
    except NotFound as exc:
        raise NotFound(f"{what} not found in {conn.resource_prefix()}: {fix}",
                       status=exc.status, code=exc.code) from exc


def command(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """A subcommand's `func`: usage problems become one line and exit code 2. TuningErrors
    (their messages say what to do, a quota's included) reach the dispatcher: one line, exit 3."""

    @functools.wraps(func)
    def run(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except UsageError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2

    return run
