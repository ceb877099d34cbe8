"""Tuned models (ModelService): get, list, delete. A model is written when its job succeeds
(`add_tuned`); delete is refused while any endpoint serves it, as Vertex refuses it.
A tuned model carries the labels Vertex puts on one, naming its Google base model and its
job (google-genai reads the first as `tuned_model_info.base_model`)."""

from __future__ import annotations

import functools
import re
import sqlite3
from collections.abc import Callable
from typing import Any

from tuning_provider.emulator.formats import decode_page_token, encode_page_token, rfc3339
from tuning_provider.emulator.operations import done_operation
from tuning_provider.emulator.store import Store, split_name
from tuning_provider.emulator.tuning_jobs import MODEL_VERSION, JobRecord, failed_precondition
from tuning_provider.errors import InvalidRequest, NotFound

__all__ = ["Deployment", "Models"]

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS models (
    parent TEXT NOT NULL, id TEXT NOT NULL, display_name TEXT NOT NULL, job_id TEXT NOT NULL,
    create_time REAL NOT NULL, PRIMARY KEY (parent, id)
);
"""
# What `Models.list` filters on, as aiplatform.Model.list(filter=...) writes it.
_FILTER_CLAUSE = re.compile(
    r'(?P<field>display_name|labels\.[a-z][a-z0-9_-]*)\s*=\s*(?:"(?P<quoted>[^"]*)"|(?P<bare>[^\s"]+))'
)

BASE_MODEL_LABEL = "google-vertex-llm-tuning-base-model-id"
JOB_LABEL = "google-vertex-llm-tuning-job-id"

# (endpoint name, deployed model id) pairs serving a model, from the endpoints' side.
Deployment = tuple[str, str]


class Models:
    """The models table. `publish` writes the outputs of jobs that have just succeeded;
    `deployments(parent, model_id)` says which endpoints serve a model and
    `checkpoints(parent, job_id)` which checkpoints its job kept."""

    def __init__(
        self,
        store: Store,
        *,
        publish: Callable[[], None],
        deployments: Callable[[str, str], list[Deployment]],
        checkpoints: Callable[[str, str], list[dict[str, Any]]],
        base_model_of: Callable[[str, str], str | None] = lambda _parent, _job_id: None,
    ) -> None:
        store.declare(_SCHEMA)
        self._store = store
        self._publish = publish
        self._deployments = deployments
        self._checkpoints = checkpoints
        self._base_model_of = base_model_of

    def get_model(self, name: str) -> dict[str, Any]:
        parent, model_id = split_name(name, "models")
        with self._store.lock:
            self._publish()
            return self._json(self._row(parent, model_id, name))

    def list_models(self, parent: str, *, filter_text: str = "", page_size: int | None = None,
             page_token: str = "") -> dict[str, Any]:
        """GET {parent}/models: oldest first, paged; filters by display_name and labels."""
        if page_size is not None and page_size < 0:
            raise InvalidRequest(f"page_size must not be negative; got {page_size}.")
        matches = _parse_filter(filter_text)
        size = min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        after = _key_from_token(page_token) if page_token else None
        with self._store.lock:
            self._publish()
            rows = self._store.all("SELECT * FROM models WHERE parent = ? ORDER BY create_time, id", (parent,))
            found = [((row["create_time"], row["id"]), self._json(row)) for row in rows]
        found = [(key, model) for key, model in found
                 if (after is None or key > after) and all(match(model) for match in matches)]
        answer: dict[str, Any] = {"models": [model for _, model in found[:size]]} if found else {}
        if len(found) > size:
            created, model_id = found[size - 1][0]
            answer["nextPageToken"] = encode_page_token(f"{created!r}/{model_id}")
        return answer

    def delete_model(self, name: str) -> dict[str, Any]:
        """DELETE models/ID: refused while any endpoint serves the model (checkpoints too)."""
        parent, model_id = split_name(name, "models")
        with self._store.lock:
            self._publish()
            row = self._row(parent, model_id, name)
            serving = sorted({endpoint for endpoint, _ in self._deployments(parent, row["id"])})
            if serving:
                raise failed_precondition(
                    f"Model {parent}/models/{row['id']} is deployed or being deployed at the "
                    f"following Endpoint(s): {', '.join(serving)}. Undeploy it from every "
                    "endpoint before deleting it."
                )
            self._store.execute("DELETE FROM models WHERE parent = ? AND id = ?", (parent, row["id"]))
        return done_operation(self._store, parent, "DeleteOperationMetadata", "google.protobuf.Empty")

    # --- for the other resources -------------------------------------------------------------

    def add_tuned(self, record: JobRecord, ended: float) -> None:
        """The model a succeeded job produced (in the caller's transaction)."""
        self._store.execute(
            "INSERT INTO models VALUES (?, ?, ?, ?, ?)",
            (record.parent, record.plan["model"], record.plan["displayName"], record.id, ended),
        )

    def job_of_name(self, name: str) -> str | None:
        """The id of the job that produced the model `name` (any version), if it exists."""
        with self._store.lock:
            self._publish()
            try:
                parent, model_id = split_name(name, "models")
                return str(self._row(parent, model_id, name)["job_id"])
            except NotFound:
                return None

    def job_of(self, parent: str, model_id: str) -> str | None:
        """The id of the tuning job that produced the model, if the model exists."""
        row = self._store.one("SELECT job_id FROM models WHERE parent = ? AND id = ?", (parent, model_id))
        return str(row["job_id"]) if row is not None else None

    # --- rows and their JSON -------------------------------------------------------------------

    def _row(self, parent: str, model_id: str, name: str) -> sqlite3.Row:
        bare_id, _, version = model_id.partition("@")
        row = self._store.one("SELECT * FROM models WHERE parent = ? AND id = ?", (parent, bare_id))
        if row is None or version not in ("", MODEL_VERSION, "default"):
            raise NotFound(f"Model {name} does not exist.")
        return row

    def _json(self, row: sqlite3.Row) -> dict[str, Any]:
        parent, created = row["parent"], rfc3339(row["create_time"])
        model: dict[str, Any] = {
            "name": f"{parent}/models/{row['id']}",
            "displayName": row["display_name"],
            "versionId": MODEL_VERSION,
            "versionAliases": ["default"],
            "createTime": created,
            "updateTime": created,
            "versionCreateTime": created,
            "versionUpdateTime": created,
        }
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
        deployed = self._deployments(parent, row["id"])
        if deployed:
            # DeployedModelRef has exactly these two fields.
            model["deployedModels"] = [{"endpoint": e, "deployedModelId": d} for e, d in deployed]
        return model


def _parse_filter(text: str) -> list[Callable[[dict[str, Any]], bool]]:
    """Predicates for display_name="X" and labels.K="V" clauses joined by AND."""
    matches: list[Callable[[dict[str, Any]], bool]] = []
    for clause in re.split(r"\s+AND\s+", text.strip()) if text.strip() else []:
        match = _FILTER_CLAUSE.fullmatch(clause.strip())
        if not match:
            raise InvalidRequest(
                f"Unsupported filter {clause!r}: the emulator understands display_name=\"NAME\" "
                "and labels.KEY=\"VALUE\", joined by AND."
            )
        value = match["quoted"] if match["quoted"] is not None else match["bare"]
        if match["field"] == "display_name":
            matches.append(functools.partial(_field_is, "displayName", value))
        else:
            matches.append(functools.partial(_label_is, match["field"].removeprefix("labels."), value))
    return matches


def _field_is(field: str, value: str, model: dict[str, Any]) -> bool:
    return bool(model.get(field) == value)


def _label_is(key: str, value: str, model: dict[str, Any]) -> bool:
    return bool(model.get("labels", {}).get(key) == value)


def _key_from_token(token: str) -> tuple[float, str]:
    created, _, model_id = decode_page_token(token).partition("/")
    try:
        return float(created), model_id
    except ValueError:
        raise InvalidRequest(f"Invalid page token {token!r}.") from None
