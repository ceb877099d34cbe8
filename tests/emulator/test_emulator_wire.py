"""The proto3 JSON reading layer: what any client of Vertex may send is read as Vertex reads
it (numbers as strings, enums by number, snake_case, one object for a list where Vertex
takes it), and what no proto allows is still refused; error statuses are google.rpc codes."""

from __future__ import annotations

import pytest
from google.genai import types

from tuning_provider.emulator.http import messages, wire
from tuning_provider.emulator.http.app import HTTP_STATUS_OF_CODE, RPC_CODES
from tuning_provider.errors import InvalidRequest


@pytest.fixture
def emulator(emulator_factory, manual_clock):
    return emulator_factory(clock=manual_clock)


def create(vertex_http, parent, hyper, version="v1", **spec):
    body = {"baseModel": "gemini-3.5-flash",
            "supervisedTuningSpec": {**spec, "hyperParameters": hyper}}
    return vertex_http("POST", f"/{version}/{parent}/tuningJobs", body)


def test_numbers_sent_as_strings_are_read(vertex_http, write_dataset, tuning_parent, genai_client):
    """Item 1: the REST sample on the seed page quotes every hyperparameter."""
    status, _, job = create(
        vertex_http, tuning_parent,
        {"epochCount": "3", "learningRateMultiplier": "1.0", "adapterSize": "ADAPTER_SIZE_FOUR"},
        trainingDatasetUri=write_dataset(),
    )
    assert status == 200, job
    # Written back as proto3 JSON writes them: int64 as a string, double as a number.
    assert job["supervisedTuningSpec"]["hyperParameters"] == {
        "epochCount": "3", "learningRateMultiplier": 1.0, "adapterSize": "ADAPTER_SIZE_FOUR"}
    read = genai_client.tunings.get(name=job["name"])
    assert read.supervised_tuning_spec.hyper_parameters.learning_rate_multiplier == 1.0


@pytest.mark.parametrize("number, name", [(1, "ADAPTER_SIZE_ONE"), (2, "ADAPTER_SIZE_FOUR"), (6, "ADAPTER_SIZE_TWO")])
def test_enums_sent_as_numbers_are_read_by_their_number(vertex_http, write_dataset, tuning_parent, number, name):
    """Item 2: the GAPIC REST transport sends enums as numbers."""
    status, _, job = create(vertex_http, tuning_parent, {"adapterSize": number}, trainingDatasetUri=write_dataset())
    assert status == 200, job
    assert job["supervisedTuningSpec"]["hyperParameters"]["adapterSize"] == name


@pytest.mark.parametrize(
    "hyper, mentioned",
    [
        ({"adapterSize": 7}, "adapter_size"),
        ({"adapterSize": "ADAPTER_SIZE_THREE"}, "adapter_size"),
        ({"epochCount": "three"}, "epoch_count"),
        ({"epochCount": 2.5}, "epoch_count"),
        ({"epochCount": "99999999999999999999"}, "epoch_count"),
        ({"learningRateMultiplier": "fast"}, "learning_rate_multiplier"),
        ({"learningRateMultiplier": True}, "learning_rate_multiplier"),
        ({"epochs": 3}, "epochs"),
    ],
)
def test_values_no_proto_allows_are_400(vertex_http, write_dataset, tuning_parent, hyper, mentioned):
    status, _, body = create(vertex_http, tuning_parent, hyper, trainingDatasetUri=write_dataset())
    assert (status, body["error"]["status"]) == (400, "INVALID_ARGUMENT")
    assert mentioned in body["error"]["message"]


def test_the_seed_pages_create_body_with_snake_case_spec_fields(vertex_http, write_dataset, tuning_parent):
    body = {"baseModel": "gemini-3.5-flash",
            "supervisedTuningSpec": {"training_dataset_uri": write_dataset(),
                                     "validation_dataset_uri": write_dataset("val.jsonl"),
                                     "export_last_checkpoint_only": True},
            "tunedModelDisplayName": "tuned_gemini"}
    status, _, job = vertex_http("POST", f"/v1/{tuning_parent}/tuningJobs", body)
    assert status == 200, job
    assert job["supervisedTuningSpec"]["exportLastCheckpointOnly"] is True


def test_the_seed_pages_generate_content_body(emulator, genai_client, start_tuning_job, write_dataset,
                                              manual_clock, vertex_http):
    """Item 5: `parts` as one object, role USER, generation_config in snake_case, numbers as
    the sample writes them."""
    job = start_tuning_job(genai_client, write_dataset())
    manual_clock.advance(emulator.job_duration)
    endpoint = genai_client.tunings.get(name=job.name).tuned_model.endpoint
    body = {
        "contents": [{"role": "USER", "parts": {"text": "Why is the sky blue? What colour is a clear daytime sky?"}}],
        "generation_config": {"temperature": 0.2, "topP": "0.95", "topK": 40, "maxOutputTokens": "256"},
    }
    status, _, answer = vertex_http("POST", f"/v1/{endpoint}:generateContent", body)
    assert status == 200, answer
    assert answer["candidates"][0]["content"]["parts"] == [{"text": "A clear daytime sky is blue."}]
    response = types.GenerateContentResponse.model_validate(answer)
    assert response.text == "A clear daytime sky is blue."


