"""The tools the language tests need, each obtained once per machine by its script in scripts/
(a per-user cache every clone reuses) and found again in a second or two after that:

- `sdkgen`: tools/sdkgen built with Go (scripts/install-sdkgen.sh), the SDKs' generator;
- `typescript`: a folder whose node_modules holds what nodejs/package-lock.json pins
  (scripts/install-typescript.sh, from the npm registry);
- `pulumi_bin`: the pulumi CLI's folder with its language hosts (scripts/install-pulumi.sh).

They are session fixtures, so they read the machine's cache: the autouse fixture that gives
each test a cache of its own (tests/conftest.py) is function-scoped and set up after them.
Go modules come from the Go module proxy into Go's own module cache, also once per machine.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
# Generous: the first run on a machine builds or downloads (go, npm); later runs take seconds.
FIRST_RUN_SECONDS = 1800


def installed(script: str) -> str:
    run = subprocess.run(["bash", str(ROOT / "scripts" / script)], capture_output=True, text=True,
                         timeout=FIRST_RUN_SECONDS, check=False)
    assert run.returncode == 0, f"scripts/{script} failed:\n{run.stderr}"
    return run.stdout.strip()


@pytest.fixture(scope="session")
def sdkgen() -> str:
    return installed("install-sdkgen.sh")


@pytest.fixture(scope="session")
def typescript() -> Path:
    return Path(installed("install-typescript.sh"))


@pytest.fixture(scope="session")
def pulumi_bin() -> Path:
    return Path(installed("install-pulumi.sh"))


def wrong_variant(program: str, line: str, replacement: str, comment: str) -> str:
    """The program with one of its lines replaced by a mistake, marked `<comment> <- wrong`."""
    lines = program.splitlines()
    assert lines.count(line) == 1, f"the program has no single line {line!r}"
    lines[lines.index(line)] = f"{replacement} {comment} <- wrong"
    return "\n".join(lines) + "\n"


def wrong_line(text: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), 1) if line.endswith("<- wrong"))
