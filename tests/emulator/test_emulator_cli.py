"""`python -m tuning_provider emulator`: one `listening on` line, serves, exits 0 on a signal;
the faults and the list lag given on its command line apply."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import example_line

ROOT = Path(__file__).resolve().parents[2]
PARENT = "projects/p/locations/us-central1"


@contextlib.contextmanager
def running_cli(tmp_path: Path, *extra: str) -> Iterator[subprocess.Popen[str]]:
    """The emulator's command line running with `extra` options; killed if a test leaves it running."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tuning_provider", "emulator", "--port", "0",
         "--state-dir", str(tmp_path / "state"), "--gcs-dir", str(tmp_path / "gcs"), *extra],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_cli_prints_the_url_serves_and_stops_cleanly(tmp_path, stop_signal):
    with running_cli(tmp_path, "--job-duration", "1") as process:
        line = process.stdout.readline()
        match = re.fullmatch(r"listening on (http://127\.0\.0\.1:(\d+))\n", line)
        assert match, (line, process.stderr.read() if process.poll() is not None else "")
        url = match[1]
        request = urllib.request.Request(
            f"{url}/v1/projects/p/locations/us-central1/tuningJobs",
            headers={"Authorization": "Bearer token"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
            assert json.loads(response.read()) == {}
        process.send_signal(stop_signal)
        assert process.wait(timeout=20) == 0
        assert process.stdout.read() == ""  # exactly one line on stdout
        assert (tmp_path / "state" / "emulator.sqlite3").is_file()


@pytest.mark.parametrize(("option", "value", "says"), [
    ("--fault-rate", "1.5", "argument --fault-rate: 1.5 is out of range"),
    ("--fault", "POST tuningJobs after=rset", "argument --fault: fault 'POST tuningJobs after=rset': after=rset"),
])
def test_cli_rejects_a_bad_fault_option(tmp_path, option, value, says):
    with running_cli(tmp_path, option, value) as process:
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 2
    assert says in stderr


def call(url: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{url}/v1/{PARENT}/{path}", data=data, method=method,
                                     headers={"Authorization": "Bearer token", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_cli_faults_and_list_lag_apply(tmp_path):
    (tmp_path / "gcs" / "data").mkdir(parents=True)
    (tmp_path / "gcs" / "data" / "train.jsonl").write_text(example_line("Hi?", "Hello.") + "\n")
    with running_cli(tmp_path, "--fault", "POST tuningJobs after=503; GET tuningJobs before=403",
                     "--list-lag", "3600") as process:
        url = re.fullmatch(r"listening on (\S+)\n", process.stdout.readline())[1]
        create = {"baseModel": "gemini-3.5-flash", "labels": {"team": "ml"},
                  "supervisedTuningSpec": {"trainingDatasetUri": "gs://data/train.jsonl"}}
        assert call(url, "POST", "tuningJobs", create)[0] == 503
        assert call(url, "GET", "tuningJobs")[0] == 403
        status, listed = call(url, "GET", "tuningJobs")
        assert status == 200 and len(listed["tuningJobs"]) == 1  # the create acted before its 503
        assert call(url, "GET", 'tuningJobs?filter=labels.team%3D%22ml%22') == (200, {})  # the lag
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
        assert "injected by the fault 'POST tuningJobs after=503'" in process.stderr.read()
