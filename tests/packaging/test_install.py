"""`pip install` of the distribution into a fresh virtualenv: the library, its CLI and its typing."""

from __future__ import annotations

import re
import subprocess
import zipfile
from pathlib import Path

from tests.packaging.conftest import ROOT, Installed


def run(installed: Installed, *command: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    # A clean environment: nothing of the repository on the path.
    env = {"PATH": f"{installed.bin}:/usr/bin:/bin", "HOME": str(cwd)}
    return subprocess.run([str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_the_wheel_holds_the_library_its_emulator_cli_and_typing_marker_only(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    packaged = {n.split("/")[0] for n in names if not n.startswith("pulumi_vertex_tuning-")}
    assert packaged == {"tuning_provider"}  # not the stack programs, tests or examples
    for module in ("resource.py", "provider.py", "emulator/server.py", "cli/validate.py", "py.typed",
                   "plugin/server.py", "plugin/schema.json"):
        assert f"tuning_provider/{module}" in names


def test_the_generators_stay_out_of_the_wheel_and_nothing_in_it_imports_them(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        sources = {n: archive.read(n).decode() for n in names if n.endswith(".py")}
    assert [n for n in names if n.startswith("tools/") or n.endswith("/codegen.py")] == []
    assert [n for n, text in sources.items() if re.search(r"^\s*(from|import) tools\b", text, re.M)] == []


def test_the_metadata_names_ranged_dependencies_and_the_console_script(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        info = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = archive.read(info).decode()
        scripts = archive.read(info.replace("METADATA", "entry_points.txt")).decode()
    requires = [line.removeprefix("Requires-Dist: ") for line in metadata.splitlines()
                if line.startswith("Requires-Dist: ")]
    runtime = [r for r in requires if "extra ==" not in r]
    assert {r.split(">")[0].split("<")[0].lower() for r in runtime} == {
        "pulumi", "google-genai", "google-cloud-storage", "pydantic", "msgspec", "pyyaml"
    }
    assert all(">=" in r and "<" in r for r in requires), requires  # ranges, not pins
    # matplotlib only for `jobs metrics --plot`, as the optional extra "plot".
    assert [r for r in requires if "extra ==" in r] == ['matplotlib<4,>=3.11; extra == "plot"']
    assert "pulumi-gcp" not in metadata.lower()  # the stacks' dependency, not the library's
    assert "pulumi-vertex-tuning = tuning_provider.cli:main" in scripts
    assert "pulumi-resource-vertex-tuning = tuning_provider.plugin.server:main" in scripts


def test_tuning_job_imports_from_the_installed_package_outside_the_repository(
    installed: Installed, tmp_path: Path
) -> None:
    probe = (
        "import tuning_provider, pulumi; from tuning_provider import TuningJob, TuningJobArgs; "
        "print(tuning_provider.__file__); print(TuningJob.__module__, TuningJobArgs.__name__)"
    )
    result = run(installed, installed.python, "-c", probe, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    location, names = result.stdout.splitlines()
    assert Path(location).is_relative_to(installed.venv) and not Path(location).is_relative_to(ROOT)
    assert names == "tuning_provider.resource TuningJobArgs"


def test_the_console_script_validates_a_dataset(installed: Installed, tmp_path: Path) -> None:
    data = tmp_path / "train.jsonl"
    data.write_bytes((ROOT / "examples" / "data" / "train.jsonl").read_bytes())
    result = run(installed, installed.bin / "pulumi-vertex-tuning", "validate", data, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "(training dataset): valid" in result.stdout


def test_the_emulator_runs_from_the_installed_package(installed: Installed, tmp_path: Path) -> None:
    result = run(installed, installed.python, "-m", "tuning_provider", "emulator", "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "--gcs-dir" in result.stdout


def test_the_package_is_typed_for_users_type_checkers(installed: Installed) -> None:
    site = Path(subprocess.run([installed.python, "-c", "import tuning_provider, os; "
                                "print(os.path.dirname(tuning_provider.__file__))"],
                               capture_output=True, text=True, check=True).stdout.strip())
    assert (site / "py.typed").is_file()


def test_the_provider_plugin_is_a_console_script_that_serves_its_schema(installed: Installed, tmp_path: Path) -> None:
    # As the pulumi CLI starts a plugin it finds on PATH: it reads the port the plugin prints.
    import json

    import grpc  # type: ignore[import-untyped]
    from google.protobuf import empty_pb2  # type: ignore[import-untyped]
    from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

    plugin = subprocess.Popen([installed.bin / "pulumi-resource-vertex-tuning"], cwd=tmp_path, stdout=subprocess.PIPE,
                              text=True, env={"PATH": f"{installed.bin}:/usr/bin:/bin", "HOME": str(tmp_path)})
    try:
        assert plugin.stdout is not None
        port = int(plugin.stdout.readline())
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = provider_pb2_grpc.ResourceProviderStub(channel)
            assert stub.GetPluginInfo(empty_pb2.Empty(), timeout=30).version == "0.1.0"
            schema = json.loads(stub.GetSchema(provider_pb2.GetSchemaRequest(), timeout=30).schema)
        assert "vertex-tuning:index:TuningJob" in schema["resources"]
    finally:
        plugin.terminate()
        plugin.wait(timeout=30)
        if plugin.stdout:
            plugin.stdout.close()
