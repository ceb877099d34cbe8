"""Continuous tuning into a new *version* of the same model, through the plain `pulumi` CLI,
and retiring the first job without taking the newer version down.

A team keeps one tuned model, "support", and improves it with new data: a second TuningJob
tunes from the first one's model under the same display name (the resource names its tuned
model after itself unless told otherwise; Vertex makes a new model for a *new* display name,
and the next version of the pre-tuned model's parent otherwise). Its model is
`models/ID@2`, with an endpoint of its own. Then the team retires the first job: it leaves the
program, and the second now names its base model literally (the same value, so it is not
replaced). Version @1 holds the model's `default` alias, which Vertex keeps on one version, so
the provider keeps it and fails the up with what to do, having touched nothing; once the user
moves the alias to @2, the next up deletes @1 alone. At every step what the outputs name
exists and answers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from google.api_core import exceptions
from google.cloud import aiplatform_v1 as v1

from tests.aiplatform_reader import aiplatform_client
from tests.engine.conftest import Project, write_training_file
from tuning_provider import vertex

pytestmark = pytest.mark.engine

MADRID = (("What is the capital of Spain?", "The capital of Spain is Madrid."),) * 4

HEAD = '''
"""Tuned model "support", improved by continuous tuning into its next version."""
from pathlib import Path

import pulumi

from stacks.config import load_config
from stacks.local import place_dataset
from tuning_provider import TuningJob, TuningJobArgs

config = load_config()


def job(name, base_model, data, **settings):
    return TuningJob(name, TuningJobArgs(
        project=config.project, location=config.region, base_model=base_model,
        training_dataset_uri=place_dataset(Path(data), config.local_gcs_dir), epoch_count=1,
        poll_interval_seconds=0.5, wait_timeout_seconds=120, **settings))
'''

BOTH = HEAD + '''
first = job("support", "gemini-3.5-flash", {train!r})
second = job("support-v2", first.tuned_model_name, {more!r},
             tuned_model_display_name=first.tuned_model_display_name)  # same model: its next version
pulumi.export("firstModelName", first.tuned_model_name)
pulumi.export("firstModelEndpoint", first.tuned_model_endpoint)
pulumi.export("tunedModelName", second.tuned_model_name)
pulumi.export("tunedModelEndpoint", second.tuned_model_endpoint)
'''

# The first job retired: the second names the model it was tuned from as a value.
SECOND_ONLY = HEAD + '''
second = job("support-v2", {base!r}, {more!r}, tuned_model_display_name="support")
pulumi.export("tunedModelName", second.tuned_model_name)
pulumi.export("tunedModelEndpoint", second.tuned_model_endpoint)
'''


def ask(project: Project, endpoint: str, question: str) -> str:
    return vertex.generate_content(project.conn, endpoint, question, temperature=0)


def all_answer(project: Project, outputs: dict[str, Any]) -> None:
    """Every model version and endpoint the outputs name exists and answers."""
    models = aiplatform_client(v1.ModelServiceClient, project.emulator)
    for key, value in outputs.items():
        if key.endswith("ModelName"):
            models.get_model(name=value)
        elif key.endswith("ModelEndpoint"):
            assert ask(project, value, MADRID[0][0])


def test_retiring_the_first_job_never_takes_the_newer_version_down(project: Project, tmp_path: Path):
    train, more = str(project.config["tuning:trainingData"]), str(write_training_file(tmp_path / "more.jsonl", MADRID))
    main = project.dir / "__main__.py"
    main.write_text(BOTH.format(train=train, more=more))
    project.pulumi("up", "--yes")
    out = project.outputs()
    model = out["firstModelName"].split("@")[0]
    assert out["firstModelName"] == f"{model}@1" and out["tunedModelName"] == f"{model}@2"
    assert out["tunedModelEndpoint"] != out["firstModelEndpoint"]
    assert "Madrid" in ask(project, out["tunedModelEndpoint"], MADRID[0][0])
    assert "Paris" in project.ask(out)  # learned by the version it was tuned from

    # Retire the first job: version @1 is the model's default, so it is kept and the up fails.
    main.write_text(SECOND_ONLY.format(base=out["firstModelName"], more=more))
    refused = project.pulumi("up", "--yes", check=False)
    said = refused.stdout + refused.stderr
    assert refused.returncode != 0
    assert f"tuned model version {out['firstModelName']} was not deleted" in said
    assert "'default' alias" in said and "merge_version_aliases" in said
    models = aiplatform_client(v1.ModelServiceClient, project.emulator)
    assert [m.version_id for m in models.list_model_versions(name=model)] == ["1", "2"]  # nothing touched
    assert "Madrid" in ask(project, out["tunedModelEndpoint"], MADRID[0][0])
    assert "Paris" in ask(project, out["firstModelEndpoint"], "What is the capital of France?")
    assert any(r["urn"].endswith("::support") for r in project.state()["resources"])  # still in state
    assert project.outputs() == out  # the failed up leaves the previous outputs, which still answer
    all_answer(project, out)

    # What the error says to do: move the alias to the version that stays, run up again.
    models.merge_version_aliases(name=out["tunedModelName"], version_aliases=["default"])
    project.pulumi("up", "--yes")
    after = project.outputs()
    assert (after["tunedModelName"], after["tunedModelEndpoint"]) == (out["tunedModelName"], out["tunedModelEndpoint"])
    assert [m.version_id for m in models.list_model_versions(name=model)] == ["2"]
    with pytest.raises(exceptions.NotFound):
        aiplatform_client(v1.EndpointServiceClient, project.emulator).get_endpoint(name=out["firstModelEndpoint"])
    assert "Madrid" in ask(project, after["tunedModelEndpoint"], MADRID[0][0])
    assert not any(r["urn"].endswith("::support") for r in project.state()["resources"])
    all_answer(project, after)

    # The last version goes with its model.
    project.pulumi("destroy", "--yes")
    with pytest.raises(exceptions.NotFound):
        models.get_model(name=model)
