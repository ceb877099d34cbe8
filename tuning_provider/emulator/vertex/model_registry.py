"""Tuned models and their versions (ModelService): get, list, listVersions, delete,
deleteVersion, mergeVersionAliases (of the `default` alias only). A model version is
written when its job succeeds (`add_tuned`).

A model holds one or more versions, numbered 1, 2, ... and never reused. Tuning from a
base model makes a new model at version 1; continuous tuning without a new display name
makes the next version of the tuned model it starts from (see tuning_jobs). As in Vertex's
Model Registry:
- `models/ID` and `models/ID@default` name the default version, `models/ID@V` version V;
  the first version carries the `default` alias, and exactly one version always does;
- ListModels answers one entry per model (its default version); ListModelVersions every
  version;
- DeleteModel deletes every version, and is refused while any version is deployed;
  DeleteModelVersion is refused for a deployed version and for the only version (use
  DeleteModel), and, in the emulator, for the default version while others exist (what
  Vertex does there is unconfirmed; the default alias must stay on some version).
A tuned model carries the labels Vertex puts on one, naming its Google base model and its
job (google-genai reads the first as `tuned_model_info.base_model`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tuning_provider.emulator.formats import rfc3339
from tuning_provider.emulator.paging import Key, ListRequest, Page, paginate
from tuning_provider.emulator.vertex.filters import Field, Predicate, parse_filter
from tuning_provider.emulator.vertex.operations import done_operation
from tuning_provider.emulator.vertex.store import Store, split_name
from tuning_provider.emulator.vertex.tuning_jobs import StoredJob, failed_precondition
from tuning_provider.errors import InvalidRequest, NotFound

__all__ = ["DEFAULT_ALIAS", "Deployment", "ModelVersion", "ModelRegistry"]

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
DEFAULT_ALIAS = "default"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS model_versions (
    parent TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL,
    display_name TEXT NOT NULL, job_id TEXT NOT NULL, create_time REAL NOT NULL,
    is_default INTEGER NOT NULL,            -- carries the "default" alias (one per model)
    PRIMARY KEY (parent, id, version)
);
-- The last version number each model gave out: a deleted version's number is not reused.
CREATE TABLE IF NOT EXISTS model_last_versions (
    parent TEXT NOT NULL, id TEXT NOT NULL, last_version INTEGER NOT NULL, PRIMARY KEY (parent, id)
);
"""
# What a list filter takes, as aiplatform.Model.list(filter=...) writes it: the display name
# and labels.
_FILTER_FIELDS = {"display_name": Field("displayName")}

BASE_MODEL_LABEL = "google-vertex-llm-tuning-base-model-id"
JOB_LABEL = "google-vertex-llm-tuning-job-id"

# (endpoint name, deployed model id) pairs serving a model, from the endpoints' side.
Deployment = tuple[str, str]
# (parent, model id, version or None for every version) -> the deployments of it.
DeploymentLookup = Callable[[str, str, "str | None"], list[Deployment]]


@dataclass(frozen=True)
class ModelVersion:
    """One stored version, as the other resource modules read it."""

    parent: str
    id: str
    version: str
    display_name: str
    job_id: str
    create_time: float