def test_a_list_where_one_object_is_not_accepted_is_400(vertex_http, tuning_parent, write_dataset):
    status, _, body = vertex_http("POST", f"/v1/{tuning_parent}/tuningJobs", {
        "baseModel": "gemini-3.5-flash",
        "supervisedTuningSpec": {"trainingDatasetUri": write_dataset()},
        "labels": ["a"],
    })
    assert (status, body["error"]["status"]) == (400, "INVALID_ARGUMENT")


# --- the layer on its own ---------------------------------------------------------------------


def test_read_canonicalises_names_numbers_and_enums():
    read = wire.read(
        {"base_model": "m", "supervised_tuning_spec": {"hyper_parameters": {
            "epoch_count": 3.0, "adapter_size": 3, "learning_rate_multiplier": 2, "batch_size": "16"}},
         "labels": {"Key_With_Caps": "v"}, "tuningDataStats": {"anything": ["kept", 1]}},
        messages.TUNING_JOB, "tuning_job",
    )
    assert read == {
        "baseModel": "m",
        "supervisedTuningSpec": {"hyperParameters": {
            "epochCount": "3", "adapterSize": "ADAPTER_SIZE_EIGHT", "learningRateMultiplier": 2.0, "batchSize": "16"}},
        "labels": {"Key_With_Caps": "v"},
        "tuningDataStats": {"anything": ["kept", 1]},
    }


def test_read_names_the_path_of_a_bad_value():
    with pytest.raises(InvalidRequest, match=r"generate_content_request\.contents\[0\]\.parts\[1\]\.thought"):
        wire.read({"contents": [{"parts": [{"text": "a"}, {"thought": "yes"}]}]},
                  messages.GENERATE_CONTENT_REQUEST, "generate_content_request")


def test_int32_and_int64_ranges():
    config = {"maxOutputTokens": str(2**31)}
    with pytest.raises(InvalidRequest, match="int32"):
        wire.read({"generationConfig": config}, messages.GENERATE_CONTENT_REQUEST, "r")
    assert wire.read({"epochCount": str(2**40)}, messages.SUPERVISED_HYPER_PARAMETERS, "h") == {
        "epochCount": str(2**40)}


def test_for_version_moves_vertex_type_urls_only():
    operation = {"metadata": {"@type": "type.googleapis.com/google.cloud.aiplatform.v1.DeleteOperationMetadata"},
                 "response": {"@type": "type.googleapis.com/google.protobuf.Empty"}}
    moved = wire.for_version(operation, "v1beta1")
    assert moved["metadata"]["@type"] == "type.googleapis.com/google.cloud.aiplatform.v1beta1.DeleteOperationMetadata"
    assert moved["response"]["@type"] == "type.googleapis.com/google.protobuf.Empty"
    assert wire.for_version(operation, "v1") is operation


# --- error statuses -----------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["PUT", "PATCH", "BREW"])
def test_an_unsupported_method_answers_a_google_rpc_code(vertex_http, tuning_parent, method):
    """Item 8: clients map `status` by google.rpc.Code name; the HTTP status is the one
    google/rpc/code.proto maps it to (404 NOT_FOUND, as Google's front end answers a request
    that maps to no API method; not 405 UNIMPLEMENTED, which code.proto maps to 501)."""
    status, _, body = vertex_http(method, f"/v1/{tuning_parent}/tuningJobs")
    assert (status, body["error"]["code"], body["error"]["status"]) == (404, 404, "NOT_FOUND")
    assert HTTP_STATUS_OF_CODE[body["error"]["status"]] == status
    assert "takes GET, POST" in body["error"]["message"]


def test_the_http_layers_own_errors_answer_google_rpc_codes(emulator):
    import json
    import socket

    host, port = emulator.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(b"GET /v1/x HTTP/1.1\r\nHost: x\r\n" + b"X-Big: " + b"a" * 70000 + b"\r\n\r\n")
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    body = json.loads(answer[answer.index(b"{"):])
    assert body["error"]["status"] in RPC_CODES


@pytest.mark.parametrize("collection", ["tuningJobs", "models", "metadataStores/default/contexts"])
def test_a_bad_page_token_is_400_on_every_list(vertex_http, tuning_parent, collection):
    for token in ("nonsense", "bm90LWEtbnVtYmVy"):  # not base64; base64 of "not-a-number"
        status, _, body = vertex_http("GET", f"/v1/{tuning_parent}/{collection}?pageToken={token}")
        assert (status, body["error"]["status"]) == (400, "INVALID_ARGUMENT"), body


@pytest.mark.parametrize("collection", ["tuningJobs", "models", "metadataStores/default/contexts"])
def test_a_negative_page_size_is_400_on_every_list(vertex_http, tuning_parent, collection):
    status, _, body = vertex_http("GET", f"/v1/{tuning_parent}/{collection}?pageSize=-3")
    assert (status, body["error"]["status"]) == (400, "INVALID_ARGUMENT"), body
