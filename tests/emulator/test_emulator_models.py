"""What a succeeded job leaves behind: the tuned model, its endpoints (one per checkpoint),
answers from generateContent, and their clean-up in the order Vertex insists on."""

from __future__ import annotations

import pytest
from google.genai import errors, types

from tuning_provider.catalog import CHARS_PER_TOKEN


@pytest.fixture
def emulator(emulator_factory, manual_clock):
    """The shared emulator on a manual clock: jobs finish when the test says, not after a sleep."""
    return emulator_factory(clock=manual_clock)


@pytest.fixture
def tuned_job(emulator, genai_client, start_tuning_job, write_dataset, manual_clock):
    job = start_tuning_job(genai_client, write_dataset(), epoch_count=2)
    manual_clock.advance(emulator.job_duration)
    done = genai_client.tunings.get(name=job.name)
    assert done.state == types.JobState.JOB_STATE_SUCCEEDED
    return done


def ask(client, endpoint, question, **config):
    return client.models.generate_content(
        model=endpoint,
        contents=question,
        config=types.GenerateContentConfig(thinking_config=types.ThinkingConfig(thinking_budget=0), **config),
    )


def test_the_tuned_endpoint_answers_from_the_training_data(genai_client, tuned_job):
    response = ask(
        genai_client, tuned_job.tuned_model.endpoint, "Which planet is called the red planet?",
        temperature=0.2, top_p=0.9, top_k=20, max_output_tokens=256, system_instruction="Answer briefly.",
    )
    assert response.text == "Mars is known as the red planet."
    candidate = response.candidates[0]
    assert candidate.content.role == "model"
    assert candidate.finish_reason == types.FinishReason.STOP
    assert response.model_version.startswith("emulator")
    assert "no neural network" in response.model_version
    usage = response.usage_metadata
    assert usage.prompt_token_count > 0 and usage.candidates_token_count > 0
    assert usage.total_token_count == usage.prompt_token_count + usage.candidates_token_count


def test_a_checkpoint_endpoint_answers_and_honours_max_output_tokens(genai_client, tuned_job):
    first_checkpoint = tuned_job.tuned_model.checkpoints[0].endpoint
    assert first_checkpoint != tuned_job.tuned_model.endpoint
    full = ask(genai_client, first_checkpoint, "What is the capital of Italy?")
    assert full.text == "The capital of Italy is Rome."

    short = ask(genai_client, first_checkpoint, "What is the capital of Italy?", max_output_tokens=2)
    assert short.text == full.text[: 2 * CHARS_PER_TOKEN]
    assert short.candidates[0].finish_reason == types.FinishReason.MAX_TOKENS


def test_candidate_count_and_stop_sequences(genai_client, tuned_job):
    response = ask(
        genai_client, tuned_job.tuned_model.endpoint, "What is the capital of France?",
        candidate_count=2, stop_sequences=[" is "],
    )
    texts = [c.content.parts[0].text for c in response.candidates]
    assert texts[0] == "The capital of France"
    assert len(texts) == 2 and texts[1] != texts[0]


def test_out_of_range_settings_are_400(genai_client, tuned_job):
    with pytest.raises(errors.ClientError) as caught:
        ask(genai_client, tuned_job.tuned_model.endpoint, "hello", temperature=3.0)
    assert caught.value.code == 400
    assert "temperature" in caught.value.message


def test_uppercase_roles_and_snake_case_config_are_accepted(vertex_http, tuned_job):
    body = {
        "contents": [{"role": "USER", "parts": [{"text": "How many continents are there?"}]}],
        "generation_config": {"max_output_tokens": 3, "temperature": 0},
        "system_instruction": {"parts": [{"text": "Be brief."}]},
    }
    status, _, answer = vertex_http("POST", f"/v1/{tuned_job.tuned_model.endpoint}:generateContent", body)
    assert status == 200, answer
    text = answer["candidates"][0]["content"]["parts"][0]["text"]
    assert text == "There are seven continents."[: 3 * CHARS_PER_TOKEN]
    assert answer["candidates"][0]["finishReason"] == "MAX_TOKENS"


