"""The provider plugin through the plain `pulumi` CLI: what only a YAML program (or any language
but Python) can do, and a job moving between the two faces.

The serving-invariant scenarios that both faces share run in test_engine.py (@BOTH_FACES);
these are the plugin's own: the YAML type check, `pulumi import`, creates beyond four at once,
and a TuningJob moved from the Python program to a YAML one without a second job and without
its model deleted under it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from google.genai import types

from tests.conftest import BUCKET
from tests.engine.conftest import FreezableClock, Project, YamlProject
from tuning_provider import vertex
from tuning_provider.errors import NotFound
from tuning_provider.plugin import properties
from tuning_provider.spec import TuningJobSpec
from tuning_provider.vertex.client import vertex_client

pytestmark = pytest.mark.engine

PARALLEL_JOBS = 6  # beyond the four requests Pulumi's dynamic-provider server runs at once


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.mark.parametrize("face", ["yaml"], indirect=True)
def test_a_string_for_an_integer_fails_the_preview_naming_the_property_and_submits_nothing(project: Project):
    project.set_job(epoch_count="three")
    preview = project.pulumi("preview", check=False)
    assert preview.returncode != 0
    assert "epochCount: Cannot assign type 'string' to type 'integer'" in preview.stdout + preview.stderr
    assert project.jobs() == []


@pytest.mark.parametrize("face", ["yaml"], indirect=True)
def test_pulumi_import_adopts_a_job_made_outside_pulumi_and_the_next_up_changes_nothing(
    project: Project, tmp_path: Path, start_tuning_job: Callable[..., types.TuningJob]
):
    wrong = project.pulumi("import", "vertex-tuning:index:TuningJob", "adopted", "tuningJobs/7", "--yes", check=False)
    assert wrong.returncode != 0
    assert "projects/PROJECT/locations/REGION/tuningJobs/ID" in wrong.stdout + wrong.stderr

    client = vertex_client(project.conn)
    made = start_tuning_job(client, f"gs://{BUCKET}/engine-train.jsonl", epoch_count=3,
                            tuned_model_display_name="by-hand", labels={"team": "ml"})
    client.close()
    assert made.name
    wait_for(lambda: not vertex.get_tuning_job(project.conn, made.name or "").live, "the job made outside Pulumi")

    code = tmp_path / "imported.yaml"
    project.pulumi("import", "vertex-tuning:index:TuningJob", "adopted", made.name, "--yes", "--protect=false",
                   "--out", str(code))
    imported = yaml.safe_load(code.read_text())["resources"]["adopted"]
    assert imported["type"] == "vertex-tuning:TuningJob"
    assert imported["properties"]["epochCount"] == 3 and imported["properties"]["labels"] == {"team": "ml"}
    # The program with the code `pulumi import` printed: its next up is a no-op, and no job was submitted.
    program = yaml.safe_load((project.dir / "Pulumi.yaml").read_text())
    program["resources"] = {"adopted": imported}
    program["outputs"] = {"tunedModelEndpoint": "${adopted.tunedModelEndpoint}"}
    (project.dir / "Pulumi.yaml").write_text(yaml.safe_dump(program, sort_keys=False))
    up = project.pulumi("up", "--yes", "--expect-no-changes")  # its preview finds nothing to change
    assert "2 unchanged" in up.stdout and "Paris" in project.ask(project.outputs())
    assert [job.name for job in project.jobs()] == [made.name]


@pytest.mark.parametrize("face", ["yaml"], indirect=True)
def test_more_than_four_jobs_run_at_once_through_the_plugin(project: YamlProject, clock: FreezableClock):
    job = project.job
    program = yaml.safe_load((project.dir / "Pulumi.yaml").read_text())
    program["resources"] = {f"job-{i}": {"type": "vertex-tuning:TuningJob", "properties": properties.to_wire(job)}
                            for i in range(PARALLEL_JOBS)}
    program["outputs"] = {f"endpoint{i}": f"${{job-{i}.tunedModelEndpoint}}" for i in range(PARALLEL_JOBS)}
    (project.dir / "Pulumi.yaml").write_text(yaml.safe_dump(program, sort_keys=False))

    clock.freeze()  # no job ends until every create has submitted its own and is waiting
    up = project.start_pulumi("up", "--yes", "--parallel", str(2 * PARALLEL_JOBS))
    wait_for(lambda: sum(j.live for j in project.jobs()) == PARALLEL_JOBS, f"{PARALLEL_JOBS} jobs running at once")
    clock.resume()
    output, _ = up.communicate(timeout=600)
    assert up.returncode == 0, output
    outputs = project.outputs()
    assert all("Paris" in project.ask({"tunedModelEndpoint": outputs[f"endpoint{i}"]}) for i in range(PARALLEL_JOBS))
    assert len(project.jobs()) == PARALLEL_JOBS


def test_a_job_moved_from_the_python_program_to_a_yaml_one_keeps_its_job_and_its_model(project: Project):
    before = project.deploy()
    recorded = project.resource()

    # The same TuningJob (project, stack and name) with the same settings, now in a YAML program.
    job = {field: recorded[field] for field in TuningJobSpec.model_fields
           if field not in properties.FACE_SET and recorded.get(field) is not None}
    moved = YamlProject.taking_over(project, job)
    up = moved.pulumi("up", "--yes")
    after = moved.outputs()
    # Pulumi created the YAML resource first, which adopted the job (no second one is paid for),
    # then deleted the Python one, which left the model the YAML resource now serves.
    assert after["tuningJobName"] == before["tuningJobName"]
    assert f"adopted tuning job {before['tuningJobName']}" in up.stdout
    assert "kept tuned model" in up.stdout and "1 other TuningJob resource(s) serve it" in up.stdout
    assert "Paris" in moved.ask(after) and len(moved.jobs()) == 1
    assert {r["type"] for r in moved.state()["resources"] if r["type"].endswith(":TuningJob")} == {properties.TOKEN}

    moved.pulumi("destroy", "--yes")  # the last resource serving it: the model goes
    with pytest.raises(NotFound):
        vertex.generate_content(moved.conn, after["tunedModelEndpoint"], "hello")
