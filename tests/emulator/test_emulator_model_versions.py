"""Model versions, as continuous tuning makes them and Vertex's Model Registry serves them.

A continuous-tuning job without a new tuned model display name makes the next version of the
tuned model it starts from (`models/ID@2`), with endpoints of its own; with a new display name
it makes a new model at version 1. The versions are read with clients we did not write:
google-genai (`tunings`, `models.get`) and aiplatform's generated ModelServiceClient over REST,
and the raw JSON is parsed strictly with the generated v1 types."""

from __future__ import annotations

import datetime as dt

import pytest
from google.api_core import exceptions
from google.cloud import aiplatform_v1 as v1
from google.genai import errors, types

from tests.conftest import LOCATION, PROJECT, ManualClock

MADRID = (("What is the capital of Spain?", "The capital of Spain is Madrid."),) * 3
KEY = f"projects/{PROJECT}/locations/{LOCATION}/keyRings/ring/cryptoKeys/key"


@pytest.fixture
def emulator(clocked_emulator):
    return clocked_emulator


@pytest.fixture
def finished(emulator, manual_clock, genai_client):
    def finish(job: types.TuningJob) -> types.TuningJob:
        manual_clock.advance(emulator.job_duration)
        done = genai_client.tunings.get(name=job.name)
        assert done.state == types.JobState.JOB_STATE_SUCCEEDED, done.error
        return done

    return finish


@pytest.fixture
def tune(genai_client, start_tuning_job, write_dataset, finished):
    def run(base_model: str = "gemini-3.5-flash", examples=MADRID, **config) -> types.TuningJob:
        return finished(start_tuning_job(genai_client, write_dataset("data.jsonl", examples),
                                         base_model=base_model, epoch_count=1, **config))

    return run


@pytest.fixture
def first(tune) -> types.TuningJob:
    return tune(tuned_model_display_name="support-bot")


@pytest.fixture
def models(gapic):
    return gapic(v1.ModelServiceClient)


def bare(model_name: str) -> str:
    return model_name.split("@")[0]


def test_continuous_tuning_without_a_display_name_makes_the_next_version(genai_client, tune, first, models):
    second = tune(base_model=first.tuned_model.model)
    assert first.tuned_model.model.endswith("@1")
    assert second.tuned_model.model == bare(first.tuned_model.model) + "@2"
    assert second.tuned_model.endpoint != first.tuned_model.endpoint
    version = models.get_model(name=second.tuned_model.model)
    assert (version.version_id, list(version.version_aliases), version.display_name) == ("2", [], "support-bot")
    assert version.labels["google-vertex-llm-tuning-job-id"] == second.name.rsplit("/", 1)[-1]
    # The bare name is the default version, which stays on the first.
    default = models.get_model(name=bare(first.tuned_model.model))
    assert (default.version_id, list(default.version_aliases)) == ("1", ["default"])
    assert genai_client.models.get(model=second.tuned_model.model).version == "2"
    assert genai_client.models.get(model=bare(second.tuned_model.model)).version == "1"



def test_each_version_has_its_own_endpoint_serving_it(genai_client, gapic, tune, first):
    second = tune(base_model=first.tuned_model.model, examples=(("Capital of Peru?", "Lima."),) * 3)
    endpoints = gapic(v1.EndpointServiceClient)
    served = {c.endpoint: endpoints.get_endpoint(name=c.endpoint).deployed_models[0] for c in
              [*first.tuned_model.checkpoints, *second.tuned_model.checkpoints]}
    assert {(d.model, d.model_version_id) for d in served.values()} == {
        (bare(first.tuned_model.model), "1"), (bare(first.tuned_model.model), "2")}
    ask = genai_client.models.generate_content
    assert ask(model=second.tuned_model.endpoint, contents="Capital of Peru?").text == "Lima."
    # The new version also learned what the version it started from knew.
    assert ask(model=second.tuned_model.endpoint, contents="What is the capital of Spain?").text == MADRID[0][1]
    assert ask(model=first.tuned_model.endpoint, contents="Capital of Peru?").text != "Lima."


def test_the_parents_own_display_name_makes_a_version_and_a_new_one_makes_a_model(tune, first):
    same = tune(base_model=first.tuned_model.model, tuned_model_display_name="support-bot")
    assert same.tuned_model.model == bare(first.tuned_model.model) + "@2"
    other = tune(base_model=first.tuned_model.model, tuned_model_display_name="support-bot-es")
    assert bare(other.tuned_model.model) != bare(first.tuned_model.model)
    assert other.tuned_model.model.endswith("@1")


def test_a_version_tuned_further_adds_to_the_same_model(tune, first):
    second = tune(base_model=first.tuned_model.model)
    third = tune(base_model=second.tuned_model.model)
    assert third.tuned_model.model == bare(first.tuned_model.model) + "@3"


