"""The emulator through google-cloud-aiplatform's generated clients (v1 and v1beta1, REST
transport), and every response parsed strictly with the generated types of the version
asked for. The clients send enums as numbers and int64 as strings, as the GAPIC REST
transport always does."""

from __future__ import annotations

import json

import pytest
from google.api_core import exceptions
from google.longrunning import operations_pb2
from google.protobuf import json_format

from tests.conftest import JOB_DURATION, LOCATION, PROJECT
from tests.emulator.conftest import VERSIONS

PARENT = f"projects/{PROJECT}/locations/{LOCATION}"


@pytest.fixture(params=sorted(VERSIONS))
def version(request):
    return request.param


@pytest.fixture
def types(version):
    return VERSIONS[version]


@pytest.fixture
def emulator(clocked_emulator):
    return clocked_emulator


@pytest.fixture
def tuned(gapic, types, write_dataset, manual_clock):
    """A job with a validation set, run to SUCCEEDED through the version's tuning client."""
    client = gapic(types.GenAiTuningServiceClient)
    job = client.create_tuning_job(
        parent=PARENT,
        tuning_job=types.TuningJob(
            base_model="gemini-3.5-flash",
            tuned_model_display_name="gapic",
            supervised_tuning_spec=types.SupervisedTuningSpec(
                training_dataset_uri=write_dataset(),
                validation_dataset_uri=write_dataset("val.jsonl"),
                hyper_parameters=types.SupervisedHyperParameters(
                    epoch_count=2,
                    adapter_size=types.SupervisedHyperParameters.AdapterSize.ADAPTER_SIZE_FOUR,
                    learning_rate_multiplier=1.0,
                ),
            ),
        ),
    )
    manual_clock.advance(JOB_DURATION)
    return client.get_tuning_job(name=job.name)


def test_create_sends_enums_as_numbers_and_they_come_back(gapic, types, write_dataset):
    client = gapic(types.GenAiTuningServiceClient)
    job = client.create_tuning_job(
        parent=PARENT,
        tuning_job=types.TuningJob(
            base_model="gemini-3.5-flash",
            supervised_tuning_spec=types.SupervisedTuningSpec(
                training_dataset_uri=write_dataset(),
                hyper_parameters=types.SupervisedHyperParameters(
                    epoch_count=3, adapter_size=types.SupervisedHyperParameters.AdapterSize.ADAPTER_SIZE_TWO
                ),
            ),
        ),
    )
    assert job.state == types.JobState.JOB_STATE_PENDING
    hyper = job.supervised_tuning_spec.hyper_parameters
    assert hyper.adapter_size == types.SupervisedHyperParameters.AdapterSize.ADAPTER_SIZE_TWO
    assert hyper.epoch_count == 3


def test_get_list_cancel_through_the_tuning_client(gapic, types, write_dataset):
    client = gapic(types.GenAiTuningServiceClient)
    spec = types.SupervisedTuningSpec(training_dataset_uri=write_dataset())
    job = client.create_tuning_job(parent=PARENT, tuning_job=types.TuningJob(base_model="gemini-3.5-flash",
                                                                             supervised_tuning_spec=spec))
    assert [j.name for j in client.list_tuning_jobs(parent=PARENT)] == [job.name]
    client.cancel_tuning_job(name=job.name)
    cancelled = client.get_tuning_job(name=job.name)
    assert cancelled.state == types.JobState.JOB_STATE_CANCELLED
    assert cancelled.error.code == 1
    with pytest.raises(exceptions.BadRequest, match="JOB_STATE_CANCELLED"):  # 400 FAILED_PRECONDITION
        client.cancel_tuning_job(name=job.name)
    with pytest.raises(exceptions.NotFound):
        client.get_tuning_job(name=f"{PARENT}/tuningJobs/1234567890123456789")


def test_succeeded_job_model_and_endpoints(gapic, types, version, tuned, vertex_http):
    assert tuned.state == types.JobState.JOB_STATE_SUCCEEDED
    assert tuned.tuning_data_stats.supervised_tuning_data_stats.tuning_step_count == 4  # 12 examples, 8 a step
    models = gapic(types.ModelServiceClient)
    model = models.get_model(name=tuned.tuned_model.model)
    assert [d.endpoint for d in model.deployed_models] == [c.endpoint for c in tuned.tuned_model.checkpoints]
    # Item 4: a DeployedModelRef holds an endpoint and a deployed model id, nothing else.
    _, _, raw = vertex_http("GET", f"/{version}/{model.name}")
    assert {field for ref in raw["deployedModels"] for field in ref} == {"endpoint", "deployedModelId"}
    endpoint = gapic(types.EndpointServiceClient).get_endpoint(name=tuned.tuned_model.endpoint)
    assert endpoint.deployed_models[0].model == model.name


