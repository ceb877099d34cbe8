"""gs:// datasets, streamed with google-cloud-storage from the local emulator's --gcs-dir."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from tests.dataset.dataset_helpers import VALID, example, jsonl, write_jsonl
from tuning_provider.connection import storage_service
from tuning_provider.dataset import Reading, validate_dataset
from tuning_provider.emulator import Emulator
from tuning_provider.errors import DatasetError

BAD = jsonl(example(("user", "a"), ("user", "b"), ("model", "c")))


def test_a_gs_object_is_read_through_the_emulator(emulator: Emulator, gcs_dir: Path) -> None:
    (gcs_dir / "tuning-data" / "sets").mkdir(parents=True, exist_ok=True)
    path = write_jsonl(gcs_dir / "tuning-data" / "sets" / "train.jsonl", *([VALID] * 150 + [BAD, b"", VALID]))

    report = validate_dataset("gs://tuning-data/sets/train.jsonl", storage=storage_service(emulator.url),
                              reading=Reading(chunk_bytes=4096))  # several ranged downloads

    assert report.uri == "gs://tuning-data/sets/train.jsonl"
    assert (report.bytes, report.lines, report.examples, report.bad_lines) == (path.stat().st_size, 153, 151, 1)
    assert [error.line for error in report.errors] == [151]
    local = validate_dataset(path).to_dict()
    assert report.to_dict() == {**local, "uri": report.uri}


def test_the_emulator_host_variable_is_honoured(
    emulator: Emulator, write_dataset: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri = write_dataset("train.jsonl")
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", emulator.url.removeprefix("http://"))

    report = validate_dataset(uri)

    assert report.ok and report.examples == 12


@pytest.mark.parametrize("uri", ["gs://tuning-data/missing.jsonl", "gs://no-such-bucket/train.jsonl"])
def test_a_missing_object_is_unreadable(emulator: Emulator, uri: str) -> None:
    with pytest.raises(DatasetError) as raised:
        validate_dataset(uri, storage=storage_service(emulator.url))
    assert raised.value.uri == uri
    assert "there is no object" in raised.value.message and "check the URI" in raised.value.message


def test_permission_denied_names_the_role_to_grant(emulator: Emulator, write_dataset: Any) -> None:
    uri = write_dataset("train.jsonl", bucket="private")
    emulator.faults.add("GET /storage/v1/b/private/o/** before=403")  # as Cloud Storage answers a caller
    with pytest.raises(DatasetError) as raised:
        validate_dataset(uri, storage=storage_service(emulator.url))
    assert raised.value.message == (
        "permission denied reading it: grant the caller roles/storage.objectViewer on bucket private."
    )


def test_a_storage_emulator_that_is_not_running_is_named_at_once() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    with pytest.raises(DatasetError) as raised:
        validate_dataset("gs://tuning-data/train.jsonl", storage=storage_service(url))
    assert raised.value.message == (
        f"nothing answers at {url}: start the emulator (`make emulator`), or name the Cloud Storage to read with "
        "tuning:storageEndpoint, --storage-endpoint or STORAGE_EMULATOR_HOST."
    )


def test_cloud_storage_answering_503_is_retried_by_the_transport(emulator: Emulator, write_dataset: Any) -> None:
    uri = write_dataset("train.jsonl")
    emulator.faults.add("GET /storage/v1/b/tuning-data/o/** before=503 times=2")
    report = validate_dataset(uri, storage=storage_service(emulator.url))
    assert report.ok and report.examples == 12
