"""gs:// datasets, streamed with google-cloud-storage from the local emulator's --gcs-dir."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.dataset.dataset_helpers import VALID, example, jsonl, write_jsonl
from tuning_provider.dataset import Reading, sources, validate_dataset
from tuning_provider.emulator import Emulator
from tuning_provider.errors import DatasetError

BAD = jsonl(example(("user", "a"), ("user", "b"), ("model", "c")))


def test_a_gs_object_is_read_through_the_emulator(emulator: Emulator, gcs_dir: Path) -> None:
    (gcs_dir / "tuning-data" / "sets").mkdir(parents=True, exist_ok=True)
    path = write_jsonl(gcs_dir / "tuning-data" / "sets" / "train.jsonl", *([VALID] * 150 + [BAD, b"", VALID]))

    report = validate_dataset("gs://tuning-data/sets/train.jsonl", storage_endpoint=emulator.url,
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
        validate_dataset(uri, storage_endpoint=emulator.url)
    assert raised.value.uri == uri
    assert "there is no object" in raised.value.message and "check the URI" in raised.value.message


def test_permission_denied_names_the_role_to_grant(monkeypatch: pytest.MonkeyPatch) -> None:
    from google.api_core.exceptions import Forbidden

    class DeniedBlob:
        def reload(self, **_: Any) -> None:
            raise Forbidden("caller does not have storage.objects.get access")

    class DeniedClient:
        def bucket(self, name: str) -> Any:
            return type("Bucket", (), {"blob": lambda self, object_name, **_: DeniedBlob()})()

        def close(self) -> None:
            pass

    monkeypatch.setattr(sources, "_storage_client", lambda endpoint: DeniedClient())

    with pytest.raises(DatasetError) as raised:
        validate_dataset("gs://private/train.jsonl", storage_endpoint="http://127.0.0.1:1")
    assert raised.value.message == (
        "permission denied reading it: grant the caller roles/storage.objectViewer on bucket private."
    )
