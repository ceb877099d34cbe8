"""The provider plugin over real gRPC, against the emulator over HTTP: what the engine calls.

Named variants after the plugin's behaviours: basic (create, outputs in camelCase, the
endpoint answers), check failures and provider config, unknowns, diff (replace naming the
property, update in place, nothing), import (inputs read back, nothing submitted, a wrong id),
refresh of a job gone, cancel and parallel creates, delete, and the same resource in both faces.
"""

from __future__ import annotations

import gc
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import grpc  # type: ignore[import-untyped]
import pytest
from google.protobuf import empty_pb2  # type: ignore[import-untyped]
from pulumi.dynamic import ConfigureRequest
from pulumi.dynamic.config import Config
from pulumi.output import Unknown
from pulumi.runtime.proto import provider_pb2
from pulumi.runtime.rpc import UNKNOWN

from tests.plugin.conftest import LOCATION, NAME, PROJECT, PULUMI_PROJECT, STACK, URN, Plugin, job_properties
from tuning_provider import vertex
from tuning_provider.errors import NotFound
from tuning_provider.plugin import properties
from tuning_provider.plugin.properties import TOKEN
from tuning_provider.plugin.structs import to_struct
from tuning_provider.provider import API_ENDPOINT_KEY, TuningJobProvider
from tuning_provider.spec import FINGERPRINT_LABEL

QUESTION = "What is the capital of France?"


def conn(plugin: Plugin) -> vertex.Connection:
    return vertex.connect(PROJECT, LOCATION, plugin.emulator.url)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def known(value: Any) -> Any:
    """A value without its None parts (the wire leaves them out), the face-set inputs dropped."""
    if isinstance(value, dict):
        return {k: known(v) for k, v in value.items() if v is not None and k not in properties.FACE_SET}
    if isinstance(value, list):
        return [known(v) for v in value]
    return value


@pytest.fixture
def train_uri(write_dataset: Callable[..., str]) -> str:
    return write_dataset()


# --- the plugin and its configuration --------------------------------------------------------


def test_the_plugin_says_its_version_and_its_schema(plugin: Plugin) -> None:
    assert plugin.stub.GetPluginInfo(empty_pb2.Empty()).version
    schema = json.loads(plugin.stub.GetSchema(provider_pb2.GetSchemaRequest()).schema)
    assert schema["name"] == "vertex-tuning" and TOKEN in schema["resources"]


def test_check_config_names_each_wrong_setting(plugin: Plugin) -> None:
    answer = plugin.stub.CheckConfig(provider_pb2.CheckRequest(news=to_struct(
        {"apiEndpoint": "localhost-8765", "project": "My Project", "locaton": "europe-west4", "version": "0.1.0"})))
    failures = {f.property: f.reason for f in answer.failures}
    assert set(failures) == {"apiEndpoint", "project", "locaton"}
    assert "is not a URL" in failures["apiEndpoint"]
    assert "vertex-tuning:project: 'My Project' is not a project id" in failures["project"]
    assert "vertex-tuning:locaton is not a setting" in failures["locaton"]
    assert "vertex-tuning:location" in failures["locaton"]


def test_a_tuning_job_takes_project_and_location_from_the_provider_unless_it_sets_its_own(
    plugin: Plugin, train_uri: str
) -> None:
    plugin.stub.Configure(provider_pb2.ConfigureRequest(args=to_struct(
        {"apiEndpoint": plugin.emulator.url, "project": "config-project", "location": "europe-west4"})))
    inputs = plugin.checked(job_properties(train_uri, project=None))
    assert (inputs["project"], inputs["location"]) == ("config-project", "europe-west4")
    inputs = plugin.checked(job_properties(train_uri, location="us-central1"))
    assert (inputs["project"], inputs["location"]) == (PROJECT, "us-central1")


# --- check -------------------------------------------------------------------------------------


def test_check_failures_name_the_property_as_the_program_writes_it(plugin: Plugin, train_uri: str) -> None:
    _, failures = plugin.check(job_properties(train_uri, adapterSize=32, minEvalTokenAccuracy=0.9, epochs=3))
    reasons = dict(failures)
    assert "supports adapter sizes 1, 2, 4, 8, 16, not 32" in reasons["adapterSize"]
    # A fix names other inputs as the program writes them too.
    assert "set validationDatasetUri" in reasons["minEvalTokenAccuracy"]
    assert "epochs" in reasons and "is not an input of TuningJob" in reasons["epochs"]
    assert not any("_" in prop for prop, _ in failures)


