"""`python -m tuning_provider emulator`: one `listening on` line, serves, exits 0 on a signal."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def start_cli(tmp_path: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tuning_provider", "emulator", "--port", "0",
         "--state-dir", str(tmp_path / "state"), "--gcs-dir", str(tmp_path / "gcs"), *extra],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_cli_prints_the_url_serves_and_stops_cleanly(tmp_path, stop_signal):
    process = start_cli(tmp_path, "--job-duration", "1")
    try:
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
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()


def test_cli_rejects_a_fault_rate_above_one(tmp_path):
    process = start_cli(tmp_path, "--fault-rate", "1.5")
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 2
    assert "fault-rate" in stderr
