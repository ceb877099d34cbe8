"""Datasets (DatasetService) as multimodal datasets use them: create, get, list, delete, and
reading a multimodal dataset's Gemini requests for a tuning job.

What Vertex does, and where that was read (google-cloud-aiplatform 2.7.0; the REST reference,
cloud.google.com/vertex-ai/docs/reference/rest/v1beta1/projects.locations.datasets/create: the
body is a Dataset, the answer an Operation; the multimodal datasets guide,
cloud.google.com/vertex-ai/generative-ai/docs/multimodal/datasets: rows in BigQuery, and a
template must be attached before a tuning job can use the dataset):
- a multimodal dataset is a Dataset whose metadataSchemaUri is MULTIMODAL_SCHEMA and whose
  metadata (a Struct) holds `inputConfig.bigquerySource.uri` = bq://PROJECT.DATASET.TABLE,
  the table its rows live in (aiplatform/preview/datasets.py, vertexai/_genai/types);
- how a row becomes a Gemini request is the metadata's read config, in either spelling the
  SDKs write: `geminiTemplateConfigSource` {requestColumnName | geminiTemplateConfig |
  promptUri} (aiplatform.preview MultimodalDataset) or `geminiRequestReadConfig`
  {assembledRequestColumnName | templateConfig} (vertexai._genai, and the REST reference's
  MultimodalDatasetMetadata). The SDK's from-JSONL path stores each request in a column
  `requests` and names it with requestColumnName;
- create answers a long-running operation named under the new dataset
  (`.../datasets/ID/operations/OP`: vertexai._genai/datasets.py splits it there), whose
  response is the Dataset; delete answers an operation too; the BigQuery table's location must
  be the dataset's region or the multi-region holding it (_bq_dataset_location_allowed).

What the emulator adds or leaves out (unconfirmed against Vertex itself):
- the checks at create and their wording are the emulator's: a schema outside
  gs://google-cloud-aiplatform/schema/dataset/metadata/, a missing or malformed bq:// source
  and a read config with two forms are 400 INVALID_ARGUMENT; a table that does not exist is
  404 NOT_FOUND; a table in a location that cannot serve the region is 400. Vertex may
  instead fail the operation; the emulator answers at once, and its operations are done at once;
- datasets of the other schemas (image, text, tabular...) are stored and echoed, nothing
  more: no data items, import or export; no metadataArtifact, no system labels, no etag checks;
- templates: each `{name}` in a string of the template's geminiExample is replaced by the
  row's column `fieldMapping[name]` (or `name` when unmapped), as text; media columns and
  prompt resources (promptUri) are not read.
"""

from __future__ import annotations

import functools
import json
import re
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tuning_provider import catalog
from tuning_provider.emulator.bigquery import BIGQUERY_URI, BigQueryStore, location_serves
from tuning_provider.emulator.formats import camel_name, rfc3339
from tuning_provider.emulator.paging import ListRequest, paginate
from tuning_provider.emulator.vertex.filters import Field, parse_filter
from tuning_provider.emulator.vertex.operations import done_operation
from tuning_provider.emulator.vertex.store import Store, split_name
from tuning_provider.errors import InvalidRequest, NotFound

__all__ = ["MULTIMODAL_SCHEMA", "DatasetRequests", "Datasets"]