def test_models_list_filters_and_pages(gapic, types, write_dataset, manual_clock):
    tuning = gapic(types.GenAiTuningServiceClient)
    for name in ("alpha", "beta", "alpha"):
        tuning.create_tuning_job(parent=PARENT, tuning_job=types.TuningJob(
            base_model="gemini-3.5-flash", tuned_model_display_name=name,
            supervised_tuning_spec=types.SupervisedTuningSpec(training_dataset_uri=write_dataset()),
        ))
        manual_clock.advance(0.01)  # distinct end times
    manual_clock.advance(JOB_DURATION)
    models = gapic(types.ModelServiceClient)
    pager = models.list_models(request=types.ListModelsRequest(parent=PARENT, page_size=2))
    assert len(pager.models) == 2 and pager.next_page_token
    every = [m.display_name for m in pager]  # the pager follows the page tokens
    assert every == ["alpha", "beta", "alpha"]
    alphas = models.list_models(request=types.ListModelsRequest(parent=PARENT, filter='display_name="alpha"'))
    assert [m.display_name for m in alphas] == ["alpha", "alpha"]


def test_delete_operations_unpack_in_the_version_asked_for(gapic, types, version, tuned):
    """Item 7: a v1beta1 client must find v1beta1 metadata in the operation."""
    endpoints = gapic(types.EndpointServiceClient)
    for checkpoint in tuned.tuned_model.checkpoints:
        endpoint = endpoints.get_endpoint(name=checkpoint.endpoint)
        operation = endpoints.undeploy_model(endpoint=endpoint.name, deployed_model_id=endpoint.deployed_models[0].id)
        operation.result(timeout=10)
        assert type(operation.metadata).__module__.startswith(f"google.cloud.aiplatform_{version}")
        endpoints.delete_endpoint(name=endpoint.name).result(timeout=10)
    operation = gapic(types.ModelServiceClient).delete_model(name=tuned.tuned_model.model.split("@")[0])
    operation.result(timeout=10)
    assert isinstance(operation.metadata, types.DeleteOperationMetadata)


def test_metadata_and_tensorboard_through_the_clients(gapic, types, tuned):
    """The calls the provider will make to read the metrics."""
    metadata = gapic(types.MetadataServiceClient)
    experiment = metadata.get_context(name=tuned.experiment)
    assert experiment.schema_title == "system.Experiment"
    tensorboard = experiment.metadata["backing_tensorboard_resource"]
    [run] = metadata.list_contexts(request=types.ListContextsRequest(
        parent=tuned.experiment.split("/contexts/")[0],
        filter=f'schema_title="system.ExperimentRun" AND parent_contexts:"{tuned.experiment}"',
    ))
    assert run.parent_contexts == [experiment.name]
    assert run.metadata["_state"] == "COMPLETE"

    boards = gapic(types.TensorboardServiceClient)
    assert boards.get_tensorboard(name=tensorboard).name == tensorboard
    run_name = f"{tensorboard}/experiments/{experiment.name.rsplit('/', 1)[1]}/runs/{run.display_name}"
    assert boards.get_tensorboard_run(name=run_name).name == run_name
    series = list(boards.list_tensorboard_time_series(parent=run_name))
    assert {s.display_name for s in series} == {
        "/train_total_loss", "/train_fraction_of_correct_next_step_preds", "/train_num_predictions",
        "/eval_total_loss", "/eval_fraction_of_correct_next_step_preds", "/eval_num_predictions",
    }
    data = boards.batch_read_tensorboard_time_series_data(request=types.BatchReadTensorboardTimeSeriesDataRequest(
        tensorboard=tensorboard, time_series=[s.name for s in series],
    ))
    steps = tuned.tuning_data_stats.supervised_tuning_data_stats.tuning_step_count
    by_name = {s.name.rsplit("/", 1)[1]: s.display_name for s in series}
    for one in data.time_series_data:
        expected = steps if by_name[one.tensorboard_time_series_id].startswith("/train") else 2  # one per epoch
        assert len(one.values) == expected
    read = boards.read_tensorboard_time_series_data(tensorboard_time_series=series[0].name)
    assert len(read.time_series_data.values) == steps


def test_errors_map_to_api_core_exceptions(gapic, types, vertex_http):
    with pytest.raises(exceptions.NotFound):
        gapic(types.ModelServiceClient).get_model(name=f"{PARENT}/models/1234567890123456789")
    with pytest.raises(exceptions.NotFound):
        gapic(types.MetadataServiceClient).get_context(
            name=f"{PARENT}/metadataStores/default/contexts/tuning-experiment-1")
    status, _, body = vertex_http("PUT", f"/v1/{PARENT}/models")  # a method ListModels' path lacks
    assert (status, body["error"]["status"]) == (404, "NOT_FOUND")


# --- strict parsing of every response, raw JSON against the generated types ---------------------


