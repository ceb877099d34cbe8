"""Errors: Google's JSON body with the right HTTP status, for what Vertex rejects up front,
for unknown names, paths and methods, and for missing credentials."""

from __future__ import annotations

import datetime as dt
import json
import socket

import pytest
from google.genai import errors

UNKNOWN_ID = "1234567890123456789"


def error_of(body):
    """The (code, status) of Google's error body, after checking its shape."""
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "status"}
    assert body["error"]["message"]
    return body["error"]["code"], body["error"]["status"]


@pytest.fixture
def create_job(vertex_http, write_dataset, tuning_parent):
    """POST a tuning job: a valid body, changed by `changes` (None removes a field)."""

    def create(changes=None, spec_changes=None, parent=tuning_parent):
        body = {"baseModel": "gemini-3.5-flash", "supervisedTuningSpec": {"trainingDatasetUri": write_dataset()}}
        for target, updates in ((body, changes or {}), (body["supervisedTuningSpec"], spec_changes or {})):
            for key, value in updates.items():
                if value is None:
                    target.pop(key, None)
                else:
                    target[key] = value
        return vertex_http("POST", f"/v1/{parent}/tuningJobs", body)

    return create


def test_a_valid_body_is_accepted(create_job):
    status, _, body = create_job()
    assert status == 200, body


@pytest.mark.parametrize(
    "changes, spec_changes, mentioned",
    [
        ({"baseModel": "gemini-1.0-ultra"}, None, "gemini-1.0-ultra"),
        ({"baseModel": None}, None, "base_model"),
        (None, {"trainingDatasetUri": "https://example.com/train.jsonl"}, "gs://"),
        (None, {"trainingDatasetUri": "gs://tuning-data"}, "gs://"),
        (None, {"validationDatasetUri": "/tmp/val.jsonl"}, "validation_dataset_uri"),
        (None, {"trainingDatasetUri": None}, "training_dataset_uri"),
        ({"labels": {"Team": "a"}}, None, "Team"),
        ({"labels": {"team": "A b"}}, None, "A b"),
        ({"labels": {"1team": "a"}}, None, "1team"),
        ({"labels": {"k" * 64: "a"}}, None, "k" * 64),
        ({"labels": {f"k{i}": "v" for i in range(65)}}, None, "64"),
        ({"tunedModelDisplayName": "x" * 129}, None, "128"),
        (None, {"hyperParameters": {"epochCount": 0}}, "epoch_count"),
        (None, {"hyperParameters": {"adapterSize": "ADAPTER_SIZE_THREE"}}, "adapter_size"),
        ({"encryptionSpec": {"kmsKeyName": "projects/p/locations/us-central1/keyRings/r/cryptoKeys/k"}}, None,
         "not supported for tuning gemini-3.5-flash"),  # no model tunable today takes CMEK
        ({"unknownField": 1}, None, "unknownField"),
    ],
)
def test_bad_create_requests_are_400_invalid_argument(create_job, changes, spec_changes, mentioned):
    status, _, body = create_job(changes, spec_changes)
    assert status == 400, body
    assert error_of(body) == (400, "INVALID_ARGUMENT")
    assert mentioned in body["error"]["message"]


def test_a_key_in_another_region_is_rejected(emulator_factory, manual_clock, vertex_http, write_dataset, tuning_parent):
    # Only the retired 2.5 models took customer-managed keys: a day before their retirement.
    manual_clock.now = dt.datetime(2026, 9, 1, tzinfo=dt.UTC).timestamp()
    emulator = emulator_factory(clock=manual_clock)
    key = "projects/p/locations/europe-west4/keyRings/r/cryptoKeys/k"
    body = {"baseModel": "gemini-2.5-flash", "encryptionSpec": {"kmsKeyName": key},
            "supervisedTuningSpec": {"trainingDatasetUri": write_dataset()}}
    status, _, answer = vertex_http("POST", f"/v1/{tuning_parent}/tuningJobs", body, emulator=emulator)
    assert (status, error_of(answer)) == (400, (400, "INVALID_ARGUMENT"))
    assert "region" in answer["error"]["message"]


def test_global_location_is_rejected(create_job):
    status, _, body = create_job(parent="projects/test-project/locations/global")
    assert (status, error_of(body)) == (400, (400, "INVALID_ARGUMENT"))
    assert "global" in body["error"]["message"]


def test_region_outside_the_models_regions_is_rejected(create_job):
    status, _, body = create_job({"baseModel": "gemini-3.5-flash"}, parent="projects/test-project/locations/us-east4")
    assert status == 400
    assert "us-east4" in body["error"]["message"]


def test_a_model_is_tunable_until_its_retirement_day_by_the_emulators_clock(
    emulator_factory, manual_clock, vertex_http, write_dataset, tuning_parent
):
    emulator = emulator_factory(clock=manual_clock)
    body = {"baseModel": "gemini-2.5-flash", "supervisedTuningSpec": {"trainingDatasetUri": write_dataset()}}
    manual_clock.now = dt.datetime(2026, 10, 19, 23, 59, tzinfo=dt.UTC).timestamp()
    status, _, _ = vertex_http("POST", f"/v1/{tuning_parent}/tuningJobs", body, emulator=emulator)
    assert status == 200
    manual_clock.advance(60)  # 2026-10-20, the day Google retired the 2.5 models
    status, _, answer = vertex_http("POST", f"/v1/{tuning_parent}/tuningJobs", body, emulator=emulator)
    assert (status, error_of(answer)) == (400, (400, "INVALID_ARGUMENT"))
    message = answer["error"]["message"]
    assert "gemini-2.5-flash was retired on 2026-10-20" in message
    assert "Supported models: gemini-3.1-flash-lite, gemini-3.5-flash, gemini-3.5-flash-lite." in message


