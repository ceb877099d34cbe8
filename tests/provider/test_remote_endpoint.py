"""A remote tuning:apiEndpoint (a private or regional Vertex endpoint, as behind VPC Service
Controls): check reads the gs:// data from Cloud Storage with Application Default Credentials,
never anonymously and never from the Vertex host; a storage setting or $STORAGE_EMULATOR_HOST
names another Cloud Storage. The Vertex host here does not exist: check never needs it for
gs:// data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pulumi.dynamic import ConfigureRequest
from pulumi.dynamic.config import Config

from tests.provider.provider_helpers import inputs
from tuning_provider.emulator import Emulator
from tuning_provider.provider import API_ENDPOINT_KEY, STORAGE_ENDPOINT_KEY, TuningJobProvider

PRIVATE_VERTEX = "https://us-central1-aiplatform-vpcsc.p.googleapis.com"


def configured(**config: str) -> TuningJobProvider:
    provider = TuningJobProvider()
    provider.configure(ConfigureRequest(Config(config, "tuning")))
    return provider


def data_check(provider: TuningJobProvider, uri: str) -> list[tuple[str, str]]:
    result = provider.check({}, inputs(uri, validate_dataset=True))
    return [(f.property, f.reason) for f in result.failures]


@pytest.fixture
def no_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine with no Application Default Credentials and no storage emulator variable."""
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "no-such-credentials.json"))
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)


def test_a_remote_endpoint_reads_the_data_with_application_default_credentials(no_credentials: None):
    (field, reason), = data_check(configured(**{API_ENDPOINT_KEY: PRIVATE_VERTEX}), "gs://tuning-data/train.jsonl")
    # Google's Cloud Storage asked for credentials: no anonymous client, nothing sent to the Vertex host.
    assert field == "training_dataset_uri"
    assert "Cloud Storage is read with Application Default Credentials" in reason
    assert "aiplatform" not in reason


@pytest.mark.parametrize("how", ["setting", "variable"])
def test_a_remote_endpoint_reads_the_data_where_storage_is_named(
    how: str, no_credentials: None, emulator: Emulator, write_dataset: Any, monkeypatch: pytest.MonkeyPatch, capfd
):
    config = {API_ENDPOINT_KEY: PRIVATE_VERTEX}
    if how == "setting":
        config[STORAGE_ENDPOINT_KEY] = emulator.url
    else:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", emulator.url.removeprefix("http://"))

    assert data_check(configured(**config), write_dataset()) == []
    assert "training tokens (" in capfd.readouterr().err  # the cost line: the data was read, its tokens counted


def test_the_emulator_serves_the_data_of_its_own_jobs(no_credentials: None, emulator: Emulator, write_dataset: Any,
                                                      monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", "127.0.0.1:1")  # another storage emulator: not the one its jobs read
    assert data_check(configured(**{API_ENDPOINT_KEY: emulator.url}), write_dataset()) == []
