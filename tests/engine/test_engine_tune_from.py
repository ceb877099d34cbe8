"""Continuous tuning declared in the stack file (`tuneFrom`), through the plain `pulumi` CLI and
the project's own program: a job of the local stack tunes further from another job's model,
and a second stack tunes from the first stack's model through a StackReference.

At the first preview the dependent job's base_model is unknown (its source has not run): check
and diff let it through. A new source model replaces the dependent one with a model tuned from
it, in one up, and the old models go only once the new ones serve: a chain, never a loop."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from google.genai import errors

from tests.conftest import SAMPLE_EXAMPLES
from tests.engine.conftest import STACK, Project, write_training_file
from tuning_provider import vertex

pytestmark = pytest.mark.engine

SPAIN = ("What is the capital of Spain?", "The capital of Spain is Madrid.")
OTHER_STACK = "enginemore"


def ask(project: Project, endpoint: str, question: str) -> str:
    return vertex.generate_content(project.conn, endpoint, question, temperature=0)


@pytest.fixture
def model_exists(make_genai_client, emulator):  # type: ignore[no-untyped-def]
    client = make_genai_client(emulator)

    def exists(model: str) -> bool:
        try:
            client.models.get(model=model.split("@")[0])
        except errors.ClientError as exc:
            assert exc.code == 404, exc
            return False
        return True

    return exists


@pytest.fixture
def more_data(tmp_path: Path) -> Path:
    return write_training_file(tmp_path / "more.jsonl", (SPAIN,) * 4)


def test_a_job_of_the_stack_tunes_further_from_another_ones_model(project: Project, more_data: Path, model_exists):
    project.config["tuning:jobs"] = {
        "reviews": {},
        "more": {"tuneFrom": "reviews", "trainingData": str(more_data), "pre_tuned_model_checkpoint_id": "1",
                 "epoch_count": 1},
    }
    project.write()
    preview = project.pulumi("preview", "--diff")
    assert "+ 3 to create" in preview.stdout  # the stack and both jobs: the unknown base_model passed check

    project.pulumi("up", "--yes")
    jobs = project.outputs()["jobs"]
    reviews, more = jobs["reviews"], jobs["more"]
    assert more["tunedModelName"] != reviews["tunedModelName"]
    (job,) = [j for j in project.jobs() if j.name == more["tuningJobName"]]
    assert job.base_model == reviews["tunedModelName"]  # sent as preTunedModel
    assert job.outputs.pre_tuned_base_model == "gemini-3.5-flash"
    # The TuningJob's own output says which Google model the chain started from.
    (recorded,) = [r["outputs"] for r in project.state()["resources"] if r["urn"].endswith("::engine-more")]
    assert recorded["pre_tuned_base_model"] == "gemini-3.5-flash"
    assert "Paris" in ask(project, reviews["tunedModelEndpoint"], SAMPLE_EXAMPLES[0][0])
    assert "Madrid" in ask(project, more["tunedModelEndpoint"], SPAIN[0])
    assert "Paris" in ask(project, more["tunedModelEndpoint"], SAMPLE_EXAMPLES[0][0])  # learned before

    again = project.pulumi("up", "--yes")
    assert "3 unchanged" in again.stdout and len(project.jobs()) == 2

    # A new model of the source: the dependent job tunes again from it, in the same up.
    project.config["tuning:job"]["epoch_count"] = 3
    project.write()
    preview = project.pulumi("preview", "--diff")
    assert "2 to replace" in preview.stdout
    project.pulumi("up", "--yes")
    after = project.outputs()["jobs"]
    assert after["reviews"]["tunedModelName"] != reviews["tunedModelName"]
    (job,) = [j for j in project.jobs() if j.name == after["more"]["tuningJobName"]]
    assert job.base_model == after["reviews"]["tunedModelName"]
    assert "Madrid" in ask(project, after["more"]["tunedModelEndpoint"], SPAIN[0])
    assert "Paris" in ask(project, after["reviews"]["tunedModelEndpoint"], SAMPLE_EXAMPLES[0][0])
    assert not model_exists(reviews["tunedModelName"]) and not model_exists(more["tunedModelName"])
    assert len(project.jobs()) == 4
    assert "3 unchanged" in project.pulumi("up", "--yes").stdout  # settled: no loop of replacements


def test_a_second_stack_tunes_from_the_first_stacks_model(project: Project, more_data: Path):
    other = dict(project.config, **{
        "tuning:trainingData": str(more_data),
        "tuning:job": {**project.config["tuning:job"], "epoch_count": 1,
                       "tuneFrom": {"stack": f"organization/tuning/{STACK}"}},
    })
    other["tuning:job"].pop("base_model")
    project.pulumi("stack", "init", OTHER_STACK, "--no-select", stack=False)
    (project.dir / "stacks" / f"Pulumi.{OTHER_STACK}.yaml").write_text(yaml.safe_dump({"config": other}))

    def other_stack(*args: str, check: bool = True):  # type: ignore[no-untyped-def]
        return project.pulumi(*args, "--stack", OTHER_STACK, stack=False, check=check)

    # Before the first stack has a model, the second says which output it waits for.
    early = other_stack("preview", check=False)
    assert early.returncode != 0
    assert f"stack organization/tuning/{STACK} exports no tunedModelName" in early.stdout + early.stderr

    first = project.deploy()
    other_stack("up", "--yes")
    second = yaml.safe_load(other_stack("stack", "output", "--json").stdout)
    (job,) = [j for j in project.jobs() if j.name == second["tuningJobName"]]
    assert job.base_model == first["tunedModelName"]
    assert "Madrid" in ask(project, second["tunedModelEndpoint"], SPAIN[0])
    assert "Paris" in project.ask(first)
    settled = other_stack("preview").stdout
    assert "to create" not in settled and "to replace" not in settled, settled
