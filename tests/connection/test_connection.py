"""The connection value: where Vertex and Cloud Storage are, which credentials each takes, and
whether it is the emulator, decided once by `connect`; and the clients built from it."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
from google.auth.credentials import AnonymousCredentials
from google.oauth2.credentials import Credentials as UserCredentials

from tuning_provider.connection import GOOGLE_STORAGE_URL, Credentials, Service, connect, storage_service
from tuning_provider.vertex.client import storage_client

ADC = Credentials.APPLICATION_DEFAULT
# What a team behind VPC Service Controls sets as tuning:apiEndpoint: a Private Service Connect
# endpoint of Vertex (any remote HTTPS endpoint is judged alike).
PRIVATE_VERTEX = "https://us-central1-aiplatform-vpcsc.p.googleapis.com"
EMULATOR = "http://127.0.0.1:8765"


def test_a_remote_endpoint_keeps_application_default_credentials_and_googles_storage():
    conn = connect("p", "us-central1", PRIVATE_VERTEX, environ={})
    assert not conn.emulator
    assert conn.vertex == Service(PRIVATE_VERTEX, ADC)
    assert conn.storage == Service(GOOGLE_STORAGE_URL, ADC)  # never the Vertex host, never anonymous


def test_a_remote_endpoint_reads_storage_where_a_setting_or_the_variable_says():
    named = connect("p", "us-central1", PRIVATE_VERTEX, storage_endpoint="https://storage-vpcsc.p.googleapis.com/",
                    environ={"STORAGE_EMULATOR_HOST": "localhost:9023"})
    assert named.storage == Service("https://storage-vpcsc.p.googleapis.com", ADC)  # the setting wins
    variable = connect("p", "us-central1", PRIVATE_VERTEX, environ={"STORAGE_EMULATOR_HOST": "localhost:9023"})
    assert variable.storage == Service("http://localhost:9023", Credentials.NONE)
    assert variable.vertex == Service(PRIVATE_VERTEX, ADC) and not variable.emulator


def test_the_emulator_is_plain_http_on_this_machine_and_serves_storage_too():
    for url in (EMULATOR, "http://localhost:8765/", "http://[::1]:8765", "http://127.8.9.10:1"):
        conn = connect("p", "us-central1", url, environ={"STORAGE_EMULATOR_HOST": "elsewhere:1"})
        base = url.rstrip("/")
        assert conn.emulator and conn.vertex == Service(base, Credentials.NONE)
        assert conn.storage == Service(base, Credentials.NONE)  # the gs:// objects its jobs read
    # HTTPS on this machine is a tunnel to Google, not the emulator (which speaks plain HTTP).
    assert not connect("p", "us-central1", "https://localhost:8443", environ={}).emulator
    assert not connect("p", "us-central1", "http://10.0.0.7:8765", environ={}).emulator


def test_no_endpoint_is_google_for_both():
    conn = connect("p", "europe-west4", environ={})
    assert (conn.vertex, conn.storage, conn.emulator) == (Service(None, ADC), Service(GOOGLE_STORAGE_URL, ADC), False)
    assert conn.at("q", "us-east5") == connect("q", "us-east5", environ={})


def test_storage_alone_follows_the_same_rules():
    assert storage_service(environ={}) == Service(GOOGLE_STORAGE_URL, ADC)
    assert storage_service(environ={"STORAGE_EMULATOR_HOST": "127.0.0.1:4443"}) == Service(
        "http://127.0.0.1:4443", Credentials.NONE)
    assert storage_service(EMULATOR, environ={}) == Service(EMULATOR, Credentials.NONE)


def test_the_value_is_plain_data_with_no_credential():
    conn = connect("p", "us-central1", EMULATOR, environ={})
    raw = pickle.dumps(conn)
    assert pickle.loads(raw) == conn and b"token" not in raw.lower()
    assert hash(conn) == hash(connect("p", "us-central1", EMULATOR + "/", environ={}))


@pytest.fixture
def application_default_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Application Default Credentials of a user, from a file (nothing asks Google for a token
    until a request is made)."""
    path = tmp_path / "adc.json"
    path.write_text(json.dumps({"type": "authorized_user", "client_id": "id.apps.googleusercontent.com",
                                "client_secret": "secret", "refresh_token": "refresh"}))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))


def test_a_storage_client_for_a_remote_endpoint_is_googles_with_application_default_credentials(
    application_default_credentials: None, monkeypatch: pytest.MonkeyPatch
):
    # The variable is set, but the connection was decided without it: the client does not re-decide.
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", "localhost:9023")
    conn = connect("p", "us-central1", PRIVATE_VERTEX, environ={})
    client = storage_client(conn.storage)
    try:
        assert client.api_endpoint == GOOGLE_STORAGE_URL
        assert isinstance(client._credentials, UserCredentials)  # what google.auth.default() found
    finally:
        client.close()


def test_a_storage_client_for_an_emulator_is_anonymous(application_default_credentials: None):
    client = storage_client(connect("p", "us-central1", EMULATOR, environ={}).storage)
    try:
        assert client.api_endpoint == EMULATOR
        assert isinstance(client._credentials, AnonymousCredentials)
    finally:
        client.close()