class ModelRegistry:
    """The model_versions table. `deployments(parent, model_id, version)` says which endpoints
    serve a model version (every version when None) and `checkpoints(parent, job_id)` which
    checkpoints its job kept."""

    def __init__(
        self,
        store: Store,
        *,
        deployments: DeploymentLookup,
        checkpoints: Callable[[str, str], list[dict[str, Any]]],
        base_model_of: Callable[[str, str], str | None] = lambda _parent, _job_id: None,
    ) -> None:
        store.declare(_SCHEMA)
        if store.has_table("models"):  # written by an emulator before versions: each is a version 1
            with store.transaction():
                store.execute(
                    "INSERT OR IGNORE INTO model_versions SELECT parent, id, 1, display_name, job_id, create_time, 1"
                    " FROM models"
                )
                store.execute("INSERT OR IGNORE INTO model_last_versions SELECT parent, id, 1 FROM models")
                store.execute("DROP TABLE models")
        self._store = store
        self._deployments = deployments
        self._checkpoints = checkpoints
        self._base_model_of = base_model_of

    def get_model(self, name: str) -> dict[str, Any]:
        """GET models/ID[@VERSION or @ALIAS]: the default version when none is named."""
        with self._store.lock:
            return self._json(self._version_row(name))

    def list_models(self, request: ListRequest) -> dict[str, Any]:
        """GET {parent}/models: one entry per model (its default version), oldest first;
        filters by display_name and labels."""
        matches = _filter(request)
        with self._store.lock:
            rows = self._store.all(
                "SELECT * FROM model_versions WHERE parent = ? AND is_default = 1", (request.parent,)
            )
            found = [((row["create_time"], row["id"]), self._json(row)) for row in rows]
        return _page(found, request, matches).answer("models")

    def list_model_versions(self, request: ListRequest) -> dict[str, Any]:
        """GET models/ID:listVersions: every version of the model, oldest first."""
        parent, model_id = split_name(request.parent, "models")
        bare_id = model_id.partition("@")[0]
        matches = _filter(request)
        with self._store.lock:
            rows = self._versions(parent, bare_id)
            if not rows:
                raise NotFound(f"Model {parent}/models/{bare_id} does not exist.")
            found = [((row["version"], row["id"]), self._json(row)) for row in rows]
        return _page(found, request, matches).answer("models")

    def delete_model(self, name: str) -> dict[str, Any]:
        """DELETE models/ID: every version goes; refused while any version is deployed."""
        parent, model_id = split_name(name, "models")
        if "@" in model_id:
            raise InvalidRequest(
                f"DeleteModel deletes a whole model and takes a name without a version; got {name}. "
                "To delete one version, use DeleteModelVersion (models/ID@VERSION:deleteVersion)."
            )
        with self._store.lock:
            if not self._versions(parent, model_id):
                raise NotFound(f"Model {name} does not exist.")
            serving = sorted({endpoint for endpoint, _ in self._deployments(parent, model_id, None)})
            if serving:
                raise failed_precondition(
                    f"Model {parent}/models/{model_id} is deployed or being deployed at the "
                    f"following Endpoint(s): {', '.join(serving)}. Undeploy it from every "
                    "endpoint before deleting it."
                )
            self._store.execute("DELETE FROM model_versions WHERE parent = ? AND id = ?", (parent, model_id))
        return done_operation(self._store, parent, "DeleteOperationMetadata", "google.protobuf.Empty")

    def delete_model_version(self, name: str) -> dict[str, Any]:
        """DELETE models/ID@VERSION:deleteVersion: refused for a deployed version, for the only
        version (DeleteModel is for that) and for the default version while others exist."""
        parent, model_id = split_name(name, "models")
        if "@" not in model_id:
            raise InvalidRequest(
                f"The name of the model version to delete must include a version ID or alias "
                f"(models/ID@VERSION); got {name}."
            )
        with self._store.lock:
            row = self._version_row(name)
            version = f"{parent}/models/{row['id']}@{row['version']}"
            serving = sorted({endpoint for endpoint, _ in self._deployments(parent, row["id"], str(row["version"]))})
            if serving:
                raise failed_precondition(
                    f"Model version {version} is deployed or being deployed at the following "
                    f"Endpoint(s): {', '.join(serving)}. Undeploy it before deleting it."
                )
            others = [r for r in self._versions(parent, row["id"]) if r["version"] != row["version"]]
            if not others:
                raise failed_precondition(
                    f"Deleting the only version in the Model is not allowed: {version} is the only "
                    "version of its model. Use DeleteModel to delete the Model instead."
                )
            if row["is_default"]:
                raise failed_precondition(
                    f"Model version {version} holds the '{DEFAULT_ALIAS}' alias, which one version of a "
                    "model must always hold. Move the alias to another version (MergeVersionAliases) "
                    "before deleting this one."
                )
            self._store.execute(
                "DELETE FROM model_versions WHERE parent = ? AND id = ? AND version = ?",
                (parent, row["id"], row["version"]),
            )
        return done_operation(self._store, parent, "DeleteOperationMetadata", "google.protobuf.Empty")

    def merge_version_aliases(self, name: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST models/ID@VERSION:mergeVersionAliases: moving `default` to this version is what
        the emulator supports (the alias that decides what the bare model name serves)."""
        aliases = body.get("versionAliases", [])
        if "@" not in name.rsplit("/", 1)[-1]:
            raise InvalidRequest(
                f"The model version must include a version ID or alias (models/ID@VERSION); got {name}."
            )
        if not aliases:
            raise InvalidRequest("version_aliases is required: the aliases to add (or, prefixed with -, remove).")
        if f"-{DEFAULT_ALIAS}" in aliases:
            raise failed_precondition(
                f"The '{DEFAULT_ALIAS}' alias cannot be removed: one version of a model must always hold it. "
                "Add it to another version instead, which moves it there."
            )
        unsupported = sorted(set(aliases) - {DEFAULT_ALIAS})
        if unsupported:
            raise InvalidRequest(
                f"The emulator keeps only the '{DEFAULT_ALIAS}' version alias; {unsupported[0]!r} is not supported."
            )
        with self._store.lock:
            row = self._version_row(name)
            # One statement: the alias is never on two versions, nor on none.
            self._store.execute(
                "UPDATE model_versions SET is_default = (version = ?) WHERE parent = ? AND id = ?",
                (row["version"], row["parent"], row["id"]),
            )
            return self._json(self._version_row(f"{row['parent']}/models/{row['id']}@{row['version']}"))

    # --- for the other resources -------------------------------------------------------------

    def add_tuned(self, record: StoredJob, ended: float) -> str:
        """The model version a succeeded job produced (in the caller's transaction); returns its
        version id. A job planned as a new version of a model (`plan["newVersion"]`) takes the
        number after the last one that model gave out, as Vertex documents for continuous tuning."""
        plan, parent, model_id = record.plan, record.parent, record.plan["model"]
        last = self._store.one(
            "SELECT last_version FROM model_last_versions WHERE parent = ? AND id = ?", (parent, model_id)
        )
        version = int(last["last_version"]) + 1 if plan.get("newVersion") and last is not None else 1
        existing = self._versions(parent, model_id)
        display_name = existing[0]["display_name"] if existing else plan["displayName"]
        self._store.execute(
            "INSERT INTO model_versions VALUES (?, ?, ?, ?, ?, ?, ?)",
            (parent, model_id, version, display_name, record.id, ended, 0 if existing else 1),
        )
        self._store.execute(
            "INSERT INTO model_last_versions VALUES (?, ?, ?) ON CONFLICT (parent, id) DO UPDATE SET last_version = ?",
            (parent, model_id, version, version),
        )
        return str(version)

    def find_version(self, name: str) -> ModelVersion | None:
        """The version `name` (models/ID, @VERSION or @ALIAS) names, if it exists."""
        with self._store.lock:
            try:
                row = self._version_row(name)
            except NotFound:
                return None
        return ModelVersion(row["parent"], row["id"], str(row["version"]), row["display_name"], row["job_id"],
                            row["create_time"])

    def job_of(self, parent: str, model_id: str, version: str) -> str | None:
        """The id of the tuning job that produced the model version, if it exists."""
        row = self._store.one(
            "SELECT job_id FROM model_versions WHERE parent = ? AND id = ? AND version = ?",
            (parent, model_id, _version_number(version)),
        )
        return str(row["job_id"]) if row is not None else None

    # --- rows and their JSON -------------------------------------------------------------------

    def _versions(self, parent: str, model_id: str) -> list[sqlite3.Row]:
        return self._store.all(
            "SELECT * FROM model_versions WHERE parent = ? AND id = ? ORDER BY version", (parent, model_id)
        )

    def _version_row(self, name: str) -> sqlite3.Row:
        parent, model_id = split_name(name, "models")
        bare_id, _, version = model_id.partition("@")
        if version in ("", DEFAULT_ALIAS):
            row = self._store.one(
                "SELECT * FROM model_versions WHERE parent = ? AND id = ? AND is_default = 1", (parent, bare_id)
            )
        elif version.isdigit():
            row = self._store.one(
                "SELECT * FROM model_versions WHERE parent = ? AND id = ? AND version = ?",
                (parent, bare_id, int(version)),
            )
        else:  # an alias the emulator never gives out
            row = None
        if row is None:
            raise NotFound(f"Model {name} does not exist.")
        return row

    def _json(self, row: sqlite3.Row) -> dict[str, Any]:
        parent, version = row["parent"], str(row["version"])
        created = rfc3339(row["create_time"])
        first = self._store.one(
            "SELECT MIN(create_time) AS t FROM model_versions WHERE parent = ? AND id = ?", (parent, row["id"])
        )
        model: dict[str, Any] = {
            "name": f"{parent}/models/{row['id']}",
            "displayName": row["display_name"],
            "versionId": version,
            "createTime": rfc3339(first["t"]) if first is not None else created,
            "updateTime": created,
            "versionCreateTime": created,
            "versionUpdateTime": created,
        }
        if row["is_default"]:
            model["versionAliases"] = [DEFAULT_ALIAS]
        base_model = self._base_model_of(parent, row["job_id"])
        labels = {JOB_LABEL: row["job_id"], "tune-type": "sft"}
        if base_model:
            # A label value holds no dots: gemini-3.5-flash is written gemini-3-5-flash.
            labels[BASE_MODEL_LABEL] = base_model.replace(".", "-")
        model["labels"] = labels
        checkpoints = self._checkpoints(parent, row["job_id"])
        if checkpoints:
            model["checkpoints"] = [
                {"checkpointId": c["checkpointId"], "epoch": c["epoch"], "step": c["step"]} for c in checkpoints
            ]
            model["defaultCheckpointId"] = checkpoints[-1]["checkpointId"]
        deployed = self._deployments(parent, row["id"], version)
        if deployed:
            # DeployedModelRef has exactly these two fields.
            model["deployedModels"] = [{"endpoint": e, "deployedModelId": d} for e, d in deployed]
        return model


def _version_number(version: str) -> int:
    return int(version) if version.isdigit() else -1


def _filter(request: ListRequest) -> Predicate:
    return parse_filter(request.filter, _FILTER_FIELDS, labels=True,
                        understands='display_name="NAME" and labels.KEY="VALUE"')


def _page(
    found: Iterable[tuple[Key, dict[str, Any]]], request: ListRequest, matches: Predicate
) -> Page[dict[str, Any]]:
    return paginate(found, request.page, default_size=DEFAULT_PAGE_SIZE, max_size=MAX_PAGE_SIZE, keep=matches)
