"""evaluation_config through the plain `pulumi` CLI on the engine test stack: preview shows
the replace it means, the up serves the new model, and the evaluation run is recorded."""

from __future__ import annotations

import pytest

from tests.engine.conftest import Project

pytestmark = pytest.mark.engine

EVALUATION = {
    "metrics": [{"name": "bleu"}],
    "output_config": {"gcs_destination": {"output_uri_prefix": "gs://local-tuning-datasets/eval/"}},
}


def test_adding_evaluation_replaces_the_job_and_records_its_run(project: Project):
    first = project.deploy()

    project.set_job(evaluation_config=EVALUATION)
    preview = project.pulumi("preview", "--diff")
    assert "+-pulumi-python:dynamic/vertex:TuningJob: (replace)" in preview.stdout
    assert "evaluation_config" in preview.stdout
    project.pulumi("up", "--yes")
    second = project.outputs()
    assert second["tuningJobName"] != first["tuningJobName"]
    assert "Paris" in project.ask(second)
    (run,) = project.resource()["evaluation_runs"]
    assert run["output_directory"].startswith("gs://local-tuning-datasets/eval/")

    project.set_job(evaluation_config={**EVALUATION, "metrics": []})
    refused = project.pulumi("preview", check=False)
    assert refused.returncode != 0 and "at least one metric" in refused.stdout + refused.stderr
