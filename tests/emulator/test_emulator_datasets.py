"""The Dataset resource of multimodal datasets (DatasetService), driven by clients we did not
write: google-cloud-aiplatform's generated v1beta1 and v1 clients over REST, and the Vertex AI
SDK's MultimodalDataset; raw responses parsed strictly with the generated types."""

from __future__ import annotations

import pytest
from google.api_core import exceptions
from google.cloud import aiplatform_v1, aiplatform_v1beta1
from google.cloud.aiplatform.preview.datasets import MultimodalDataset
from google.longrunning import operations_pb2
from google.protobuf import json_format

from tests.conftest import LOCATION, PROJECT, SAMPLE_EXAMPLES
from tests.emulator.conftest import SDK_DEPRECATION
from tests.multimodal_datasets import create_dataset, request_rows, write_table
from tuning_provider.emulator.vertex.datasets import MULTIMODAL_SCHEMA

PARENT = f"projects/{PROJECT}/locations/{LOCATION}"


@pytest.fixture
def table(emulator):
    return write_table(emulator, request_rows(SAMPLE_EXAMPLES))


def metadata_body(table_uri, **read_config):
    metadata = {"inputConfig": {"bigquerySource": {"uri": table_uri}}}
    if read_config:
        metadata["geminiTemplateConfigSource"] = read_config
    return metadata


def test_create_get_list_delete_with_the_generated_v1beta1_client(emulator, gapic, table):
    created = create_dataset(emulator, table)
    assert created.name.startswith(f"{PARENT}/datasets/")
    assert created.display_name == "tuning examples"
    assert created.metadata_schema_uri == MULTIMODAL_SCHEMA
    assert created.metadata["inputConfig"]["bigquerySource"]["uri"] == table
    assert created.metadata["geminiTemplateConfigSource"]["requestColumnName"] == "requests"
    client = gapic(aiplatform_v1beta1.DatasetServiceClient)
    assert client.get_dataset(name=created.name) == created
    assert [d.name for d in client.list_datasets(parent=PARENT)] == [created.name]
    client.delete_dataset(name=created.name).result(timeout=10)
    with pytest.raises(exceptions.NotFound, match="does not exist"):
        client.get_dataset(name=created.name)
    assert list(client.list_datasets(parent=PARENT)) == []


def test_the_v1_client_reads_the_same_dataset(emulator, gapic, table):
    created = create_dataset(emulator, table)
    read = gapic(aiplatform_v1.DatasetServiceClient).get_dataset(name=created.name)
    assert (read.name, read.metadata_schema_uri) == (created.name, MULTIMODAL_SCHEMA)


@pytest.mark.parametrize("version", ["v1", "v1beta1"])
def test_responses_are_canonical_proto3_json_of_the_generated_types(vertex_http, strict, table, version):
    body = {"displayName": "d", "metadataSchemaUri": MULTIMODAL_SCHEMA, "labels": {"team": "ml"},
            "metadata": metadata_body(table, requestColumnName="requests")}
    code, _, operation = vertex_http("POST", f"/{version}/{PARENT}/datasets", body)
    assert code == 200 and operation["done"] is True
    json_format.ParseDict(operation, operations_pb2.Operation())  # strict: unknown fields refused
    assert operation["name"].startswith(f"{PARENT}/datasets/") and "/operations/" in operation["name"]
    assert operation["metadata"]["@type"].endswith(f"aiplatform.{version}.CreateDatasetOperationMetadata")
    response = dict(operation["response"])
    assert response.pop("@type") == f"type.googleapis.com/google.cloud.aiplatform.{version}.Dataset"
    dataset = strict(response, "Dataset", version)
    _, _, got = vertex_http("GET", f"/{version}/{dataset.name}")
    assert strict(got, "Dataset", version) == dataset
    _, _, listed = vertex_http("GET", f"/{version}/{PARENT}/datasets?filter=labels.team%3D%22ml%22")
    assert [d.name for d in strict(listed, "ListDatasetsResponse", version).datasets] == [dataset.name]
    _, _, again = vertex_http("GET", f"/{version}/{operation['name']}")
    assert again == operation


