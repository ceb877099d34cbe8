"""Vertex multimodal datasets, which a job may name as its training or validation data."""

from __future__ import annotations

from tuning_provider.connection import Connection
from tuning_provider.errors import NotFound
from tuning_provider.vertex.boundary import DEFAULT_RETRY, RetryPolicy, call
from tuning_provider.vertex.client import rest

__all__ = ["MULTIMODAL_DATASET_SCHEMA", "vertex_dataset_problem"]

# The metadata schema of a Vertex multimodal dataset, the only kind tuning reads
# (google-cloud-aiplatform's vertexai/_genai/_datasets_utils.py METADATA_SCHEMA_URI).
MULTIMODAL_DATASET_SCHEMA = "gs://google-cloud-aiplatform/schema/dataset/metadata/multimodal_1.0.0.yaml"


def vertex_dataset_problem(conn: Connection, name: str, retry: RetryPolicy = DEFAULT_RETRY) -> str | None:
    """Why the Vertex dataset `name` cannot be tuned on (it does not exist, or is not a
    multimodal dataset), or None when it is one. Its rows are not read: they live in BigQuery."""
    try:
        found = call(f"reading dataset {name}", lambda: rest(conn, "get", name), retry)
    except NotFound:
        return "it does not exist"
    schema = found.get("metadataSchemaUri")
    if schema != MULTIMODAL_DATASET_SCHEMA:
        return f"it is not a multimodal dataset (its metadata schema is {schema})"
    return None