def test_model_list_shows_each_model_once_and_list_versions_every_version(gapic, tune, first, models):
    tune(base_model=first.tuned_model.model)
    tune(tuned_model_display_name="another-bot")
    listed = list(models.list_models(parent=f"projects/{PROJECT}/locations/{LOCATION}"))
    assert sorted((m.display_name, m.version_id) for m in listed) == [("another-bot", "1"), ("support-bot", "1")]
    versions = list(models.list_model_versions(name=bare(first.tuned_model.model)))
    assert [(m.version_id, list(m.version_aliases)) for m in versions] == [("1", ["default"]), ("2", [])]
    paged = models.list_model_versions(request=v1.ListModelVersionsRequest(name=bare(first.tuned_model.model),
                                                                            page_size=1))
    assert [m.version_id for m in paged] == ["1", "2"]  # the pager follows nextPageToken


def test_version_responses_parse_strictly(vertex_http, strict, tune, first):
    second = tune(base_model=first.tuned_model.model)
    for path, type_name in [(second.tuned_model.model, "Model"),
                            (f"{bare(first.tuned_model.model)}:listVersions", "ListModelVersionsResponse"),
                            (f"{bare(first.tuned_model.model)}@default", "Model")]:
        status, _, body = vertex_http("GET", f"/v1/{path}")
        assert status == 200, body
        strict(body, type_name, "v1")


def undeploy(gapic, job: types.TuningJob) -> None:
    endpoints = gapic(v1.EndpointServiceClient)
    for checkpoint in job.tuned_model.checkpoints:
        endpoint = endpoints.get_endpoint(name=checkpoint.endpoint)
        for deployed in endpoint.deployed_models:
            endpoints.undeploy_model(endpoint=endpoint.name, deployed_model_id=deployed.id).result(timeout=10)


def refusal(vertex_http, method: str, name: str) -> tuple[int, str, str]:
    status, _, body = vertex_http(method, f"/v1/{name}")
    return status, body["error"]["status"], body["error"]["message"]


def test_delete_version_takes_only_that_version(gapic, genai_client, tune, first, models):
    second = tune(base_model=first.tuned_model.model)
    undeploy(gapic, second)
    operation = models.delete_model_version(name=second.tuned_model.model)
    operation.result(timeout=10)
    assert isinstance(operation.metadata, v1.DeleteOperationMetadata)
    with pytest.raises(exceptions.NotFound):
        models.get_model(name=second.tuned_model.model)
    assert models.get_model(name=first.tuned_model.model).version_id == "1"
    answer = genai_client.models.generate_content(model=first.tuned_model.endpoint,
                                                  contents="What is the capital of Spain?")
    assert answer.text == MADRID[0][1]
    # Version numbers are not given out twice.
    assert tune(base_model=first.tuned_model.model).tuned_model.model == bare(first.tuned_model.model) + "@3"


def test_delete_version_refusals(vertex_http, gapic, tune, first, models):
    second = tune(base_model=first.tuned_model.model)
    status, code, message = refusal(vertex_http, "DELETE", f"{second.tuned_model.model}:deleteVersion")
    assert (status, code) == (400, "FAILED_PRECONDITION") and "deployed" in message
    with pytest.raises(exceptions.BadRequest):
        models.delete_model_version(name=second.tuned_model.model)
    undeploy(gapic, first)
    status, code, message = refusal(vertex_http, "DELETE", f"{first.tuned_model.model}:deleteVersion")
    assert (status, code) == (400, "FAILED_PRECONDITION") and "'default' alias" in message
    status, code, message = refusal(vertex_http, "DELETE", f"{bare(first.tuned_model.model)}:deleteVersion")
    assert (status, code) == (400, "INVALID_ARGUMENT") and "must include a version" in message
    assert refusal(vertex_http, "DELETE", f"{bare(first.tuned_model.model)}@9:deleteVersion")[:2] == (404, "NOT_FOUND")
    # Nothing was deleted by the refusals.
    assert [m.version_id for m in models.list_model_versions(name=bare(first.tuned_model.model))] == ["1", "2"]


def test_the_only_version_is_deleted_with_delete_model(vertex_http, gapic, first, models):
    undeploy(gapic, first)
    status, code, message = refusal(vertex_http, "DELETE", f"{first.tuned_model.model}:deleteVersion")
    assert (status, code) == (400, "FAILED_PRECONDITION") and "only version" in message and "DeleteModel" in message
    models.delete_model(name=bare(first.tuned_model.model)).result(timeout=10)
    with pytest.raises(exceptions.NotFound):
        models.get_model(name=first.tuned_model.model)