def test_every_response_parses_strictly(vertex_http, version, strict, tuned, manual_clock):
    job = tuned.name
    experiment = tuned.experiment

    def get(path, type_name):
        status, _, body = vertex_http("GET", f"/{version}/{path}")
        assert status == 200, body
        return strict(body, type_name, version)

    get(job, "TuningJob")
    get(f"{PARENT}/tuningJobs", "ListTuningJobsResponse")
    model = get(tuned.tuned_model.model, "Model")
    get(f"{PARENT}/models", "ListModelsResponse")
    endpoint = get(tuned.tuned_model.endpoint, "Endpoint")
    get(f"{PARENT}/metadataStores/default", "MetadataStore")
    context = get(experiment, "Context")
    get(f"{PARENT}/metadataStores/default/contexts", "ListContextsResponse")
    get(f"{experiment}-tuning-run", "Context")
    tensorboard = context.metadata["backing_tensorboard_resource"]
    get(tensorboard, "Tensorboard")
    tb_experiment = f"{tensorboard}/experiments/{experiment.rsplit('/', 1)[1]}"
    get(tb_experiment, "TensorboardExperiment")
    get(f"{tb_experiment}/runs/tuning-run", "TensorboardRun")
    listed = get(f"{tb_experiment}/runs/tuning-run/timeSeries", "ListTensorboardTimeSeriesResponse")
    first = listed.tensorboard_time_series[0].name
    get(first, "TensorboardTimeSeries")
    get(f"{first}:read", "ReadTensorboardTimeSeriesDataResponse")
    get(f"{tensorboard}:batchRead?timeSeries={first}", "BatchReadTensorboardTimeSeriesDataResponse")

    status, _, answer = vertex_http("POST", f"/{version}/{endpoint.name}:generateContent",
                                    {"contents": [{"role": "user", "parts": [{"text": "capital of Italy?"}]}]})
    assert status == 200, answer
    strict(answer, "GenerateContentResponse", version)

    for method, path, body, metadata_type in (
        ("POST", f"{endpoint.name}:undeployModel", {"deployedModelId": endpoint.deployed_models[0].id},
         "UndeployModelOperationMetadata"),
        ("DELETE", endpoint.name, None, "DeleteOperationMetadata"),
    ):
        status, _, operation = vertex_http(method, f"/{version}/{path}", body)
        assert status == 200, operation
        assert operation["metadata"]["@type"].endswith(f".{version}.{metadata_type}")
        json_format.Parse(json.dumps(operation), operations_pb2.Operation(), ignore_unknown_fields=False)
    for checkpoint in model.deployed_models:
        if checkpoint.endpoint != endpoint.name:
            _, _, info = vertex_http("GET", f"/{version}/{checkpoint.endpoint}")
            vertex_http("POST", f"/{version}/{checkpoint.endpoint}:undeployModel",
                        {"deployedModelId": info["deployedModels"][0]["id"]})
    status, _, operation = vertex_http("DELETE", f"/{version}/{model.name}")
    assert status == 200, operation
    json_format.Parse(json.dumps(operation), operations_pb2.Operation(), ignore_unknown_fields=False)

    status, _, error = vertex_http("POST", f"/{version}/{job}:cancel", {})
    assert (status, error["error"]["status"]) == (400, "FAILED_PRECONDITION")


def test_rest_only_fields_are_the_only_ones_beyond_the_protos(vertex_http, version, tuned, write_dataset):
    """tuningJobState and tuningJobMetadata are on Vertex's REST TuningJob (google-genai reads
    them) but not in the published protos: the strict parse leaves out exactly those."""
    status, _, running = vertex_http("POST", f"/{version}/{PARENT}/tuningJobs", {
        "baseModel": "gemini-3.5-flash", "supervisedTuningSpec": {"trainingDatasetUri": write_dataset()}})
    assert status == 200
    assert running["tuningJobState"] == "TUNING_JOB_STATE_WAITING_FOR_QUOTA"
    _, _, done = vertex_http("GET", f"/{version}/{tuned.name}")
    assert done["tuningJobMetadata"] == {"completedEpochCount": "2"}


def test_enums_are_numbers_when_the_client_asks(vertex_http, version, strict, tuned):
    """The GAPIC REST transport sends `$alt=json;enum-encoding=int`; Vertex then writes enums
    as numbers (and every client reads both)."""
    ask = "?%24alt=json%3Benum-encoding%3Dint"
    _, _, job = vertex_http("GET", f"/{version}/{tuned.name}{ask}")
    assert job["state"] == 4  # JOB_STATE_SUCCEEDED
    assert job["supervisedTuningSpec"]["hyperParameters"]["adapterSize"] == 2  # ADAPTER_SIZE_FOUR
    strict_job = strict(job, "TuningJob", version, enums_as_numbers=True)
    assert strict_job.state.name == "JOB_STATE_SUCCEEDED"
    status, _, answer = vertex_http("POST", f"/{version}/{tuned.tuned_model.endpoint}:generateContent{ask}",
                                    {"contents": {"parts": {"text": "capital of Italy?"}}})
    assert status == 200 and answer["candidates"][0]["finishReason"] == 1  # STOP
    _, _, names = vertex_http("GET", f"/{version}/{tuned.name}")
    assert names["state"] == "JOB_STATE_SUCCEEDED"
