"""Google Cloud resource names, parsed and built in one place.

A regional Vertex resource is `projects/PROJECT/locations/LOCATION/COLLECTION/ID`: a tuning job
(`tuningJobs`), a tuned model (`models`, with an optional `@VERSION` or `@ALIAS`), an endpoint
(`endpoints`), a multimodal dataset (`datasets`). A Cloud KMS key adds its key ring:
`projects/P/locations/L/keyRings/RING/cryptoKeys/KEY`. `TuningJobName.parse(text)` gives the
typed name or None, `str(name)` the text again. Spec, provider, vertex, dataset and the CLI
read names only through here; the emulator keeps its own patterns, as it plays the server.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar, Self

__all__ = [
    "DatasetName",
    "EndpointName",
    "KmsKeyName",
    "ModelName",
    "TuningJobName",
    "gcs_object",
    "is_tuned_model",
    "is_vertex_dataset",
    "parent",
    "resource_id",
]

_REGIONAL = re.compile(
    r"^projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/(?P<collection>[A-Za-z]+)/(?P<id>[^/]+)$"
)
_KMS_KEY = re.compile(
    r"^projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/keyRings/(?P<ring>[^/]+)/cryptoKeys/(?P<key>[^/]+)$"
)


def parent(project: str, location: str) -> str:
    """projects/PROJECT/locations/LOCATION: where a regional resource lives."""
    return f"projects/{project}/locations/{location}"


@dataclass(frozen=True)
class _Regional:
    """projects/PROJECT/locations/LOCATION/COLLECTION/ID, COLLECTION fixed by the subclass."""

    project: str
    location: str
    id: str
    collection: ClassVar[str]

    @classmethod
    def parse(cls, name: str) -> Self | None:
        """The name's parts, or None when `name` is not a full name of this collection."""
        match = _REGIONAL.match(name)
        if match is None or match["collection"] != cls.collection:
            return None
        return cls._of(match["project"], match["location"], match["id"])

    @classmethod
    def _of(cls, project: str, location: str, id_: str) -> Self | None:
        return cls(project, location, id_)

    def __str__(self) -> str:
        return f"{parent(self.project, self.location)}/{self.collection}/{self.id}"


@dataclass(frozen=True)
class TuningJobName(_Regional):
    collection: ClassVar[str] = "tuningJobs"


@dataclass(frozen=True)
class EndpointName(_Regional):
    collection: ClassVar[str] = "endpoints"


@dataclass(frozen=True)
class DatasetName(_Regional):
    """A Vertex multimodal dataset: training or validation data instead of a gs:// file."""

    collection: ClassVar[str] = "datasets"


@dataclass(frozen=True)
class ModelName(_Regional):
    """A tuned model in the Model Registry, at `version` (a version id or an alias such as
    `default`; empty: the model's default version)."""

    collection: ClassVar[str] = "models"
    version: str = ""

    @classmethod
    def _of(cls, project: str, location: str, id_: str) -> Self | None:
        model, at, version = id_.partition("@")
        if not model or (at and (not version or "@" in version)):
            return None
        return cls(project, location, model, version)

    @property
    def model(self) -> str:
        """The model itself, without the version: what ListModelVersions and DeleteModel take."""
        return f"{parent(self.project, self.location)}/{self.collection}/{self.id}"

    def __str__(self) -> str:
        return f"{self.model}@{self.version}" if self.version else self.model


@dataclass(frozen=True)
class KmsKeyName:
    """A Cloud KMS key: projects/P/locations/L/keyRings/RING/cryptoKeys/KEY."""

    project: str
    location: str
    key_ring: str
    key: str

    @classmethod
    def parse(cls, name: str) -> KmsKeyName | None:
        match = _KMS_KEY.match(name)
        return cls(match["project"], match["location"], match["ring"], match["key"]) if match else None

    def __str__(self) -> str:
        return f"{parent(self.project, self.location)}/keyRings/{self.key_ring}/cryptoKeys/{self.key}"


def is_tuned_model(name: str) -> bool:
    """Whether a base_model names a tuned model (continuous tuning), not a Google base model."""
    return ModelName.parse(name) is not None


def is_vertex_dataset(value: str) -> bool:
    """Whether dataset data names a Vertex multimodal dataset, not a gs:// file."""
    return DatasetName.parse(value) is not None


def resource_id(name: str) -> str:
    """The last part of any resource name: the bare id people type (`7` of .../tuningJobs/7)."""
    return name.rstrip("/").rsplit("/", 1)[-1]


def gcs_object(uri: str) -> tuple[str, str] | None:
    """(bucket, object) of gs://BUCKET/OBJECT, or None when `uri` names no object in a bucket."""
    if not uri.startswith("gs://"):
        return None
    bucket, _, name = uri.removeprefix("gs://").partition("/")
    return (bucket, name) if bucket and name else None