def test_google_genai_sees_a_400_as_client_error(genai_client, start_tuning_job, write_dataset):
    with pytest.raises(errors.ClientError) as caught:
        start_tuning_job(genai_client, write_dataset(), base_model="not-a-model")
    assert caught.value.code == 400
    assert caught.value.status == "INVALID_ARGUMENT"
    assert "not-a-model" in caught.value.message


@pytest.mark.parametrize("collection", ["tuningJobs", "models", "endpoints"])
def test_unknown_names_are_404_not_found(vertex_http, tuning_parent, collection):
    status, _, body = vertex_http("GET", f"/v1/{tuning_parent}/{collection}/{UNKNOWN_ID}")
    assert (status, error_of(body)) == (404, (404, "NOT_FOUND"))
    assert UNKNOWN_ID in body["error"]["message"]


def test_google_genai_sees_an_unknown_job_as_404(genai_client, tuning_parent):
    with pytest.raises(errors.ClientError) as caught:
        genai_client.tunings.get(name=f"{tuning_parent}/tuningJobs/{UNKNOWN_ID}")
    assert (caught.value.code, caught.value.status) == (404, "NOT_FOUND")


def test_cancel_of_an_unknown_job_is_404(vertex_http, tuning_parent):
    status, _, body = vertex_http("POST", f"/v1/{tuning_parent}/tuningJobs/{UNKNOWN_ID}:cancel", {})
    assert status == 404


# Google's API front end answers a request that maps to no method of the API, a wrong HTTP
# method on a known path included, with HTTP 404 and google.rpc NOT_FOUND: {"code": 404,
# "message": "Method not found.", "status": "NOT_FOUND"} (Cloud Endpoints' ESP answers a POST on
# a GET-only path with "Method does not exist.", code 5). Not 405 UNIMPLEMENTED, which
# google/rpc/code.proto maps to 501: a body's status and the HTTP status must agree.
@pytest.mark.parametrize("method", ["DELETE", "PUT", "PATCH", "BREW"])
def test_a_wrong_method_on_a_known_path_is_404_method_not_found(vertex_http, tuning_parent, method):
    status, _, body = vertex_http(method, f"/v1/{tuning_parent}/tuningJobs/{UNKNOWN_ID}")
    assert (status, error_of(body)) == (404, (404, "NOT_FOUND"))
    assert body["error"]["message"].startswith("Method not found.")
    assert f"takes GET, not {method}" in body["error"]["message"]


def test_an_unknown_path_is_a_404_json_body(vertex_http):
    status, _, body = vertex_http("GET", "/v1/nothing/here")
    assert (status, error_of(body)) == (404, (404, "NOT_FOUND"))


def test_vertex_routes_need_a_bearer_token(vertex_http, tuning_parent):
    status, _, body = vertex_http("GET", f"/v1/{tuning_parent}/tuningJobs", token=None)
    assert (status, error_of(body)) == (401, (401, "UNAUTHENTICATED"))
    assert "bearer token is required" in body["error"]["message"]


def test_a_body_that_is_not_json_is_400(vertex_http, tuning_parent):
    status, _, body = vertex_http("POST", f"/v1/{tuning_parent}/tuningJobs", raw_body=b"{not json")
    assert (status, error_of(body)) == (400, (400, "INVALID_ARGUMENT"))


def test_a_bad_page_token_is_400(vertex_http, tuning_parent):
    status, _, body = vertex_http("GET", f"/v1/{tuning_parent}/tuningJobs?pageToken=nonsense")
    assert (status, error_of(body)) == (400, (400, "INVALID_ARGUMENT"))


def test_malformed_http_gets_a_json_error_and_the_server_keeps_serving(emulator, vertex_http, tuning_parent):
    host, port = emulator.url.removeprefix("http://").split(":")
    for raw in (
        b"POST /v1/x HTTP/1.1\r\nHost: x\r\nContent-Length: many\r\n\r\n",
        b"NOT A REQUEST LINE AT ALL\r\n\r\n",
    ):
        with socket.create_connection((host, int(port)), timeout=10) as connection:
            connection.sendall(raw)
            answer = b""
            while chunk := connection.recv(65536):
                answer += chunk
        body = json.loads(answer[answer.index(b"{"):])
        assert error_of(body)[0] == 400
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(b"POST /v1/x HTTP/1.1\r\nContent-Length: 100\r\n\r\nhalf")  # then hangs up
    status, _, _ = vertex_http("GET", f"/v1/{tuning_parent}/tuningJobs")
    assert status == 200


@pytest.mark.parametrize(("collection", "understood"), [
    ("tuningJobs", 'state="JOB_STATE_..."'),
    ("models", 'display_name="NAME"'),
    ("datasets", "metadata_schema_uri"),
    ("metadataStores/default/contexts", 'parent_contexts:"..."'),
])
def test_every_list_refuses_a_filter_it_does_not_understand(vertex_http, tuning_parent, collection, understood):
    status, _, body = vertex_http("GET", f"/v1/{tuning_parent}/{collection}?filter=create_time%3E%222026%22")
    assert (status, error_of(body)) == (400, (400, "INVALID_ARGUMENT"))
    message = body["error"]["message"]
    assert message.startswith("Unsupported filter 'create_time>\"2026\"': the emulator understands")
    assert understood in message and message.endswith("joined by AND.")
