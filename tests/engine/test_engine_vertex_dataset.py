"""A TuningJob that trains on a Vertex multimodal dataset, through the plain `pulumi` CLI. The
dataset is made beforehand, as a user makes one (rows in a BigQuery table, then the Dataset
through aiplatform's generated client); the program names it as training_dataset_uri.

Preview looks the dataset up and says what it cannot check (its rows); up runs the job, which
reads the rows from the table, and the endpoint in the stack outputs answers a question the
dataset taught it.
"""

from __future__ import annotations

import pytest

from tests.conftest import SAMPLE_EXAMPLES
from tests.engine.conftest import LOCATION, PROJECT, Project
from tests.multimodal_datasets import create_dataset, request_rows, write_table
from tuning_provider import vertex

pytestmark = pytest.mark.engine

# Questions the gs:// training file of the harness does not hold: only the dataset teaches them.
DATASET_EXAMPLES = (
    ("Which river flows through Vienna?", "The Danube flows through Vienna."),
    ("What is the tallest mountain in Africa?", "Kilimanjaro is the tallest mountain in Africa."),
    *SAMPLE_EXAMPLES[2:8],
)

PROGRAM = '''
"""One TuningJob whose training data is a Vertex multimodal dataset."""
import pulumi

from stacks.config import load_config
from tuning_provider import TuningJob, TuningJobArgs

config = load_config()
job = TuningJob(
    "engine-dataset",
    TuningJobArgs(
        project=config.project,
        location=config.region,
        base_model="gemini-3.5-flash",
        training_dataset_uri={dataset!r},
        epoch_count=2,
        poll_interval_seconds=0.5,
        wait_timeout_seconds=120,
    ),
)
pulumi.export("tunedModelEndpoint", job.tuned_model_endpoint)
pulumi.export("state", job.state)
'''


@pytest.fixture
def on_a_dataset(project: Project) -> tuple[Project, str]:
    table = write_table(project.emulator, request_rows(DATASET_EXAMPLES), project=PROJECT)
    dataset = str(create_dataset(project.emulator, table, project=PROJECT, location=LOCATION).name)
    (project.dir / "__main__.py").write_text(PROGRAM.format(dataset=dataset))
    return project, dataset


def test_a_job_trains_on_a_multimodal_dataset_and_its_endpoint_answers(on_a_dataset: tuple[Project, str]):
    project, dataset = on_a_dataset
    preview = project.pulumi("preview", "--diff")
    assert "+ 2 to create" in preview.stdout  # the stack and the job: the dataset passed check
    assert f"is the multimodal dataset {dataset}; check found it, but not its rows" in preview.stdout + preview.stderr

    project.pulumi("up", "--yes")
    out = project.outputs()
    assert out["state"] == "SUCCEEDED"
    question, answer = DATASET_EXAMPLES[0]
    assert vertex.generate_content(project.conn, out["tunedModelEndpoint"], question, temperature=0) == answer
    (job,) = project.jobs()
    assert job.training_dataset_uri == dataset
    assert job.outputs.tuning_data_stats is not None
    assert job.outputs.tuning_data_stats.examples == len(DATASET_EXAMPLES)  # the table's rows, not the file's
