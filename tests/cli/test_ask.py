"""`python -m tuning_provider ask` against the emulator's tuned endpoints.

The emulator answers a prompt with the training answer of the most similar training question
(no neural network), so answers are exact. Variants: full endpoint name, bare id, generation
settings, a stack's tunedModelEndpoint output (through the outputs seam), unknown endpoints,
bad settings, and the real entry point.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import CONNECTION_ENV, JOB_SECONDS, LOCATION, PARENT, PROJECT, ROOT
from tuning_provider.cli.ask import ENDPOINT_OUTPUT, resolve_endpoint
from tuning_provider.cli.connection import UsageError
from tuning_provider.vertex import connect, generate_content


@pytest.fixture
def endpoint(emu, make_genai_client, write_dataset, start_tuning_job, manual_clock) -> str:
    """The endpoint of a succeeded tuned model, trained on conftest's sample examples."""
    client = make_genai_client(emu)
    job = start_tuning_job(client, write_dataset())
    manual_clock.advance(JOB_SECONDS)
    return client.tunings.get(name=job.name).tuned_model.endpoint


def namespace(**values: Any) -> argparse.Namespace:
    base = {"target": None, "stack": None, "project": None, "location": None, "api_endpoint": None}
    return argparse.Namespace(**{**base, **values})


def test_ask_full_endpoint_name_answers(cli, endpoint, sample_examples):
    question, answer = sample_examples[2]
    assert endpoint.startswith(f"{PARENT}/endpoints/")

    assert cli("ask", endpoint, question) == (0, answer + "\n", "")


def test_ask_bare_endpoint_id_is_expanded_with_project_and_location(cli, endpoint, sample_examples):
    question, answer = sample_examples[0]
    assert cli("ask", endpoint.rsplit("/", 1)[-1], question) == (0, answer + "\n", "")


def test_ask_full_name_needs_only_the_api_endpoint(cli, endpoint, emu, sample_examples):
    question, answer = sample_examples[4]
    assert cli("ask", endpoint, question, "--api-endpoint", emu.url, connect=False) == (0, answer + "\n", "")


def test_ask_with_generation_settings(cli, endpoint, sample_examples):
    question, answer = sample_examples[6]
    code, out, _ = cli("ask", endpoint, question, "--system", "Answer briefly.", "--temperature", "0.2",
                       "--top-p", "0.9", "--top-k", "20", "--max-output-tokens", "256")
    assert (code, out) == (0, answer + "\n")

    # The emulator cuts the text at about four characters per token.
    code, out, _ = cli("ask", endpoint, question, "--max-output-tokens", "2")
    assert (code, out) == (0, answer[:8] + "\n")


@pytest.mark.parametrize("option, value", [("--temperature", "2.5"), ("--top-p", "1.5"), ("--top-k", "0"),
                                           ("--max-output-tokens", "-1"), ("--temperature", "hot")])
def test_ask_rejects_out_of_range_settings_as_usage(cli, endpoint, option, value):
    code, out, err = cli("ask", endpoint, "hello", option, value)
    assert (code, out) == (2, "")
    assert err.startswith(f"error: argument {option}: ") and err.count("\n") == 1


def test_ask_unknown_endpoint_is_one_line_not_found(cli, emu):
    code, out, err = cli("ask", "123456", "hello")
    assert (code, out) == (3, "")
    assert err == (f"error: endpoint 123456 not found in {PARENT}: check the id, "
                   "or whether the tuned model was deleted\n")


def test_ask_with_a_job_name_or_no_endpoint_is_usage(cli):
    code, _, err = cli("ask", f"{PARENT}/tuningJobs/1", "hello")
    assert code == 2
    assert err == (f"error: '{PARENT}/tuningJobs/1' does not name an endpoint: give "
                   "projects/PROJECT/locations/REGION/endpoints/ID or the bare ID\n")

    code, _, err = cli("ask", "hello")
    assert code == 2
    assert err == "error: name the endpoint: give ENDPOINT (or stack:NAME) before the prompt, or --stack NAME\n"


# --- a stack's tunedModelEndpoint output --------------------------------------------------


