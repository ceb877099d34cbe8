"""The Vertex AI SDK for Python (google-cloud-aiplatform's `vertexai` and `aiplatform`)
against the emulator, doing what the seed page's samples do: `sft.train`, the `refresh()`
polling loop, `experiment`, `SupervisedTuningJob(name)` and `cancel()`, `Model.list()`,
and deleting the tuned model after its endpoints.

`vertexai.init(api_endpoint="http://127.0.0.1:PORT", api_transport="rest")`: the REST
transport keeps the http scheme of the endpoint."""

from __future__ import annotations

import pytest
from google.cloud import aiplatform
from vertexai.tuning import sft

from tests.conftest import JOB_DURATION, LOCATION, PROJECT
from tests.emulator.conftest import SDK_DEPRECATION

pytestmark = pytest.mark.filterwarnings(SDK_DEPRECATION)

PARENT = f"projects/{PROJECT}/locations/{LOCATION}"


@pytest.fixture
def emulator(vertex_sdk):
    return vertex_sdk


def test_sft_train_with_an_adapter_size_then_the_refresh_loop(vertex_sdk, write_dataset, manual_clock):
    """Item 2 and 3: the SDK sends adapter_size=4 as the enum's number, and its polling loop
    reads the job's experiment on every refresh()."""
    job = sft.train(
        source_model="gemini-3.5-flash",
        train_dataset=write_dataset(),
        validation_dataset=write_dataset("val.jsonl"),
        epochs=2,
        adapter_size=4,
        learning_rate_multiplier=1.0,
        tuned_model_display_name="sdk-tuned",
        labels={"team": "sdk"},
    )
    assert job.state.name == "JOB_STATE_PENDING"
    ticks = 0
    while not job.has_ended:  # the seed's loop, with the emulator's clock for time.sleep(60)
        manual_clock.advance(JOB_DURATION / 4)
        job.refresh()
        ticks += 1
    assert ticks == 4 and job.has_succeeded
    assert job.tuned_model_name.startswith(f"{PARENT}/models/")
    assert job.tuned_model_endpoint_name.startswith(f"{PARENT}/endpoints/")
    assert job.tuning_data_statistics.supervised_tuning_data_stats.tuning_step_count == 4

    experiment = job.experiment
    assert isinstance(experiment, aiplatform.Experiment)
    assert experiment.name == job._gca_resource.experiment.rsplit("/", 1)[1]
    tensorboard = experiment.get_backing_tensorboard_resource()  # a GetTensorboard of its own
    assert tensorboard.resource_name == experiment.backing_tensorboard_resource_name


def test_a_job_by_name_and_its_cancel(vertex_sdk, write_dataset, tuning_parent):
    started = sft.train(source_model="gemini-3.5-flash", train_dataset=write_dataset())
    again = sft.SupervisedTuningJob(started.resource_name)
    assert again.resource_name == started.resource_name
    again.cancel()
    again.refresh()
    assert again.state.name == "JOB_STATE_CANCELLED" and again.has_ended
    assert [j.resource_name for j in sft.SupervisedTuningJob.list()] == [started.resource_name]


def test_model_list_and_delete_after_the_endpoints(vertex_sdk, write_dataset, manual_clock):
    """Item 6: the seed's delete sample lists the Model Registry first."""
    job = sft.train(source_model="gemini-3.5-flash", train_dataset=write_dataset(), tuned_model_display_name="gone")
    manual_clock.advance(JOB_DURATION)
    job.refresh()

    models = aiplatform.Model.list()
    assert [m.resource_name for m in models] == [job.tuned_model_name.split("@")[0]]
    assert [m.display_name for m in aiplatform.Model.list(filter='display_name="gone"')] == ["gone"]
    assert aiplatform.Model.list(filter='display_name="other"') == []

    model = aiplatform.Model(job.tuned_model_name.split("@")[0].rsplit("/", 1)[1])  # MODEL_ID, as the seed
    for checkpoint in job._gca_resource.tuned_model.checkpoints:
        aiplatform.Endpoint(checkpoint.endpoint).delete(force=True)  # undeploys, then deletes
    model.delete()
    assert aiplatform.Model.list() == []


def test_the_tuned_endpoint_answers_generative_model(vertex_sdk, write_dataset, manual_clock):
    """The seed's evaluation sample: GenerativeModel on the job's endpoint."""
    from vertexai.generative_models import GenerationConfig, GenerativeModel

    job = sft.train(source_model="gemini-3.5-flash", train_dataset=write_dataset())
    manual_clock.advance(JOB_DURATION)
    tuned = GenerativeModel(sft.SupervisedTuningJob(job.resource_name).tuned_model_endpoint_name)
    assert tuned.generate_content("What is the capital of Italy?").text == "The capital of Italy is Rome."
    short = tuned.generate_content("What is the capital of Italy?",
                                   generation_config=GenerationConfig(temperature=0.2, max_output_tokens=2))
    assert short.text == "The capital of Italy is Rome."[:8]
    assert short.candidates[0].finish_reason.name == "MAX_TOKENS"
