"""Continuous tuning through the plain `pulumi` CLI: a second TuningJob tunes further from the
first one's `tuned_model_name` output. The local stack's own program keeps one job; this test
writes a program of two jobs into the harness's copy of the project.

At the first preview the second job's base_model is unknown (the first has not run): check
and diff must let it through. The up then runs the first job, the second from its model,
and both endpoints answer; changing the first replaces both, the second from the new model.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import SAMPLE_EXAMPLES
from tests.engine.conftest import Project, write_training_file
from tuning_provider import vertex

pytestmark = pytest.mark.engine

MORE_EXAMPLES = (("What is the capital of Spain?", "The capital of Spain is Madrid."),) * 4

PROGRAM = '''
"""The local stack plus a second job that tunes further from the first one's model."""
from pathlib import Path

import pulumi

from stacks.config import load_config
from stacks.local import build_local_stack, place_dataset
from tuning_provider import TuningJob, TuningJobArgs

config = load_config()
(first,) = build_local_stack(config).values()  # the one job of the stack, by resource name
continued = TuningJob(
    "engine-continued",
    TuningJobArgs(
        project=config.project,
        location=config.region,
        base_model=first.tuned_model_name,
        pre_tuned_model_checkpoint_id="1",
        adapter_size=8,  # judged against the first model's own base model, looked up in check
        training_dataset_uri=place_dataset(Path({more!r}), config.local_gcs_dir),
        epoch_count=1,
        poll_interval_seconds=0.5,
        wait_timeout_seconds=120,
    ),
)
pulumi.export("continuedModelName", continued.tuned_model_name)
pulumi.export("continuedModelEndpoint", continued.tuned_model_endpoint)
pulumi.export("continuedFrom", continued.pre_tuned_base_model)
'''


@pytest.fixture
def two_jobs(project: Project, tmp_path: Path) -> Project:
    more = write_training_file(tmp_path / "more.jsonl", MORE_EXAMPLES)
    (project.dir / "__main__.py").write_text(PROGRAM.format(more=str(more)))
    return project


def ask(project: Project, endpoint: str, question: str) -> str:
    return vertex.generate_content(project.conn, endpoint, question, temperature=0)


def test_a_second_job_tunes_further_from_the_first_ones_model(two_jobs: Project):
    preview = two_jobs.pulumi("preview", "--diff")
    assert "+ 3 to create" in preview.stdout  # the stack and both jobs: the unknown base_model passed check

    two_jobs.pulumi("up", "--yes")
    out = two_jobs.outputs()
    assert out["continuedFrom"] == "gemini-3.5-flash"
    assert out["continuedModelName"] != out["tunedModelName"]
    assert "Paris" in two_jobs.ask(out)  # the first job's endpoint: the serving invariant
    assert "Madrid" in ask(two_jobs, out["continuedModelEndpoint"], "What is the capital of Spain?")
    assert "Paris" in ask(two_jobs, out["continuedModelEndpoint"], SAMPLE_EXAMPLES[0][0])
    (second,) = [j for j in two_jobs.jobs() if j.outputs.tuned_model_name == out["continuedModelName"]]
    assert second.base_model == out["tunedModelName"]

    again = two_jobs.pulumi("up", "--yes")
    assert "3 unchanged" in again.stdout and len(two_jobs.jobs()) == 2

    # A new first model means the second tunes again, from it: no loop, both replaced.
    two_jobs.set_job(epoch_count=3)
    two_jobs.pulumi("up", "--yes")
    after = two_jobs.outputs()
    assert after["tunedModelName"] != out["tunedModelName"]
    assert after["continuedModelName"] != out["continuedModelName"]
    assert "Paris" in two_jobs.ask(after)
    assert "Madrid" in ask(two_jobs, after["continuedModelEndpoint"], "What is the capital of Spain?")
    assert len(two_jobs.jobs()) == 4
