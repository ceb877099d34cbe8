"""Vertex multimodal datasets for tests, made the way a user makes them: rows written into a
BigQuery table (the emulator's stand-in: a JSONL file under its bigquery_dir), then the
Dataset created through google-cloud-aiplatform's generated v1beta1 DatasetServiceClient.
Shared by the emulator's, the provider's and the engine's tests.

- `write_table(emulator, rows, table=TABLE)`: the rows ({column: value}) as the table
  bq://PROJECT.TABLE; returns its URI.
- `request_rows(examples)`: one row a (question, answer) pair, its assembled Gemini request in
  the column `requests`, as the SDK's from-JSONL path stores it.
- `create_dataset(emulator, table_uri, read_config=ASSEMBLED, ...)`: the created Dataset
  (a v1beta1 message); `read_config` is the metadata's geminiTemplateConfigSource, None for none.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from google.cloud import aiplatform_v1beta1 as v1beta1
from google.protobuf import json_format, struct_pb2

from tests.aiplatform_reader import aiplatform_client
from tests.conftest import LOCATION, PROJECT
from tuning_provider.emulator import Emulator
from tuning_provider.emulator.vertex.datasets import MULTIMODAL_SCHEMA

__all__ = ["ASSEMBLED", "TABLE", "create_dataset", "request_rows", "write_table"]

TABLE = "tuning.examples"
# The read config the SDK's from-JSONL path attaches: the requests are in the column "requests".
ASSEMBLED: Mapping[str, Any] = {"requestColumnName": "requests"}


def write_table(emulator: Emulator, rows: Iterable[Mapping[str, Any] | str], table: str = TABLE,
                *, project: str = PROJECT) -> str:
    """Rows (objects, or raw lines as given) as the BigQuery table bq://PROJECT.TABLE."""
    dataset, name = table.split(".")
    path = emulator.bigquery_dir / project / dataset / f"{name}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows))
    return f"bq://{project}.{table}"


def request_rows(examples: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
    return [
        {"requests": {"contents": [{"role": "user", "parts": [{"text": question}]},
                                   {"role": "model", "parts": [{"text": answer}]}]}}
        for question, answer in examples
    ]


def create_dataset(emulator: Emulator, table_uri: str, read_config: Mapping[str, Any] | None = ASSEMBLED, *,
                   project: str = PROJECT, location: str = LOCATION, schema: str = MULTIMODAL_SCHEMA,
                   display_name: str = "tuning examples") -> Any:
    """CreateDataset through the generated client, waited for as its operation says."""
    metadata: dict[str, Any] = {"inputConfig": {"bigquerySource": {"uri": table_uri}}}
    if read_config is not None:
        metadata["geminiTemplateConfigSource"] = dict(read_config)
    client = aiplatform_client(v1beta1.DatasetServiceClient, emulator)
    operation = client.create_dataset(
        parent=f"projects/{project}/locations/{location}",
        dataset=v1beta1.Dataset(display_name=display_name, metadata_schema_uri=schema,
                                metadata=json_format.ParseDict(metadata, struct_pb2.Value())),
    )
    return operation.result(timeout=10)