def test_check_lets_a_previews_unknowns_through(plugin: Plugin) -> None:
    inputs, failures = plugin.check(job_properties(UNKNOWN))
    assert failures == [] and isinstance(inputs["trainingDatasetUri"], Unknown)


# --- create, diff, read, delete ----------------------------------------------------------------


def test_basic_create_serves_a_model_and_reports_camel_case_outputs(
    plugin: Plugin, train_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The plugin runs its own server: nothing on its path looks for another's handlers.
    def forbidden(*objects: object) -> list[object]:
        raise AssertionError("the plugin path called gc.get_referrers")

    monkeypatch.setattr(gc, "get_referrers", forbidden)
    inputs = plugin.checked(job_properties(train_uri))
    assert "resourceKey" not in inputs and inputs["adapterSize"] == "ADAPTER_SIZE_FOUR"
    id_, outputs = plugin.create(inputs)
    assert id_ == outputs["tuningJobName"] and outputs["tuningJobState"] == "SUCCEEDED"
    assert [c["epoch"] for c in outputs["checkpoints"]] == [1, 2] and outputs["checkpoints"][0]["checkpointId"]
    assert outputs["metrics"]["trainLoss"] > 0 and outputs["tuningDataStats"]["examples"] > 0
    assert outputs["epochCount"] == 2 and "resourceKey" not in outputs
    assert "Paris" in vertex.generate_content(conn(plugin), outputs["tunedModelEndpoint"], QUESTION, temperature=0)
    (job,) = vertex.list_tuning_jobs(conn(plugin))
    # The fingerprint of project/stack/name, as the dynamic TuningJob's resource_key gives it.
    assert job.labels[FINGERPRINT_LABEL]


def test_diff_replaces_for_epoch_count_and_updates_in_place_for_a_wait_setting(plugin: Plugin, train_uri: str) -> None:
    inputs = plugin.checked(job_properties(train_uri))
    _, outputs = plugin.create(inputs)
    assert plugin.diff(outputs, inputs).changes == provider_pb2.DiffResponse.DIFF_NONE

    replace = plugin.diff(outputs, plugin.checked(job_properties(train_uri, epochCount=3)))
    assert list(replace.replaces) == ["epochCount"] and replace.hasDetailedDiff
    assert replace.detailedDiff["epochCount"].kind == provider_pb2.PropertyDiff.UPDATE_REPLACE

    update = plugin.diff(outputs, plugin.checked(job_properties(train_uri, waitTimeoutSeconds=600)))
    assert update.changes == provider_pb2.DiffResponse.DIFF_SOME and list(update.replaces) == []
    assert update.detailedDiff["waitTimeoutSeconds"].kind == provider_pb2.PropertyDiff.UPDATE

    added = plugin.diff(outputs, plugin.checked(job_properties(train_uri, description="reviews")))
    assert added.detailedDiff["description"].kind == provider_pb2.PropertyDiff.ADD_REPLACE


def test_refresh_of_a_job_gone_drops_it_and_delete_removes_the_model(plugin: Plugin, train_uri: str) -> None:
    _, outputs = plugin.create(plugin.checked(job_properties(train_uri)))
    id_, refreshed, _ = plugin.read(outputs["tuningJobName"], outputs)
    assert id_ == outputs["tuningJobName"] and refreshed["tunedModelEndpoint"] == outputs["tunedModelEndpoint"]
    gone = {**outputs, "tuningJobName": f"projects/{PROJECT}/locations/{LOCATION}/tuningJobs/404"}
    assert plugin.read(gone["tuningJobName"], gone)[0] == ""

    plugin.delete(outputs)
    with pytest.raises(NotFound):
        vertex.generate_content(conn(plugin), outputs["tunedModelEndpoint"], QUESTION)


# --- import ------------------------------------------------------------------------------------


def test_import_reads_the_inputs_from_the_job_and_submits_nothing(
    plugin: Plugin, train_uri: str, start_tuning_job: Callable[..., Any], genai_client: Any,
    wait_for_job: Callable[..., Any],
) -> None:
    made = start_tuning_job(genai_client, train_uri, epoch_count=3, adapter_size="ADAPTER_SIZE_EIGHT",
                            tuned_model_display_name="outside", description="made by hand", labels={"team": "ml"})
    wait_for_job(genai_client, made.name)

    id_, outputs, inputs = plugin.read(made.name)
    assert id_ == made.name and outputs["tuningJobState"] == "SUCCEEDED"
    assert inputs == {
        "project": PROJECT, "location": LOCATION, "baseModel": "gemini-3.5-flash", "trainingDatasetUri": train_uri,
        "epochCount": 3, "adapterSize": "ADAPTER_SIZE_EIGHT", "tunedModelDisplayName": "outside",
        "description": "made by hand", "labels": {"team": "ml"},
    }
    # The program `pulumi import` writes from these inputs changes nothing on its next up (whose
    # check gets the inputs recorded, then its diff the outputs recorded).
    checked, failures = plugin.check(inputs, olds=inputs)
    assert failures == [] and plugin.diff(outputs, checked).changes == provider_pb2.DiffResponse.DIFF_NONE
    assert [j.name for j in vertex.list_tuning_jobs(conn(plugin))] == [made.name]


def test_import_of_an_id_that_is_no_tuning_job_names_the_form_expected(plugin: Plugin) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        plugin.read("tuningJobs/7")
    assert "import a job by its full name, projects/PROJECT/locations/REGION/tuningJobs/ID" in refused.value.details()


# --- cancel and parallel creates ---------------------------------------------------------------


@pytest.mark.real_clock  # a gRPC server cannot start under --clock-at: see conftest's plugin
def test_creates_run_in_parallel_beyond_four_and_cancel_stops_every_wait_at_once(
    emulator_factory: Callable[..., Any], manual_clock: Any, train_uri: str, write_dataset: Callable[..., str],
) -> None:
    # Jobs never advance on this clock: every create waits until Cancel.
    plugin = Plugin(emulator_factory(clock=manual_clock))
    count = 6
    failures: list[str] = []

    def create(index: int) -> None:
        urn = URN.replace(f"::{NAME}", f"::job-{index}")
        try:
            plugin.create(plugin.checked(job_properties(train_uri), urn=urn), urn=urn)
        except grpc.RpcError as exc:
            failures.append(exc.details())

    threads = [threading.Thread(target=create, args=(i,)) for i in range(count)]
    try:
        for thread in threads:
            thread.start()
        # Each create submits its job, then waits: six live jobs means six creates at once.
        wait_for(lambda: sum(j.live for j in vertex.list_tuning_jobs(conn(plugin))) == count, f"{count} live jobs")
        plugin.stub.Cancel(empty_pb2.Empty())
        for thread in threads:
            thread.join(timeout=30)
    finally:
        plugin.close()
    assert len(failures) == count
    assert all("pulumi is cancelling (Ctrl-C)" in f and "keeps running in Vertex" in f for f in failures)
    assert all("wait_timeout_seconds" not in f for f in failures)


# --- both faces --------------------------------------------------------------------------------


def test_the_same_resource_in_both_faces_runs_one_job_whose_model_goes_with_the_last(
    plugin: Plugin, train_uri: str,
) -> None:
    dynamic = TuningJobProvider()
    dynamic.configure(ConfigureRequest(Config({API_ENDPOINT_KEY: plugin.emulator.url}, "tuning")))
    snake = {"project": PROJECT, "base_model": "gemini-3.5-flash", "training_dataset_uri": train_uri,
             "epoch_count": 2, "adapter_size": 4, "poll_interval_seconds": 0.2, "wait_timeout_seconds": 60,
             "resource_key": f"{PULUMI_PROJECT}/{STACK}/{NAME}"}
    python_job = dynamic.create(dynamic.check({}, snake).inputs)
    _, yaml_job = plugin.create(plugin.checked(job_properties(train_uri)))
    # One resource, two declarations: the second adopts the first's job, no second one is paid for.
    assert yaml_job["tuningJobName"] == python_job.id
    assert len(list(vertex.list_tuning_jobs(conn(plugin)))) == 1
    # Both faces give the same outputs for the same settings, each in its own names.
    assert known(properties.outputs_from_wire(yaml_job)) == known(python_job.outs)

    dynamic.delete(python_job.id, python_job.outs)  # the Python declaration goes: the YAML one serves on
    assert "Paris" in vertex.generate_content(conn(plugin), yaml_job["tunedModelEndpoint"], QUESTION, temperature=0)
    plugin.delete(yaml_job)  # the last one removes the model
    with pytest.raises(NotFound):
        vertex.generate_content(conn(plugin), yaml_job["tunedModelEndpoint"], QUESTION)
