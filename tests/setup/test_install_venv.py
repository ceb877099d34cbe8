"""scripts/install-venv.sh DIR LOCK...: a venv holding a lock's packages, each file checked
against the lock's hashes, with uv or, where uv cannot be had, with pip (saying so in one line).
Offline: the package is a wheel made here, served from a local folder."""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
INSTALL_VENV = ROOT / "scripts" / "install-venv.sh"
FALLBACK = "install-venv: uv could not be had"


def make_wheel(folder: Path, name: str = "lockprobe", version: str = "1.0") -> Path:
    """A minimal pure-Python wheel whose module holds its version."""
    files = {
        f"{name}/__init__.py": f'VERSION = "{version}"\n',
        f"{name}-{version}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{name}-{version}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\n"
                                             "Tag: py3-none-any\n",
    }
    record = [f"{path},sha256={base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).decode().rstrip('=')},"
              f"{len(text.encode())}" for path, text in files.items()]
    files[f"{name}-{version}.dist-info/RECORD"] = "\n".join([*record, f"{name}-{version}.dist-info/RECORD,,"]) + "\n"
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(zipfile.ZipInfo(path, date_time=(2026, 1, 1, 0, 0, 0)), text)
    return wheel


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def install(venv: Path, lock: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(INSTALL_VENV), str(venv), str(lock)], capture_output=True, text=True, env=env,
                          timeout=300)


def probe(venv: Path) -> str:
    """The version of lockprobe the venv imports, or the error."""
    run = subprocess.run([str(venv / "bin" / "python"), "-c", "import lockprobe; print(lockprobe.VERSION)"],
                         capture_output=True, text=True)
    return run.stdout.strip() or run.stderr.strip().splitlines()[-1]


@pytest.fixture
def wheels(tmp_path: Path) -> Path:
    make_wheel(tmp_path / "wheels")
    return tmp_path / "wheels"


@pytest.fixture
def uv_env(uv: Path, wheels: Path, tmp_path: Path) -> dict[str, str]:
    """uv finds the locked uv in the machine cache and packages only in `wheels`."""
    return {**os.environ, "PYTHON": sys.executable, "PULUMI_VERTEX_TUNING_CACHE": str(uv.parents[2]),
            "UV_NO_INDEX": "1", "UV_FIND_LINKS": str(wheels), "UV_CACHE_DIR": str(tmp_path / "uv-cache")}


def test_with_uv_a_hashed_lock_installs_and_a_second_run_does_nothing(
    uv_env: dict[str, str], wheels: Path, tmp_path: Path
) -> None:
    lock = tmp_path / "requirements.txt"
    lock.write_text(f"lockprobe==1.0 \\\n    --hash=sha256:{sha256(next(wheels.glob('*.whl')))}\n")
    first = install(tmp_path / "venv", lock, uv_env)
    assert first.returncode == 0, first.stderr
    assert FALLBACK not in first.stderr
    assert "uv = " in (tmp_path / "venv" / "pyvenv.cfg").read_text()  # made by uv
    assert probe(tmp_path / "venv") == "1.0"
    again = install(tmp_path / "venv", lock, uv_env)
    assert (again.returncode, again.stderr) == (0, "")


@pytest.mark.parametrize("line", ["lockprobe==1.0", "lockprobe==1.0 --hash=sha256:" + "0" * 64])
def test_with_uv_a_lock_line_without_its_hash_is_refused(
    uv_env: dict[str, str], tmp_path: Path, line: str
) -> None:
    lock = tmp_path / "requirements.txt"
    lock.write_text(line + "\n")
    refused = install(tmp_path / "venv", lock, uv_env)
    assert refused.returncode != 0
    assert "hash" in refused.stderr.lower(), refused.stderr
    assert "No module named 'lockprobe'" in probe(tmp_path / "venv")


def test_without_uv_it_says_so_once_and_pip_installs_with_hashes_required(wheels: Path, tmp_path: Path) -> None:
    # An empty machine cache and no index: scripts/install-uv.sh cannot get uv.
    env = {**os.environ, "PYTHON": sys.executable, "PULUMI_VERTEX_TUNING_CACHE": str(tmp_path / "empty-cache"),
           "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    venv, lock = tmp_path / "venv", tmp_path / "requirements.txt"
    lock.write_text("lockprobe==1.0\n")
    refused = install(venv, lock, env)
    assert refused.returncode != 0
    assert [line for line in refused.stderr.splitlines() if line.startswith("install-venv: uv")] == [
        f"{FALLBACK} (see above): installing with pip instead, which takes minutes"]
    assert "hash" in refused.stderr.lower(), refused.stderr
    assert "No module named 'lockprobe'" in probe(venv)

    lock.write_text(f"lockprobe==1.0 --hash=sha256:{sha256(next(wheels.glob('*.whl')))}\n")
    installed = install(venv, lock, env)
    assert installed.returncode == 0, installed.stderr
    assert installed.stderr.count(FALLBACK) == 1
    assert probe(venv) == "1.0"
