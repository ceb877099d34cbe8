"""Endpoints of tuned models (EndpointService, PredictionService.generateContent): get,
delete, undeployModel, and answers from the model deployed on them (by `responder`).

A succeeded job gets one endpoint per kept checkpoint, each serving the job's model version
(`add_tuned`); an endpoint cannot be deleted while a model is deployed to it."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tuning_provider.emulator.formats import rfc3339
from tuning_provider.emulator.vertex import responder
from tuning_provider.emulator.vertex.model_registry import Deployment
from tuning_provider.emulator.vertex.operations import done_operation
from tuning_provider.emulator.vertex.store import Store, split_name
from tuning_provider.emulator.vertex.tuning_jobs import StoredJob, failed_precondition
from tuning_provider.errors import InvalidRequest, NotFound

__all__ = ["Endpoints"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS endpoints (
    parent TEXT NOT NULL, id TEXT NOT NULL, display_name TEXT NOT NULL, job_id TEXT NOT NULL,
    create_time REAL NOT NULL, PRIMARY KEY (parent, id)
);
CREATE TABLE IF NOT EXISTS deployed_models (
    parent TEXT NOT NULL, id TEXT NOT NULL, endpoint_id TEXT NOT NULL, model_id TEXT NOT NULL,
    checkpoint_id TEXT NOT NULL, display_name TEXT NOT NULL, create_time REAL NOT NULL,
    PRIMARY KEY (parent, id)
);
"""
# Added with model versions: the version a deployed model serves.
_VERSION_COLUMN = ("deployed_models", "model_version", "TEXT NOT NULL DEFAULT '1'")


class Endpoints:
    """The endpoints and deployed_models tables. `examples_of(parent, model_id, version)` is
    what a deployed model version recalls."""

    def __init__(
        self,
        store: Store,
        *,
        examples_of: Callable[[str, str, str], Sequence[responder.Example]],
    ) -> None:
        store.declare(_SCHEMA)
        store.add_column(*_VERSION_COLUMN)
        self._store = store
        self._examples_of = examples_of

    def get_endpoint(self, name: str) -> dict[str, Any]:
        parent, endpoint_id = split_name(name, "endpoints")
        with self._store.lock:
            return self._json(self._row(parent, endpoint_id))

    def undeploy_model(self, name: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST endpoints/ID:undeployModel {deployedModelId}."""
        parent, endpoint_id = split_name(name, "endpoints")
        deployed_model_id = body.get("deployedModelId", "")
        if not deployed_model_id:
            raise InvalidRequest("deployed_model_id is required.")
        with self._store.lock:
            self._row(parent, endpoint_id)
            deleted = self._store.execute(
                "DELETE FROM deployed_models WHERE parent = ? AND endpoint_id = ? AND id = ?",
                (parent, endpoint_id, deployed_model_id),
            ).rowcount
            if not deleted:
                raise NotFound(f"DeployedModel {deployed_model_id} does not exist in Endpoint {name}.")
        return done_operation(
            self._store, parent, "UndeployModelOperationMetadata", "google.cloud.aiplatform.v1.UndeployModelResponse"
        )

    def delete_endpoint(self, name: str) -> dict[str, Any]:
        """DELETE endpoints/ID: refused while a model is still deployed to it."""
        parent, endpoint_id = split_name(name, "endpoints")
        with self._store.lock:
            self._row(parent, endpoint_id)
            deployed = self._deployed_on(parent, endpoint_id)
            if deployed:
                ids = ", ".join(d["id"] for d in deployed)
                raise failed_precondition(
                    f"Endpoint {name} has deployed models ({ids}); undeploy every model from it "
                    "before deleting it."
                )
            self._store.execute("DELETE FROM endpoints WHERE parent = ? AND id = ?", (parent, endpoint_id))
        return done_operation(self._store, parent, "DeleteOperationMetadata", "google.protobuf.Empty")

    def generate_content(self, name: str, request: responder.GenerationRequest) -> dict[str, Any]:
        """POST endpoints/ID:generateContent, answered by the responder (no neural network)."""
        parent, endpoint_id = split_name(name, "endpoints")
        with self._store.lock:
            self._row(parent, endpoint_id)
            deployed = self._deployed_on(parent, endpoint_id)
            if not deployed:
                raise failed_precondition(f"Endpoint {name} has no deployed model to serve the request.")
            examples = self._examples_of(parent, deployed[0]["model_id"], deployed[0]["model_version"])
            now = self._store.clock()
        return responder.respond(examples, request, create_time=rfc3339(now))

    # --- for the other resources ---------------------------------------------------------------

    def add_tuned(self, record: StoredJob, ended: float, version: str) -> None:
        """A succeeded job's endpoints, one per kept checkpoint, each serving its model version
        (in the caller's transaction)."""
        plan = record.plan
        for checkpoint in plan["checkpoints"]:
            label = f"{plan['displayName']} checkpoint {checkpoint['checkpointId']}"
            self._store.execute(
                "INSERT INTO endpoints VALUES (?, ?, ?, ?, ?)",
                (record.parent, checkpoint["endpointId"], label, record.id, ended),
            )
            self._store.execute(
                "INSERT INTO deployed_models (parent, id, endpoint_id, model_id, checkpoint_id, display_name,"
                " create_time, model_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (record.parent, checkpoint["deployedModelId"], checkpoint["endpointId"], plan["model"],
                 checkpoint["checkpointId"], label, ended, version),
            )

    def deployments_of(self, parent: str, model_id: str, version: str | None) -> list[Deployment]:
        """(endpoint name, deployed model id) of every deployment of the model version (of any
        version of the model when `version` is None)."""
        query = "SELECT endpoint_id, id FROM deployed_models WHERE parent = ? AND model_id = ?"
        params: tuple[str, ...] = (parent, model_id)
        if version is not None:
            query, params = query + " AND model_version = ?", (*params, version)
        rows = self._store.all(query + " ORDER BY checkpoint_id, endpoint_id", params)
        return [(f"{parent}/endpoints/{r['endpoint_id']}", r["id"]) for r in rows]

    # --- rows and their JSON -------------------------------------------------------------------

    def _row(self, parent: str, endpoint_id: str) -> sqlite3.Row:
        row = self._store.one("SELECT * FROM endpoints WHERE parent = ? AND id = ?", (parent, endpoint_id))
        if row is None:
            raise NotFound(f"Endpoint {parent}/endpoints/{endpoint_id} does not exist.")
        return row

    def _deployed_on(self, parent: str, endpoint_id: str) -> list[sqlite3.Row]:
        return self._store.all(
            "SELECT * FROM deployed_models WHERE parent = ? AND endpoint_id = ? ORDER BY id",
            (parent, endpoint_id),
        )

    def _json(self, row: sqlite3.Row) -> dict[str, Any]:
        parent, created = row["parent"], rfc3339(row["create_time"])
        deployed = self._deployed_on(parent, row["id"])
        endpoint: dict[str, Any] = {
            "name": f"{parent}/endpoints/{row['id']}",
            "displayName": row["display_name"],
            "createTime": created,
            "updateTime": created,
        }
        if deployed:
            endpoint["deployedModels"] = [
                {"id": d["id"], "model": f"{parent}/models/{d['model_id']}", "modelVersionId": d["model_version"],
                 "displayName": d["display_name"], "checkpointId": d["checkpoint_id"],
                 "createTime": rfc3339(d["create_time"])}
                for d in deployed
            ]
            endpoint["trafficSplit"] = {deployed[0]["id"]: 100}
        return endpoint