MULTIMODAL_SCHEMA = "gs://google-cloud-aiplatform/schema/dataset/metadata/multimodal_1.0.0.yaml"
_SCHEMA_FOLDER = "gs://google-cloud-aiplatform/schema/dataset/metadata/"
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
# What a list filter takes: the display name, the metadata schema and labels.
_FILTER_FIELDS = {"display_name": Field("displayName"), "metadata_schema_uri": Field("metadataSchemaUri")}
# The Dataset fields a client may set; the rest are output only and ignored when sent.
_CREATE_FIELDS = ("displayName", "description", "metadataSchemaUri", "metadata", "labels", "encryptionSpec",
                  "savedQueries", "modelReference")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS datasets (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,  -- creation order, for listing and page tokens
    parent TEXT NOT NULL,
    id TEXT NOT NULL,
    create_time REAL NOT NULL,
    fields TEXT NOT NULL,                   -- the settable fields as sent (JSON)
    UNIQUE (parent, id)
);
CREATE TABLE IF NOT EXISTS dataset_operations (
    name TEXT PRIMARY KEY,                  -- projects/P/locations/L/datasets/ID/operations/OP
    operation TEXT NOT NULL                 -- the Operation as answered (JSON)
);
"""


@dataclass(frozen=True)
class DatasetRequests:
    """A multimodal dataset's rows as Gemini requests, one JSON line a row (a row that could
    not be assembled has None and its reason in `problems`, by 1-based row number)."""

    table: str
    lines: list[bytes | None]
    problems: dict[int, str]

    def jsonl(self) -> bytes:
        """The requests as a JSONL file, one line a row (rows with problems as `null`)."""
        return b"".join((line if line is not None else b"null") + b"\n" for line in self.lines)


class Datasets:
    """The datasets table and the operations of DatasetService that multimodal datasets use."""

    def __init__(self, store: Store, bigquery: BigQueryStore) -> None:
        store.declare(_SCHEMA)
        self._store = store
        self._bigquery = bigquery

    # --- the API operations ----------------------------------------------------------------

    def create_dataset(self, parent: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST {parent}/datasets: check, store, answer the done operation holding it."""
        fields = {k: body[k] for k in _CREATE_FIELDS if k in body}
        self._check_create(parent, fields)
        now = self._store.clock()
        dataset_id = self._store.new_id()
        with self._store.lock:
            self._store.execute(
                "INSERT INTO datasets (parent, id, create_time, fields) VALUES (?, ?, ?, ?)",
                (parent, dataset_id, now, json.dumps(fields)),
            )
            dataset = self._json(self._row(parent, dataset_id))
        return self._operation(dataset["name"], "CreateDatasetOperationMetadata",
                               "google.cloud.aiplatform.v1.Dataset", dataset)

    def get_dataset(self, name: str) -> dict[str, Any]:
        parent, dataset_id = split_name(name, "datasets")
        return self._json(self._row(parent, dataset_id))

    def list_datasets(self, request: ListRequest) -> dict[str, Any]:
        """GET {parent}/datasets: in creation order; the filter on display_name,
        metadata_schema_uri and labels, joined by AND."""
        if request.order_by.strip() not in ("", "create_time", "createTime"):
            raise InvalidRequest(
                f"Unsupported order_by {request.order_by!r}: the emulator lists datasets by create_time."
            )
        matches = parse_filter(request.filter, _FILTER_FIELDS, labels=True,
                               understands='display_name, metadata_schema_uri and labels.KEY compared with = '
                                           'or != to "VALUE"')
        rows = self._store.all("SELECT * FROM datasets WHERE parent = ?", (request.parent,))
        page = paginate((((row["seq"],), self._json(row)) for row in rows), request.page,
                        default_size=DEFAULT_PAGE_SIZE, max_size=MAX_PAGE_SIZE, keep=matches)
        return page.answer("datasets")

    def delete_dataset(self, name: str) -> dict[str, Any]:
        parent, dataset_id = split_name(name, "datasets")
        with self._store.lock:
            row = self._row(parent, dataset_id)
            self._store.execute("DELETE FROM datasets WHERE seq = ?", (row["seq"],))
        return self._operation(f"{parent}/datasets/{dataset_id}", "DeleteOperationMetadata", "google.protobuf.Empty")

    def get_operation(self, name: str) -> dict[str, Any]:
        """GET .../datasets/ID/operations/OP: an operation this module answered (kept after
        the dataset is deleted, as Vertex keeps operations for a while)."""
        row = self._store.one("SELECT operation FROM dataset_operations WHERE name = ?", (name,))
        if row is None:
            raise NotFound(f"Operation {name} does not exist.")
        operation: dict[str, Any] = json.loads(row["operation"])
        return operation

    # --- what tuning jobs read ----------------------------------------------------------------

    def tuning_requests(self, name: str) -> DatasetRequests:
        """The Gemini requests of the multimodal dataset `name`, read from its table through its
        read config. NotFound if there is no such dataset; InvalidRequest, with the reason, if
        it is not multimodal, says no way to read requests from its rows, or its table is gone."""
        parent, dataset_id = split_name(name, "datasets")
        fields = json.loads(self._row(parent, dataset_id)["fields"])
        if fields.get("metadataSchemaUri") != MULTIMODAL_SCHEMA:
            raise InvalidRequest(
                f"dataset {name} is not a multimodal dataset (its metadata schema is "
                f"{fields.get('metadataSchemaUri')}); tuning reads multimodal datasets only."
            )
        metadata = fields.get("metadata") or {}
        read = _read_config(metadata)
        if read is None:
            # The guide says a template must be attached before tuning; how and when Vertex
            # refuses one without is unknown (the SDK refuses client-side with "No template
            # config was provided and no template config is attached to the dataset."), so the
            # job fails as on an unreadable dataset.
            raise InvalidRequest(
                f"dataset {name} has no Gemini request read config: attach a template config or "
                "name the column holding assembled requests before tuning on it."
            )
        source = metadata["inputConfig"]["bigquerySource"]["uri"]
        try:
            table = self._bigquery.table(source)
        except NotFound as exc:  # the table went after the dataset was made
            raise InvalidRequest(f"dataset {name} keeps its rows in {source}: {exc.message}") from None
        assemble = _assembler(name, read)
        lines: list[bytes | None] = []
        problems: dict[int, str] = {}
        for number, raw in enumerate(table.rows(), start=1):
            try:
                row = json.loads(raw)
                if not isinstance(row, dict):
                    raise ValueError("the row is not a JSON object of columns")
                lines.append(json.dumps(assemble(row)).encode())
            except ValueError as exc:
                lines.append(None)
                problems[number] = str(exc)
        return DatasetRequests(table.uri, lines, problems)

    # --- checks, rows and their JSON ----------------------------------------------------------

    def _check_create(self, parent: str, fields: Mapping[str, Any]) -> None:
        location = parent.rsplit("/", 1)[-1]
        if location == "global":
            raise InvalidRequest(
                "Datasets are regional: create the dataset in a region such as us-central1, not global."
            )
        display_name = fields.get("displayName")
        if not display_name:
            raise InvalidRequest("dataset.display_name is required.")
        if len(display_name) > catalog.MAX_DISPLAY_NAME_CHARS:
            raise InvalidRequest(
                f"dataset.display_name must be at most {catalog.MAX_DISPLAY_NAME_CHARS} characters; "
                f"got {len(display_name)}."
            )
        if len(fields.get("labels") or {}) > catalog.MAX_LABELS:
            raise InvalidRequest(f"A dataset can have at most {catalog.MAX_LABELS} user labels.")
        schema = fields.get("metadataSchemaUri") or ""
        if not schema.startswith(_SCHEMA_FOLDER) or not schema.endswith(".yaml"):
            raise InvalidRequest(
                f"dataset.metadata_schema_uri {schema!r} is not a dataset metadata schema: use one of "
                f"{_SCHEMA_FOLDER}, such as {MULTIMODAL_SCHEMA} for a multimodal dataset."
            )
        if schema == MULTIMODAL_SCHEMA:
            self._check_multimodal(location, fields.get("metadata"))

    def _check_multimodal(self, location: str, metadata: Any) -> None:
        source = _dig(metadata, "inputConfig", "bigquerySource", "uri")
        if not isinstance(source, str) or not BIGQUERY_URI.fullmatch(source):
            raise InvalidRequest(
                "dataset.metadata.inputConfig.bigquerySource.uri of a multimodal dataset must name "
                f"its BigQuery table as bq://PROJECT.DATASET.TABLE; got {source!r}."
            )
        table = self._bigquery.table(source)
        if not location_serves(table.location, location):
            raise InvalidRequest(
                f"The BigQuery table {source} is in {table.location}, which cannot back a dataset in "
                f"{location}: use a BigQuery dataset in {location} or in the multi-region holding it."
            )
        forms = [key for key in ("geminiTemplateConfigSource", "geminiRequestReadConfig") if metadata.get(key)]
        for key in forms:
            if not isinstance(metadata[key], dict) or len([v for v in metadata[key].values() if v]) > 1:
                raise InvalidRequest(f"dataset.metadata.{key} sets more than one way to read requests: set one.")
        if len(forms) > 1:
            raise InvalidRequest(
                "dataset.metadata sets both geminiTemplateConfigSource and geminiRequestReadConfig: set one."
            )

    def _row(self, parent: str, dataset_id: str) -> sqlite3.Row:
        row = self._store.one("SELECT * FROM datasets WHERE parent = ? AND id = ?", (parent, dataset_id))
        if row is None:
            raise NotFound(f"Dataset {parent}/datasets/{dataset_id} does not exist.")
        return row

    def _json(self, row: sqlite3.Row) -> dict[str, Any]:
        created = rfc3339(row["create_time"])
        fields = json.loads(row["fields"])
        dataset: dict[str, Any] = {"name": f"{row['parent']}/datasets/{row['id']}", **fields}
        dataset["createTime"] = created
        dataset["updateTime"] = created
        # Proto3 JSON leaves empty values out.
        return {k: v for k, v in dataset.items() if v not in ("", {}, [], None)}

    def _operation(
        self, dataset: str, metadata_type: str, response_type: str, response: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """A done operation under the dataset, kept for get_operation."""
        operation = done_operation(self._store, dataset, metadata_type, response_type, response)
        self._store.execute("INSERT INTO dataset_operations VALUES (?, ?)", (operation["name"], json.dumps(operation)))
        return operation


# --- reading rows ---------------------------------------------------------------------------

# ("column", name) for assembled requests, ("template", config) for a template.
_ReadConfig = tuple[str, Any]


def _read_config(metadata: Mapping[str, Any]) -> _ReadConfig | None:
    """How the dataset's rows become requests, from either spelling of the read config."""
    old = metadata.get("geminiTemplateConfigSource") or {}
    new = metadata.get("geminiRequestReadConfig") or {}
    column = old.get("requestColumnName") or new.get("assembledRequestColumnName")
    if column:
        return ("column", column)
    template = old.get("geminiTemplateConfig") or new.get("templateConfig")
    if template:
        return ("template", template)
    if old.get("promptUri"):
        return ("prompt", old["promptUri"])
    return None


def _assembler(name: str, read: _ReadConfig) -> Callable[[dict[str, Any]], Any]:
    kind, value = read
    if kind == "column":
        return functools.partial(_assembled_request, value)
    if kind == "template":
        return functools.partial(_from_template, _template_parts(name, value))
    raise InvalidRequest(
        f"dataset {name} reads its requests through the prompt resource {value}, which the emulator "
        "does not hold: attach a template config or an assembled request column instead."
    )


def _assembled_request(column: str, row: dict[str, Any]) -> Any:
    if column not in row:
        raise ValueError(f"the row has no column {column!r}, which the dataset names as holding the requests")
    request = row[column]
    if isinstance(request, str):  # a STRING column holding the request's JSON
        try:
            return json.loads(request)
        except ValueError:
            raise ValueError(f"column {column!r} holds text that is not JSON, not a Gemini request") from None
    return request


def _template_parts(name: str, template: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """(the Gemini example in camelCase, the field mapping) of a template config, which the
    SDKs write in either spelling (proto-plus's to_dict keeps the proto's snake_case)."""
    example = template.get("geminiExample") or template.get("gemini_example")
    if not isinstance(example, dict):
        raise InvalidRequest(f"dataset {name} has a template config with no gemini_example.")
    mapping = template.get("fieldMapping") or template.get("field_mapping") or {}
    request = {camel_name(k): v for k, v in example.items() if k != "model"}
    return request, {str(k): str(v) for k, v in mapping.items()}


def _from_template(parts: tuple[dict[str, Any], dict[str, str]], row: dict[str, Any]) -> Any:
    example, mapping = parts

    def fill(value: Any) -> Any:
        if isinstance(value, str):
            return _PLACEHOLDER.sub(lambda m: _column_text(row, mapping.get(m[1], m[1])), value)
        if isinstance(value, list):
            return [fill(v) for v in value]
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        return value

    return fill(example)


def _column_text(row: dict[str, Any], column: str) -> str:
    if column not in row or row[column] is None:
        raise ValueError(f"the row has no value in column {column!r}, which the template reads")
    value = row[column]
    return value if isinstance(value, str) else json.dumps(value)


def _dig(value: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


# --- listing --------------------------------------------------------------------------------


