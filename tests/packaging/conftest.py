"""The distribution as a user gets it: a wheel built from a copy of the sources, installed into
a fresh virtualenv outside the repository with its dependencies at the tested versions (the
program's lock, requirements.txt, as constraints). Built and installed with uv, as setup does
(the `uv` fixture), which takes seconds where pip took a minute.

- `wheel`: the built pulumi_vertex_tuning-*.whl.
- `installed`: an Installed venv (its python, bin folder, site-packages) holding that wheel.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# What the wheel is built from; everything else in the repository is not part of it. tools/ (the
# generators) is there too, as in a checkout, so that the wheel shows it left out, not just absent.
SOURCES = ("pyproject.toml", "README.md", "tuning_provider", "tools")


@dataclass(frozen=True)
class Installed:
    """A virtualenv with the wheel installed."""

    venv: Path

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    @property
    def python(self) -> Path:
        return self.bin / "python"


def _run(*command: str | Path, cwd: Path) -> None:
    result = subprocess.run([str(c) for c in command], cwd=cwd, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{' '.join(map(str, command))} failed:\n{result.stdout}\n{result.stderr}"


@pytest.fixture(scope="session")
def wheel(uv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Built from a copy: setuptools writes build/ and *.egg-info beside the sources it builds.
    source = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        origin = ROOT / name
        if origin.is_dir():
            shutil.copytree(origin, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copyfile(origin, source / name)
    out = tmp_path_factory.mktemp("dist")
    _run(uv, "build", "--quiet", "--wheel", "--out-dir", out, source, cwd=source)
    (built,) = out.glob("pulumi_vertex_tuning-*.whl")
    return built


@pytest.fixture(scope="session")
def installed(uv: Path, wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    home = tmp_path_factory.mktemp("user")
    venv = Installed(home / "venv")
    _run(uv, "venv", "--quiet", "--python", sys.executable, "--no-python-downloads", venv.venv, cwd=home)
    # pip too, as `python -m venv` gives a user: Pulumi's Python language host lists the
    # program's packages with `python -m pip list` (examples/own_program runs in this venv).
    _run(uv, "pip", "install", "--quiet", "--python", venv.python, wheel, "pip", "-c", ROOT / "requirements.txt",
         cwd=home)
    return venv
