"""BigQuery for the emulator, which has none: a stand-in for the tables multimodal datasets
keep their rows in, read-only, served to the Vertex side only (no BigQuery API routes).

    bq://PROJECT.DATASET.TABLE   is the file   BIGQUERY_DIR/PROJECT/DATASET/TABLE.jsonl

one JSON object per line, one row per object: {"column": value, ...}. A JSON column holds any
JSON value; a STRING column a string (a request stored as text is a string holding JSON). A
BigQuery dataset is the folder BIGQUERY_DIR/PROJECT/DATASET; its location is BigQuery's default,
the multi-region US, unless the folder holds `location.txt` naming another (EU, europe-west4...).

Not emulated: schemas and column types beyond JSON's, partitions, views, the BigQuery API.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tuning_provider.errors import InvalidRequest, NotFound

__all__ = ["BIGQUERY_URI", "BigQueryStore", "Table", "location_serves"]

# bq://project.dataset.table, the form Vertex's multimodal dataset metadata holds.
BIGQUERY_URI = re.compile(
    r"bq://(?P<project>[a-z][a-z0-9-]{4,28}[a-z0-9])\.(?P<dataset>[A-Za-z0-9_]{1,1024})\.(?P<table>[A-Za-z0-9_-]{1,1024})"
)
DEFAULT_LOCATION = "US"
_LOCATION_FILE = "location.txt"
# BigQuery's multi-regions and the Vertex regions whose names they begin (the rule the Vertex
# SDK applies in aiplatform/preview/datasets.py, _bq_dataset_location_allowed).
_MULTI_REGIONS = ("us", "eu")


@dataclass(frozen=True)
class Table:
    """A table's file and the location of the BigQuery dataset holding it."""

    uri: str
    path: Path
    location: str

    def rows(self) -> Iterator[bytes]:
        """Each row's JSON, one line a row, in table order (blank lines are no rows)."""
        with self.path.open("rb") as lines:
            for line in lines:
                if line.strip():
                    yield line


class BigQueryStore:
    """Tables as JSONL files under `root`, by bq:// URI."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def table(self, uri: str) -> Table:
        """The table behind `uri`: InvalidRequest for a malformed URI, NotFound for no table,
        in the words BigQuery uses for them."""
        match = BIGQUERY_URI.fullmatch(uri)
        if not match:
            raise InvalidRequest(
                f"Invalid BigQuery table URI {uri!r}: expected bq://PROJECT.DATASET.TABLE."
            )
        folder = self.root / match["project"] / match["dataset"]
        path = folder / f"{match['table']}.jsonl"
        if not path.is_file():
            raise NotFound(f"Not found: Table {match['project']}:{match['dataset']}.{match['table']} was not found.")
        location_file = folder / _LOCATION_FILE
        location = location_file.read_text().strip() if location_file.is_file() else DEFAULT_LOCATION
        return Table(uri, path, location)


def location_serves(bigquery_location: str, vertex_location: str) -> bool:
    """Whether a table in `bigquery_location` can back a dataset in `vertex_location`: the same
    region, or the multi-region (US, EU) that region belongs to."""
    where = bigquery_location.lower()
    return where == vertex_location or (where in _MULTI_REGIONS and vertex_location.startswith(where))