@pytest.fixture
def stacks_dir(tmp_path: Path, emu) -> Path:
    folder = tmp_path / "stacks"
    folder.mkdir()
    (folder / "Pulumi.demo.yaml").write_text(
        f"config:\n  tuning:project: {PROJECT}\n  tuning:region: {LOCATION}\n  tuning:apiEndpoint: {emu.url}\n"
    )
    return folder


def test_stack_output_names_the_endpoint_and_the_stack_config_the_api(stacks_dir, endpoint, sample_examples):
    asked: list[str] = []

    def outputs_of(stack: str) -> Mapping[str, Any]:
        asked.append(stack)
        return {ENDPOINT_OUTPUT: endpoint, "tuningJobState": "SUCCEEDED"}

    for args in (namespace(target="stack:demo"), namespace(stack="demo")):
        conn, full = resolve_endpoint(args, outputs_of=outputs_of, environ={}, stacks_dir=stacks_dir)
        assert full == endpoint
        assert conn.project == PROJECT and conn.emulator and str(conn.vertex.url).startswith("http://127.0.0.1:")
        question, answer = sample_examples[1]
        assert generate_content(conn, full, question) == answer
    assert asked == ["demo", "demo"]

    # An explicit endpoint wins over --stack, which then only says where the API is.
    conn, full = resolve_endpoint(namespace(target="77", stack="demo"), outputs_of=outputs_of, environ={},
                                  stacks_dir=stacks_dir)
    assert (conn, full) == (connect(PROJECT, LOCATION, conn.vertex.url, environ={}), f"{PARENT}/endpoints/77")
    assert asked == ["demo", "demo"]


def test_stack_without_endpoint_output_or_config_is_usage(stacks_dir):
    with pytest.raises(UsageError, match=f"stack demo has no {ENDPOINT_OUTPUT} output yet"):
        resolve_endpoint(namespace(target="stack:demo"), outputs_of=lambda s: {ENDPOINT_OUTPUT: None},
                         environ={}, stacks_dir=stacks_dir)

    def never(stack: str) -> Mapping[str, Any]:
        raise AssertionError("a misspelt stack must be caught before the Pulumi CLI is asked")

    with pytest.raises(UsageError, match=r"no stack 'dmeo'"):
        resolve_endpoint(namespace(target="stack:dmeo"), outputs_of=never, environ={}, stacks_dir=stacks_dir)
    with pytest.raises(UsageError, match="stack: needs a stack name"):
        resolve_endpoint(namespace(target="stack:"), outputs_of=never, environ={}, stacks_dir=stacks_dir)


# --- the real entry point ---------------------------------------------------------------------


def test_module_entry_point_end_to_end(emu, endpoint, sample_examples):
    env = {k: v for k, v in os.environ.items() if k not in CONNECTION_ENV}
    env.update(TUNING_PROJECT=PROJECT, TUNING_API_ENDPOINT=emu.url, PYTHONWARNINGS="ignore")
    question, answer = sample_examples[3]

    done = subprocess.run([sys.executable, "-m", "tuning_provider", "ask", endpoint.rsplit("/", 1)[-1], question,
                           "--temperature", "0"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)

    assert (done.returncode, done.stdout) == (0, answer + "\n"), done.stderr


def test_a_stack_of_several_jobs_is_asked_by_job_name(stacks_dir, endpoint):
    outputs = {"jobs": {"reviews": {ENDPOINT_OUTPUT: endpoint}, "support": {ENDPOINT_OUTPUT: "other"}}}
    conn, full = resolve_endpoint(namespace(target="stack:demo", job="reviews"), outputs_of=lambda s: outputs,
                                  environ={}, stacks_dir=stacks_dir)
    assert full == endpoint
    with pytest.raises(UsageError, match=r"stack demo has several jobs \(reviews, support\): name one with --job"):
        resolve_endpoint(namespace(target="stack:demo"), outputs_of=lambda s: outputs, environ={},
                         stacks_dir=stacks_dir)
    with pytest.raises(UsageError, match="stack demo has no job 'tone'; its jobs: reviews, support"):
        resolve_endpoint(namespace(target="stack:demo", job="tone"), outputs_of=lambda s: outputs, environ={},
                         stacks_dir=stacks_dir)
