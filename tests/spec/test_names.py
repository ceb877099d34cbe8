"""Resource names: each kind parses its own names only, and prints back what it parsed."""

from __future__ import annotations

import pytest

from tuning_provider.names import (
    DatasetName,
    EndpointName,
    KmsKeyName,
    ModelName,
    TuningJobName,
    gcs_object,
    resource_id,
)

PARENT = "projects/p/locations/us-central1"


@pytest.mark.parametrize("kind, name", [
    (TuningJobName, f"{PARENT}/tuningJobs/42"),
    (EndpointName, f"{PARENT}/endpoints/9"),
    (DatasetName, f"{PARENT}/datasets/7"),
    (ModelName, f"{PARENT}/models/7"),
    (ModelName, f"{PARENT}/models/7@1"),
    (ModelName, f"{PARENT}/models/7@default"),
    (KmsKeyName, f"{PARENT}/keyRings/ring/cryptoKeys/key"),
])
def test_a_name_parses_into_its_parts_and_prints_back(kind: type, name: str) -> None:
    parsed = kind.parse(name)
    assert parsed is not None and str(parsed) == name
    assert (parsed.project, parsed.location) == ("p", "us-central1")


@pytest.mark.parametrize("kind, name", [
    (TuningJobName, f"{PARENT}/endpoints/9"),  # another collection
    (TuningJobName, "42"),  # a bare id
    (EndpointName, f"{PARENT}/endpoints/9/extra"),
    (ModelName, f"{PARENT}/models/7@"),  # an empty version
    (ModelName, f"{PARENT}/models/7@1@2"),
    (ModelName, "publishers/google/models/gemini-3.5-flash"),  # a Google base model
    (KmsKeyName, f"{PARENT}/keyRings/ring"),
])
def test_anything_else_is_not_a_name_of_that_kind(kind: type, name: str) -> None:
    assert kind.parse(name) is None


def test_a_model_version_and_the_model_it_belongs_to() -> None:
    model = ModelName.parse(f"{PARENT}/models/7@3")
    assert model is not None and (model.id, model.version, model.model) == ("7", "3", f"{PARENT}/models/7")
    assert str(ModelName("p", "us-central1", "7")) == f"{PARENT}/models/7"


def test_ids_and_gcs_objects() -> None:
    assert resource_id(f"{PARENT}/tuningJobs/42") == "42" == resource_id("42")
    assert gcs_object("gs://bucket/data/train.jsonl") == ("bucket", "data/train.jsonl")
    assert gcs_object("gs://bucket/") is None and gcs_object("/tmp/x.jsonl") is None
