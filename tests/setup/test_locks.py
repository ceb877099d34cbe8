"""The hashed locks (`make lock`, scripts/lock.sh): every requirements file that setup or the
workflow installs is a lock compiled from its hand-edited input, pins every package and every
dependency with its sha256 hashes, and still matches its input; nothing is installed from
anything else."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
LOCK_SCRIPT = ROOT / "scripts" / "lock.sh"
WORKFLOW = ROOT / ".github" / "workflows" / "pulumi.yml"
INSTALL_VENV = "scripts/install-venv.sh"
# A step that makes a venv or installs packages in any other way.
INSTALLS = re.compile(r"pip3? install|uv pip|-m venv|uv venv|virtualenv ")
HASH = re.compile(r"\s--hash=sha256:([0-9a-f]{64})(?=\s|$)")
PIN = re.compile(r"^(?P<name>[a-z0-9][a-z0-9._-]*)==(?P<version>[^\s;]+)(?:\s*;\s*(?P<marker>[^-].*?))?$")


def listed_locks() -> dict[Path, Path]:
    """lock -> its input, as scripts/lock.sh compiles them."""
    listed = subprocess.run(["bash", str(LOCK_SCRIPT), "--list"], capture_output=True, text=True, check=True).stdout
    return {ROOT / lock: ROOT / source for source, lock in (line.split() for line in listed.splitlines())}


def pins(lock: Path) -> dict[str, tuple[str, frozenset[str]]]:
    """name -> (version, hashes) of every requirement of a lock; fails on any other kind of line."""
    found = {}
    for line in re.sub(r"\\\n", " ", lock.read_text()).splitlines():
        requirement = line.split("#", 1)[0].strip()
        if not requirement:
            continue
        hashes = frozenset(HASH.findall(" " + requirement))
        match = PIN.match(HASH.sub("", " " + requirement).strip())
        assert match, f"{lock.relative_to(ROOT)}: not an exact pin: {requirement[:80]}"
        assert hashes, f"{lock.relative_to(ROOT)}: {match['name']} has no --hash=sha256:"
        found[match["name"]] = (match["version"], hashes)
    return found


def installed_locks(command: str) -> list[str]:
    """The locks a line running scripts/install-venv.sh DIR LOCK... installs."""
    words = shlex.split(command)
    return words[words.index(INSTALL_VENV) + 2:]


def test_every_requirements_file_of_setup_and_ci_is_a_lock_with_an_input() -> None:
    locks = listed_locks()
    files = {*ROOT.glob("requirements*.txt"), *(ROOT / "policy").glob("requirements*.txt")}
    assert files == set(locks)  # examples/own_program/requirements.txt is a user's, installing `../..`
    for lock, source in locks.items():
        assert source.is_file() and source.suffix == ".in", lock


def test_every_lock_pins_every_package_with_its_hashes() -> None:
    for lock in listed_locks():
        assert pins(lock), lock


def test_the_program_lock_is_part_of_the_dev_lock_and_aiplatform_stands_alone() -> None:
    program, dev = pins(ROOT / "requirements.txt"), pins(ROOT / "requirements-dev.txt")
    assert {name: dev.get(name) for name in program} == program  # .venv runs the program's versions
    # Locked without its dependencies (requirements-aiplatform.in says why), installed beside.
    assert list(pins(ROOT / "requirements-aiplatform.txt")) == ["google-cloud-aiplatform"]
    assert "google-cloud-aiplatform" not in dev


def test_setup_and_every_workflow_job_install_only_locks_through_install_venv() -> None:
    locks = {str(lock.relative_to(ROOT)) for lock in listed_locks()}
    setup_lines = [line for line in (ROOT / "scripts" / "setup.sh").read_text().splitlines() if INSTALL_VENV in line]
    # Besides the locks, the project itself, editable and without dependencies (its console scripts).
    editable = [line for line in setup_lines if "--editable" in line]
    assert len(editable) == 1 and editable[0].endswith(f"{INSTALL_VENV} --editable .venv .")
    assert [installed_locks(line) for line in setup_lines if line not in editable] == [
        ["requirements-dev.txt", "requirements-aiplatform.txt"], ["policy/requirements.txt"]]
    assert "pip install" not in (ROOT / "scripts" / "setup.sh").read_text()
    for name, job in yaml.safe_load(WORKFLOW.read_text())["jobs"].items():
        runs = [str(step["run"]) for step in job["steps"] if "run" in step]
        assert not [run for run in runs if INSTALLS.search(run) and INSTALL_VENV not in run], name
        installs = [installed_locks(run) for run in runs if INSTALL_VENV in run]
        assert installs or runs == ["bash .ci/run"], f"{name} installs nothing (the test job runs make setup)"
        for installed in installs:
            assert installed and set(installed) <= locks, (name, installed)


@pytest.fixture
def lock_env(uv: Path) -> dict[str, str]:
    # The machine cache that holds uv (each test's own cache, tests/conftest.py, is empty).
    return {**os.environ, "PULUMI_VERTEX_TUNING_CACHE": str(uv.parents[2])}


def test_the_locks_match_their_inputs(lock_env: dict[str, str]) -> None:
    checked = subprocess.run(["bash", str(LOCK_SCRIPT), "--check"], capture_output=True, text=True, env=lock_env,
                             timeout=300)
    assert checked.returncode == 0, checked.stderr


def test_the_check_names_each_lock_its_input_no_longer_gives(tmp_path: Path, lock_env: dict[str, str]) -> None:
    copy = tmp_path / "repository"
    (copy / "scripts").mkdir(parents=True)
    for script in ("lock.sh", "install-uv.sh"):
        shutil.copy(ROOT / "scripts" / script, copy / "scripts" / script)
    for lock, source in listed_locks().items():
        for path in (lock, source):
            (copy / path.relative_to(ROOT)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, copy / path.relative_to(ROOT))
    # An input changed without `make lock`: msgspec dropped from the program's requirements.
    program = copy / "requirements.in"
    program.write_text(program.read_text().replace("msgspec==0.22.0\n", ""))
    # A lock edited by hand: one hash of the policy pack's pulumi-policy removed.
    pack = copy / "policy" / "requirements.txt"
    first_hash = re.search(r"^pulumi-policy==.*\n(    --hash=.*\n)", pack.read_text(), re.M)
    assert first_hash
    pack.write_text(pack.read_text().replace(first_hash[1], "", 1))

    checked = subprocess.run(["bash", str(copy / "scripts" / "lock.sh"), "--check"], capture_output=True, text=True,
                             env=lock_env, timeout=300)
    assert checked.returncode == 1
    named = set(re.findall(r"^lock: (\S+) does not match its input: run `make lock`", checked.stderr, re.M))
    assert named == {"requirements.txt", "requirements-dev.txt", "policy/requirements.txt"}, checked.stderr
    assert "-msgspec==0.22.0" in checked.stderr
