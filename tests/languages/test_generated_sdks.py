"""The committed TypeScript and Go SDKs (sdk/nodejs, sdk/go) are what tools/sdkgen writes from
the plugin's schema (tuning_provider/plugin/schema.json), and name the plugin that serves them."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.languages.conftest import FIRST_RUN_SECONDS, ROOT

pytestmark = pytest.mark.timeout(FIRST_RUN_SECONDS)  # the first run on a machine builds its tools


def check(sdkgen: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sdkgen, "-check", *args], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          check=False)


def test_the_committed_sdks_are_what_the_schema_gives(sdkgen: str) -> None:
    run = check(sdkgen)
    assert (run.returncode, run.stderr) == (0, ""), f"run `make sdks` and commit sdk/:\n{run.stderr}"


def test_check_mode_names_each_changed_missing_and_extra_file(sdkgen: str, tmp_path: Path) -> None:
    out = tmp_path / "sdk"
    shutil.copytree(ROOT / "sdk", out)
    (out / "go" / "vertextuning" / "tuningJob.go").write_text("package vertextuning\n")
    (out / "nodejs" / "tuningJob.ts").unlink()
    (out / "nodejs" / "handwritten.ts").write_text("export const x = 1;\n")
    run = check(sdkgen, "-out", str(out))
    assert run.returncode == 1
    assert sorted(run.stderr.splitlines()) == [
        f"{out}/go/vertextuning/tuningJob.go is not what the schema gives: run make sdks",
        f"{out}/nodejs/handwritten.ts is not generated from the schema: run make sdks",
        f"{out}/nodejs/tuningJob.ts is missing: run make sdks",
    ]


def test_a_schema_naming_another_package_is_refused_naming_it(sdkgen: str, tmp_path: Path) -> None:
    schema = json.loads((ROOT / "tuning_provider" / "plugin" / "schema.json").read_text())
    schema["resources"]["vertex-tuning:index:TuningJob"]["inputProperties"]["bucket"] = {
        "$ref": "/gcp/v8.0.0/schema.json#/resources/gcp:storage%2Fbucket:Bucket"}
    (tmp_path / "schema.json").write_text(json.dumps(schema))
    run = check(sdkgen, "-schema", str(tmp_path / "schema.json"), "-out", str(tmp_path / "sdk"))
    assert run.returncode == 2
    assert 'the schema refers to the package "gcp": the vertex-tuning schema must name no other package' in run.stderr


def test_the_sdks_install_the_plugin_the_schema_names_at_its_version() -> None:
    schema = json.loads((ROOT / "tuning_provider" / "plugin" / "schema.json").read_text())
    package = json.loads((ROOT / "sdk" / "nodejs" / "package.json").read_text())
    assert package["name"] == schema["language"]["nodejs"]["packageName"]
    assert package["pulumi"] == {"resource": True, "name": schema["name"], "version": schema["version"]}
    plugin = json.loads((ROOT / "sdk" / "go" / "vertextuning" / "pulumi-plugin.json").read_text())
    assert (plugin["name"], plugin["version"]) == (schema["name"], schema["version"])
    module = re.search(r"^module (\S+)$", (ROOT / "sdk" / "go" / "go.mod").read_text(), re.M)
    assert module and f"{module[1]}/vertextuning" == schema["language"]["go"]["importBasePath"]