def test_delete_model_takes_every_version_and_is_refused_while_any_is_deployed(vertex_http, gapic, tune, first,
                                                                               models):
    second = tune(base_model=first.tuned_model.model)
    undeploy(gapic, first)
    status, code, message = refusal(vertex_http, "DELETE", bare(first.tuned_model.model))
    assert (status, code) == (400, "FAILED_PRECONDITION") and second.tuned_model.endpoint in message
    status, code, _ = refusal(vertex_http, "DELETE", second.tuned_model.model)
    assert (status, code) == (400, "INVALID_ARGUMENT")  # a version is deleted with deleteVersion
    undeploy(gapic, second)
    models.delete_model(name=bare(first.tuned_model.model)).result(timeout=10)
    for name in (first.tuned_model.model, second.tuned_model.model):
        with pytest.raises(exceptions.NotFound):
            models.get_model(name=name)


def test_a_cmek_models_key_must_be_kept(genai_client, start_tuning_job, write_dataset, tune, manual_clock):
    # Only the 2.5 models took customer-managed keys: before their retirement, then.
    manual_clock.now = dt.datetime(2026, 9, 1, tzinfo=dt.UTC).timestamp()
    encrypted = tune(base_model="gemini-2.5-flash", encryption_spec=types.EncryptionSpec(kms_key_name=KEY))
    with pytest.raises(errors.ClientError) as refused:
        start_tuning_job(genai_client, write_dataset(), base_model=encrypted.tuned_model.model)
    assert refused.value.code == 400 and "same key" in refused.value.message
    kept = tune(base_model=encrypted.tuned_model.model, encryption_spec=types.EncryptionSpec(kms_key_name=KEY))
    assert kept.tuned_model.model.endswith("@2")


def test_models_tuned_before_2025_07_11_cannot_be_tuned_further(emulator_factory, make_genai_client,
                                                                start_tuning_job, write_dataset):
    clock = ManualClock(start=1_750_000_000.0)  # 2025-06-15
    emulator = emulator_factory(clock=clock)
    client = make_genai_client(emulator)
    job = start_tuning_job(client, write_dataset())
    clock.advance(emulator.job_duration)
    old = client.tunings.get(name=job.name)
    clock.advance(90 * 86_400)  # well after 2025-07-11: the model's own date is what counts
    with pytest.raises(errors.ClientError) as refused:
        start_tuning_job(client, write_dataset(), base_model=old.tuned_model.model)
    assert refused.value.code == 400 and "2025-07-11" in refused.value.message


def test_other_aliases_are_added_moved_named_and_removed_as_vertex_does(tune, first, models, vertex_http):
    second = tune(base_model=first.tuned_model.model)
    added = models.merge_version_aliases(name=first.tuned_model.model, version_aliases=["serving", "held-a"])
    assert list(added.version_aliases) == ["default", "held-a", "serving"]
    assert models.get_model(name=bare(first.tuned_model.model) + "@serving").version_id == "1"
    # An alias is on one version of a model: adding it to another moves it there.
    moved = models.merge_version_aliases(name=second.tuned_model.model, version_aliases=["serving"])
    assert list(moved.version_aliases) == ["serving"]
    assert list(models.get_model(name=first.tuned_model.model).version_aliases) == ["default", "held-a"]
    removed = models.merge_version_aliases(name=first.tuned_model.model, version_aliases=["-held-a"])
    assert list(removed.version_aliases) == ["default"]
    for bad in ("Upper", "v2", "ends-", "-"):
        status, _, body = vertex_http("POST", f"/v1/{first.tuned_model.model}:mergeVersionAliases",
                                      {"versionAliases": [bad]})
        assert status == 400 and "Invalid version alias" in body["error"]["message"], bad


def test_moving_the_default_alias_lets_the_first_version_go(vertex_http, gapic, tune, first, models):
    second = tune(base_model=first.tuned_model.model)
    moved = models.merge_version_aliases(name=second.tuned_model.model, version_aliases=["default"])
    assert (moved.version_id, list(moved.version_aliases)) == ("2", ["default"])
    assert models.get_model(name=bare(first.tuned_model.model)).version_id == "2"
    assert list(models.get_model(name=first.tuned_model.model).version_aliases) == []
    status, code, _ = refusal(vertex_http, "POST", f"{second.tuned_model.model}:mergeVersionAliases")
    assert (status, code) == (400, "INVALID_ARGUMENT")  # version_aliases is required
    with pytest.raises(exceptions.BadRequest):
        models.merge_version_aliases(name=second.tuned_model.model, version_aliases=["-default"])
    undeploy(gapic, first)
    models.delete_model_version(name=first.tuned_model.model).result(timeout=10)
    assert [m.version_id for m in models.list_model_versions(name=bare(first.tuned_model.model))] == ["2"]