def test_list_filters_and_pages(emulator, gapic, table):
    first = create_dataset(emulator, table, display_name="first")
    second = create_dataset(emulator, table, display_name="second")
    client = gapic(aiplatform_v1beta1.DatasetServiceClient)
    by_name = client.list_datasets(request={"parent": PARENT, "filter": 'display_name="second"'})
    assert [d.name for d in by_name] == [second.name]
    page = client.list_datasets(request={"parent": PARENT, "page_size": 1})
    assert [d.name for d in page] == [first.name, second.name]  # the pager follows the token


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"metadataSchemaUri": "gs://my-bucket/schema.yaml"}, "INVALID_ARGUMENT", "is not a dataset metadata schema"),
        ({"metadata": {"inputConfig": {}}}, "INVALID_ARGUMENT", "bigquerySource.uri"),
        ({"metadata": {"inputConfig": {"bigquerySource": {"uri": "bq://no-dots"}}}}, "INVALID_ARGUMENT",
         "bq://PROJECT.DATASET.TABLE"),
        ({"metadata": metadata_body(f"bq://{PROJECT}.tuning.missing")}, "NOT_FOUND", "tuning.missing was not found"),
        ({"displayName": ""}, "INVALID_ARGUMENT", "display_name is required"),
        ({"metadataSchemaUri": MULTIMODAL_SCHEMA, "unknownField": 1}, "INVALID_ARGUMENT", "Cannot find field"),
    ],
)
def test_what_vertex_refuses_at_create(vertex_http, table, body, status, words):
    full = {"displayName": "d", "metadataSchemaUri": MULTIMODAL_SCHEMA, "metadata": metadata_body(table), **body}
    code, _, answer = vertex_http("POST", f"/v1beta1/{PARENT}/datasets", full)
    assert answer["error"]["status"] == status and words in answer["error"]["message"]
    assert code == {"INVALID_ARGUMENT": 400, "NOT_FOUND": 404}[status]


def test_a_read_config_holds_one_way_to_read_requests(vertex_http, table):
    both = {**metadata_body(table, requestColumnName="requests"),
            "geminiRequestReadConfig": {"assembledRequestColumnName": "requests"}}
    two = metadata_body(table, requestColumnName="requests", promptUri=f"{PARENT}/datasets/9")
    for metadata in (both, two):
        body = {"displayName": "d", "metadataSchemaUri": MULTIMODAL_SCHEMA, "metadata": metadata}
        code, _, answer = vertex_http("POST", f"/v1beta1/{PARENT}/datasets", body)
        assert (code, answer["error"]["status"]) == (400, "INVALID_ARGUMENT")
        assert "set one" in answer["error"]["message"]


def test_a_table_must_be_where_the_dataset_is(emulator, vertex_http):
    in_eu = write_table(emulator, request_rows(SAMPLE_EXAMPLES), "europe.examples")
    (emulator.bigquery_dir / PROJECT / "europe" / "location.txt").write_text("EU")
    body = {"displayName": "d", "metadataSchemaUri": MULTIMODAL_SCHEMA, "metadata": metadata_body(in_eu)}
    code, _, answer = vertex_http("POST", f"/v1beta1/{PARENT}/datasets", body)
    assert code == 400 and "is in EU, which cannot back a dataset in us-central1" in answer["error"]["message"]
    code, _, _ = vertex_http("POST", f"/v1beta1/projects/{PROJECT}/locations/europe-west4/datasets", body)
    assert code == 200
    code, _, answer = vertex_http("POST", f"/v1beta1/projects/{PROJECT}/locations/global/datasets", body)
    assert code == 400 and "regional" in answer["error"]["message"]


def test_missing_datasets_and_operations_are_not_found(vertex_http):
    code, _, answer = vertex_http("GET", f"/v1beta1/{PARENT}/datasets/42")
    assert (code, answer["error"]["status"]) == (404, "NOT_FOUND")
    code, _, answer = vertex_http("GET", f"/v1beta1/{PARENT}/datasets/42/operations/7")
    assert (code, answer["error"]["status"]) == (404, "NOT_FOUND")
    code, _, answer = vertex_http("PATCH", f"/v1beta1/{PARENT}/datasets/42")  # no such method
    assert (code, answer["error"]["status"]) == (404, "NOT_FOUND")


@pytest.mark.filterwarnings(SDK_DEPRECATION)
def test_the_vertex_sdk_multimodal_dataset_class(vertex_sdk):
    table = write_table(vertex_sdk, request_rows(SAMPLE_EXAMPLES))
    dataset = MultimodalDataset.from_bigquery(bigquery_source=table, display_name="from the sdk")
    again = MultimodalDataset(dataset_name=dataset.resource_name)  # refuses a non-multimodal schema
    assert again.bigquery_table == table
    assert again.request_column_name is None and not again.has_template_config()
    assert [d.resource_name for d in MultimodalDataset.list()] == [dataset.resource_name]
    dataset.delete()
    assert MultimodalDataset.list() == []


def test_a_read_config_in_the_newer_spelling_is_kept(vertex_http, table):
    metadata = {**metadata_body(table), "geminiRequestReadConfig": {"assembledRequestColumnName": "requests"}}
    body = {"displayName": "d", "metadataSchemaUri": MULTIMODAL_SCHEMA, "metadata": metadata}
    _, _, operation = vertex_http("POST", f"/v1beta1/{PARENT}/datasets", body)
    assert operation["response"]["metadata"] == metadata


def test_datasets_survive_a_restart(emulator, emulator_factory, gapic, table):
    created = create_dataset(emulator, table)
    emulator.stop()
    restarted = emulator_factory()  # the same state folder
    client = gapic(aiplatform_v1beta1.DatasetServiceClient, restarted)
    assert client.get_dataset(name=created.name) == created
