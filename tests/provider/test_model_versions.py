"""Continuous tuning into model versions, through the provider against the emulator over HTTP.

A second job tuned from the first's model with the same display name is version @2 of the
first's model. Deleting either resource must take only what its own job produced: the newer
version goes alone (DeleteModelVersion); the first version holds the model's default alias, so
while @2 stands it is kept, with a clear error and nothing touched; once the alias is moved it
goes alone too. Drift is judged on the job's own version."""

from __future__ import annotations

from typing import Any

import pytest
from google.api_core import exceptions
from google.cloud import aiplatform_v1 as v1

from tests.aiplatform_reader import aiplatform_client
from tests.provider.provider_helpers import LOCATION, PROJECT, checked, inputs, make_provider
from tuning_provider import vertex
from tuning_provider.errors import ModelVersionKept
from tuning_provider.provider import TuningJobProvider

MADRID = (("What is the capital of Spain?", "The capital of Spain is Madrid."),) * 4


@pytest.fixture
def provider(emulator) -> TuningJobProvider:
    return make_provider(emulator.url)


@pytest.fixture
def conn(emulator) -> vertex.Connection:
    return vertex.connect(PROJECT, LOCATION, emulator.url)


@pytest.fixture
def models(emulator) -> Any:
    return aiplatform_client(v1.ModelServiceClient, emulator)


@pytest.fixture
def first(provider, write_training_file) -> dict[str, Any]:
    return provider.create(checked(provider, inputs(write_training_file(), tuned_model_display_name="reviews"))).outs


@pytest.fixture
def second(provider, first, write_training_file) -> dict[str, Any]:
    """Tuned from the first's model, under the first's display name: its next version."""
    props = inputs(write_training_file("madrid.jsonl", MADRID), base_model=first["tuned_model_name"],
                   adapter_size=None, tuned_model_display_name="reviews", resource_key="tuning/test/reviews-2")
    return provider.create(checked(provider, props)).outs


def bare(name: str) -> str:
    return name.split("@")[0]


def answers(conn: vertex.Connection, outs: dict[str, Any]) -> str:
    return vertex.generate_content(conn, outs["tuned_model_endpoint"], MADRID[0][0])


def test_the_second_job_is_the_next_version_of_the_first_model(first, second):
    assert first["tuned_model_name"].endswith("@1")
    assert second["tuned_model_name"] == bare(first["tuned_model_name"]) + "@2"
    assert second["tuned_model_endpoint"] != first["tuned_model_endpoint"]


def test_deleting_the_newer_version_leaves_the_first_serving(provider, conn, models, first, second, capfd):
    provider.delete(second["name"], second)
    assert "remove it by hand" not in capfd.readouterr().err  # nothing refused
    with pytest.raises(exceptions.NotFound):
        models.get_model(name=second["tuned_model_name"])
    assert models.get_model(name=first["tuned_model_name"]).version_id == "1"
    assert answers(conn, first) != ""
    assert provider.read(first["name"], first).outs["error"] is None


def test_the_default_version_is_kept_while_a_newer_one_stands_and_nothing_is_touched(provider, conn, models,
                                                                                      first, second):
    with pytest.raises(ModelVersionKept) as kept:
        provider.delete(first["name"], first)
    message = str(kept.value)
    assert first["tuned_model_name"] in message and "'default' alias" in message and "@2" in message
    assert "merge_version_aliases" in message and "pulumi state delete" in message
    assert [m.version_id for m in models.list_model_versions(name=bare(first["tuned_model_name"]))] == ["1", "2"]
    assert answers(conn, first) != "" and answers(conn, second) == MADRID[0][1]


def test_once_the_default_alias_moves_the_first_version_goes_alone(provider, conn, models, first, second):
    models.merge_version_aliases(name=second["tuned_model_name"], version_aliases=["default"])
    provider.delete(first["name"], first)
    assert [m.version_id for m in models.list_model_versions(name=bare(first["tuned_model_name"]))] == ["2"]
    assert answers(conn, second) == MADRID[0][1]
    assert vertex.serving_problem(conn, vertex.get_tuning_job(conn, second["name"])) is None


def test_the_last_version_goes_with_its_model(provider, models, first, second):
    provider.delete(second["name"], second)
    provider.delete(first["name"], first)
    with pytest.raises(exceptions.NotFound):
        models.get_model(name=bare(first["tuned_model_name"]))


def test_refresh_sees_the_jobs_own_version_deleted_outside_pulumi(provider, emulator, models, first, second):
    endpoints = aiplatform_client(v1.EndpointServiceClient, emulator)
    for checkpoint in second["checkpoints"]:
        endpoint = endpoints.get_endpoint(name=checkpoint["endpoint"])
        endpoints.undeploy_model(endpoint=endpoint.name, deployed_model_id=endpoint.deployed_models[0].id).result()
    models.delete_model_version(name=second["tuned_model_name"]).result()
    # The model still exists (its version 1 serves): only the version tells the drift.
    assert models.get_model(name=bare(second["tuned_model_name"])).version_id == "1"
    outs = provider.read(second["name"], second).outs
    assert outs["tuned_model_name"] is None
    assert f"its tuned model version {second['tuned_model_name']} was deleted" in outs["error"]
    assert provider.read(first["name"], first).outs["error"] is None