def test_model_and_endpoints_describe_each_other(vertex_http, tuned_job):
    model_name = tuned_job.tuned_model.model
    status, _, model = vertex_http("GET", f"/v1/{model_name}")  # the @1 spelling works too
    assert status == 200
    assert model["name"] == model_name.split("@")[0]
    assert model["versionId"] == "1"
    endpoints = {c.endpoint for c in tuned_job.tuned_model.checkpoints}
    assert {d["endpoint"] for d in model["deployedModels"]} == endpoints

    status, _, endpoint = vertex_http("GET", f"/v1/{tuned_job.tuned_model.endpoint}")
    assert status == 200
    [deployed] = endpoint["deployedModels"]
    assert deployed["model"] == model["name"]
    assert deployed["id"] in {d["deployedModelId"] for d in model["deployedModels"]}


def test_google_genai_reads_the_tuned_model(genai_client, tuned_job):
    model = genai_client.models.get(model=tuned_job.tuned_model.model)
    assert model.name == tuned_job.tuned_model.model.split("@")[0]
    assert model.version == "1"
    assert {e.name for e in model.endpoints} == {c.endpoint for c in tuned_job.tuned_model.checkpoints}
    assert [c.checkpoint_id for c in model.checkpoints] == ["1", "2"]
    assert model.default_checkpoint_id == "2"


def test_clean_up_in_vertex_order(genai_client, vertex_http, tuned_job):
    model = tuned_job.tuned_model.model.split("@")[0]
    endpoints = [c.endpoint for c in tuned_job.tuned_model.checkpoints]

    # The model cannot go while endpoints serve it.
    with pytest.raises(errors.ClientError) as caught:
        genai_client.models.delete(model=model)
    assert (caught.value.code, caught.value.status) == (400, "FAILED_PRECONDITION")
    assert endpoints[0] in caught.value.message

    # Nor can an endpoint with a model deployed to it.
    status, _, body = vertex_http("DELETE", f"/v1/{endpoints[0]}")
    assert (status, body["error"]["status"]) == (400, "FAILED_PRECONDITION")

    for endpoint in endpoints:
        _, _, info = vertex_http("GET", f"/v1/{endpoint}")
        for deployed in info["deployedModels"]:
            status, _, operation = vertex_http(
                "POST", f"/v1/{endpoint}:undeployModel", {"deployedModelId": deployed["id"]}
            )
            assert status == 200 and operation["done"] is True
    # Undeployed: the endpoint stays but has nothing to answer with.
    with pytest.raises(errors.ClientError) as caught:
        ask(genai_client, endpoints[0], "hello")
    assert caught.value.status == "FAILED_PRECONDITION"

    status, _, operation = vertex_http("DELETE", f"/v1/{endpoints[0]}")
    assert status == 200 and operation["done"] is True and "/operations/" in operation["name"]

    genai_client.models.delete(model=model)  # google-genai accepts the done operation
    status, _, _ = vertex_http("GET", f"/v1/{model}")
    assert status == 404
    with pytest.raises(errors.ClientError) as caught:
        ask(genai_client, endpoints[0], "hello")
    assert caught.value.code == 404


def test_undeploying_an_unknown_deployed_model_is_404(vertex_http, tuned_job):
    status, _, body = vertex_http(
        "POST", f"/v1/{tuned_job.tuned_model.endpoint}:undeployModel", {"deployedModelId": "42"}
    )
    assert status == 404


def test_reads_never_write_the_state_advances_before_each_request(
    emulator, genai_client, start_tuning_job, write_dataset, manual_clock
):
    """A job's model and endpoints are written where its state advances (once, before the
    emulator serves a request), never by a get or list."""
    job = start_tuning_job(genai_client, write_dataset())
    manual_clock.advance(emulator.job_duration)
    read = emulator.state.tuning_jobs.get_tuning_job(job.name)  # the state alone, no request
    assert read["state"] == "JOB_STATE_SUCCEEDED"
    assert emulator.state.model_registry.find_version(read["tunedModel"]["model"]) is None

    done = genai_client.tunings.get(name=job.name)  # a request: the state advances first
    assert emulator.state.model_registry.find_version(done.tuned_model.model) is not None
    assert ask(genai_client, done.tuned_model.endpoint, "What is the capital of Italy?").text
