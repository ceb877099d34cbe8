"""Faults after a request acts: the request takes effect, then its answer is lost, as a
connection reset, as another status (a 503 or 504 from a load balancer), or held past the
client's timeout. Seen from clients we did not write (google-genai, google-cloud-aiplatform's
generated clients, the Vertex AI SDK, raw REST): the client sees an error, and yet the state
has changed, which is the case idempotency exists for."""

from __future__ import annotations

import errno
import threading

import httpx2
import pytest
import requests
from google import genai
from google.api_core import exceptions
from google.cloud import aiplatform
from google.cloud import aiplatform_v1 as v1
from google.genai import errors, types
from google.oauth2.credentials import Credentials
from vertexai.tuning import sft

from tests.conftest import JOB_DURATION, LOCATION, PROJECT
from tests.emulator.conftest import SDK_DEPRECATION

CANCELLED = "JOB_STATE_CANCELLED"


@pytest.fixture
def clocked_client(clocked_emulator, make_genai_client):
    """google-genai against an emulator whose jobs move only when the test says."""
    return make_genai_client(clocked_emulator)


def test_a_reset_after_create_reaches_google_genai_as_a_connection_error_and_the_job_exists(
    emulator, genai_client, start_tuning_job, write_dataset
):
    emulator.faults.add("POST tuningJobs after=reset")
    with pytest.raises(httpx2.ReadError, match="Connection reset"):
        start_tuning_job(genai_client, write_dataset())
    [job] = genai_client.tunings.list()  # the same client carries on, on a new connection
    assert job.base_model == "gemini-3.5-flash"


def test_a_reset_after_create_reaches_raw_rest_as_a_connection_reset(
    emulator, vertex_http, write_dataset, tuning_parent
):
    emulator.faults.add("POST tuningJobs after=reset")
    body = {"baseModel": "gemini-3.5-flash", "supervisedTuningSpec": {"trainingDatasetUri": write_dataset()}}
    with pytest.raises(ConnectionResetError) as error:
        vertex_http("POST", f"/v1/{tuning_parent}/tuningJobs", body)
    assert error.value.errno == errno.ECONNRESET  # a reset (RST), not an orderly close
    status, _, listed = vertex_http("GET", f"/v1/{tuning_parent}/tuningJobs")
    assert status == 200 and len(listed["tuningJobs"]) == 1


@pytest.mark.parametrize("status", [503, 504])
def test_a_cancel_answered_a_gateway_status_after_acting_has_cancelled_the_job(
    clocked_emulator, clocked_client, start_tuning_job, write_dataset, status
):
    job = start_tuning_job(clocked_client, write_dataset())
    clocked_emulator.faults.add(f"POST tuningJobs/*:cancel after={status}")
    with pytest.raises(errors.ServerError) as error:
        clocked_client.tunings.cancel(name=job.name)
    assert error.value.code == status
    assert clocked_client.tunings.get(name=job.name).state.value == CANCELLED


def test_a_504_after_cancel_reaches_the_generated_client_as_a_gateway_timeout(
    clocked_emulator, gapic, write_dataset, tuning_parent
):
    client = gapic(v1.GenAiTuningServiceClient, clocked_emulator)
    job = client.create_tuning_job(parent=tuning_parent, tuning_job=v1.TuningJob(
        base_model="gemini-3.5-flash",
        supervised_tuning_spec=v1.SupervisedTuningSpec(training_dataset_uri=write_dataset()),
    ))
    clocked_emulator.faults.add("POST tuningJobs/*:cancel after=504")
    with pytest.raises(exceptions.GatewayTimeout):
        client.cancel_tuning_job(name=job.name)
    assert client.get_tuning_job(name=job.name).state == v1.JobState.JOB_STATE_CANCELLED


@pytest.mark.filterwarnings(SDK_DEPRECATION)
def test_a_reset_after_the_model_delete_reaches_the_vertex_sdk_and_the_model_is_gone(
    vertex_sdk, write_dataset, manual_clock
):
    job = sft.train(source_model="gemini-3.5-flash", train_dataset=write_dataset())
    manual_clock.advance(JOB_DURATION)
    job.refresh()
    for checkpoint in job._gca_resource.tuned_model.checkpoints:
        aiplatform.Endpoint(checkpoint.endpoint).delete(force=True)
    model = aiplatform.Model(job.tuned_model_name.split("@")[0])

    vertex_sdk.faults.add("DELETE models/* after=reset")
    with pytest.raises(requests.ConnectionError):
        model.delete()
    assert aiplatform.Model.list() == []


def test_an_answer_held_past_the_clients_timeout_is_a_timeout_and_the_job_exists(
    emulator_factory, start_tuning_job, write_dataset
):
    acted = threading.Event()  # the create has run and committed: its answer is being held
    emulator = emulator_factory(
        faults=["POST tuningJobs after=delay:600"],
        on_answer=lambda request, response: acted.set() if response.hold_seconds else None,
    )
    impatient = genai.Client(
        vertexai=True, project=PROJECT, location=LOCATION, credentials=Credentials(token="test-token"),
        http_options=types.HttpOptions(base_url=emulator.url, api_version="v1", timeout=500),  # milliseconds
    )
    with pytest.raises(httpx2.ReadTimeout):
        start_tuning_job(impatient, write_dataset())
    assert acted.wait(timeout=30)
    assert len(list(impatient.tunings.list())) == 1


def test_a_client_that_outwaits_a_delay_gets_the_real_answer(emulator, vertex_http, tuning_parent):
    emulator.faults.add("GET tuningJobs after=delay:0.1")
    status, _, body = vertex_http("GET", f"/v1/{tuning_parent}/tuningJobs")
    assert (status, body) == (200, {})
