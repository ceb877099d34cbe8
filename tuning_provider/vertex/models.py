"""Tuned models and the endpoints that serve them: whether a job's model serves, what it was
tuned from, asking it a question, and removing what a finished job produced.

Removal is idempotent and says what it did: each endpoint and the model version is reported
deleted (by this call, an answer lost on the way back included) or already gone, never one
for the other, so a repeated delete claims no deletion.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from tuning_provider import catalog
from tuning_provider.connection import Connection
from tuning_provider.errors import Conflict, InvalidRequest, ModelVersionKept, NotFound, PermissionDenied
from tuning_provider.lazy import lazy_module
from tuning_provider.names import ModelName
from tuning_provider.records import JobRecord, JobState
from tuning_provider.vertex.boundary import DEFAULT_RETRY, Removal, RetryPolicy, call, removal
from tuning_provider.vertex.client import rest, with_client

if TYPE_CHECKING:
    from google.genai import types
else:
    types = lazy_module("google.genai.types")

__all__ = [
    "BASE_MODEL_LABEL",
    "HOLDER_ALIAS_PREFIX",
    "Removed",
    "TunedModelRemoval",
    "delete_tuned_model",
    "generate_content",
    "hold_tuned_model",
    "release_tuned_model",
    "serving_problem",
    "tuned_model_base",
    "tuned_model_holders",
]

# The label Vertex puts on a tuned model naming its Google base model (google-genai reads it
# as Model.tuned_model_info.base_model).
BASE_MODEL_LABEL = "google-vertex-llm-tuning-base-model-id"
# The alias Vertex keeps on exactly one version of every model: what the bare name serves.
_DEFAULT_ALIAS = "default"
# Vertex answered, and said no: reported, and the rest goes on. Anything else (an outage past
# its tolerance, no credentials) fails the removal, so that it is tried again, not forgotten.
_REFUSALS = (InvalidRequest, Conflict, PermissionDenied)


def serving_problem(conn: Connection, job: JobRecord, retry: RetryPolicy = DEFAULT_RETRY) -> str | None:
    """Why a finished job's tuned model cannot answer, or None when it can: the model version
    the job produced (models/ID@VERSION: continuous tuning adds versions to one model, so the
    model existing says nothing of this job's version) and its endpoint must exist, and the
    endpoint must have a model deployed."""
    if job.state is not JobState.SUCCEEDED:
        return f"it ended {job.state}"
    model, endpoint = job.outputs.tuned_model_name, job.outputs.tuned_model_endpoint
    if not model or not endpoint:
        return "Vertex reports no tuned model and endpoint for it"
    try:
        call(f"reading tuned model {model}", lambda: with_client(conn, lambda c: c.models.get(model=model)), retry)
    except NotFound:
        return f"its tuned model version {model} was deleted"
    try:
        info = call(f"reading endpoint {endpoint}", lambda: rest(conn, "get", endpoint), retry)
    except NotFound:
        return f"its endpoint {endpoint} was deleted"
    if not info.get("deployedModels"):
        return f"its endpoint {endpoint} serves no model (undeployed)"
    return None


def tuned_model_base(conn: Connection, model: str, retry: RetryPolicy = DEFAULT_RETRY) -> str | None:
    """The catalog id of the Google base model a tuned model was tuned from, read from the
    label Vertex puts on tuned models; None if it carries none. NotFound if there is no model."""
    found = call(f"reading tuned model {model}", lambda: with_client(conn, lambda c: c.models.get(model=model)), retry)
    label = found.tuned_model_info.base_model if found.tuned_model_info else None
    return _base_model_from_label(label) if label else None


def _base_model_from_label(value: str) -> str:
    # A label value allows no dots: the id is written with them replaced (by "-" or "_"; which
    # one Vertex uses for Gemini ids is unconfirmed), so compare with both spelled alike.
    def key(name: str) -> str:
        return re.sub(r"[._@]", "-", name.lower())

    return next((m for m in catalog.MODELS if key(m) == key(value)), value)


def generate_content(
    conn: Connection,
    endpoint: str,
    prompt: str,
    *,
    system: str | None = None,
    temperature: float | None = None,
    top_p: float | None = None,
    top_k: float | None = None,
    max_output_tokens: int | None = None,
    retry: RetryPolicy = DEFAULT_RETRY,
) -> str:
    """Ask a tuned model (its endpoint) one question and return the answer's text.
    The thinking budget is 0: tuned models answer the tuned task directly."""
    config = types.GenerateContentConfig(
        system_instruction=system,
        temperature=temperature,
        top_p=top_p,
        top_k=top_k,
        max_output_tokens=max_output_tokens,
        thinking_config=types.ThinkingConfig(thinking_budget=0),
    )
    response = call(
        f"asking {endpoint}",
        lambda: with_client(conn, lambda c: c.models.generate_content(model=endpoint, contents=prompt, config=config)),
        retry,
    )
    return response.text or ""


# --- removing what a job produced ------------------------------------------------------------


@dataclass(frozen=True)
class Removed:
    """One thing a removal dealt with: an endpoint or the tuned model (version), and whether
    this removal deleted it or found it gone."""

    kind: str  # "endpoint", "tuned model", "tuned model version"
    name: str
    outcome: Removal

    def line(self) -> str:
        """"deleted endpoint E", or "endpoint E was already gone"."""
        if self.outcome is Removal.DELETED:
            return f"deleted {self.kind} {self.name}"
        return f"{self.kind} {self.name} was already gone"


@dataclass(frozen=True)
class TunedModelRemoval:
    """What `delete_tuned_model` did: each endpoint and the model version, in order, and one
    sentence per thing Vertex refused (left in place, for the caller to report)."""

    removed: tuple[Removed, ...] = ()
    problems: tuple[str, ...] = ()

    @property
    def deleted(self) -> tuple[Removed, ...]:
        """What this removal deleted (nothing when everything was gone already)."""
        return tuple(r for r in self.removed if r.outcome is Removal.DELETED)


def delete_tuned_model(conn: Connection, job: JobRecord, retry: RetryPolicy = DEFAULT_RETRY) -> TunedModelRemoval:
    """Remove what a finished job produced, and nothing else: undeploy its tuned model version
    from every endpoint of the job (checkpoint endpoints first), delete those endpoints, then
    the version: DeleteModelVersion when the model holds versions other jobs produced
    (continuous tuning), DeleteModel when the job's version is the model's only one.

    Raises ModelVersionKept, before anything is touched, when the version holds the model's
    `default` alias while other versions exist (Vertex keeps one version the default, and
    DeleteModel would take the others), and when Vertex refuses DeleteModelVersion. Every call
    is safe to repeat: what is gone is reported already gone, and a delete whose answer was
    lost is reported deleted.
    """
    problems: list[str] = []
    removed: list[Removed] = []
    named = job.outputs.tuned_model_name
    model = ModelName.parse(named) if named else None
    if named and model is None:
        problems.append(f"could not delete tuned model {named}: it is not a model's resource name")
    if model:
        _refuse_a_default_version_with_siblings(conn, model, retry)
    main = job.outputs.tuned_model_endpoint
    endpoints = [c.endpoint for c in job.outputs.checkpoints if c.endpoint and c.endpoint != main]
    # The endpoint that serves goes last: a removal stopped halfway leaves it serving.
    for endpoint in dict.fromkeys([*endpoints, *([main] if main else [])]):
        try:
            removed.append(Removed("endpoint", endpoint, _delete_endpoint(conn, endpoint, retry)))
        except _REFUSALS as exc:
            problems.append(f"could not delete endpoint {endpoint}: {exc.message}")
    if model:
        try:
            removed.append(_delete_model_version(conn, model, retry))
        except _REFUSALS as exc:
            problems.append(f"could not delete tuned model {model.model}: {exc.message}")
    return TunedModelRemoval(tuple(removed), tuple(problems))


def _delete_endpoint(conn: Connection, endpoint: str, retry: RetryPolicy) -> Removal:
    try:
        info = call(f"reading endpoint {endpoint}", lambda: rest(conn, "get", endpoint), retry)
    except NotFound:
        return Removal.ALREADY_GONE
    for deployed in info.get("deployedModels", []):
        # Already undeployed (an earlier attempt's answer lost) is as good as undeployed now.
        removal(f"undeploying model {deployed.get('id')} from {endpoint}",
                functools.partial(rest, conn, "post", f"{endpoint}:undeployModel", {"deployedModelId": deployed["id"]}),
                retry)
    return removal(f"deleting endpoint {endpoint}", functools.partial(rest, conn, "delete", endpoint), retry)


def _model_versions(conn: Connection, model_path: str, retry: RetryPolicy) -> list[dict[str, Any]]:
    """Every version of a model (ListModelVersions, page by page); [] when the model is gone."""
    versions: list[dict[str, Any]] = []
    token = ""
    while True:
        path = f"{model_path}:listVersions" + (f"?{urlencode({'pageToken': token})}" if token else "")
        try:
            page = call(f"listing the versions of {model_path}", functools.partial(rest, conn, "get", path), retry)
        except NotFound:
            return []
        versions += page.get("models", [])
        token = page.get("nextPageToken", "")
        if not token:
            return versions


def _split_versions(
    versions: list[dict[str, Any]], version: str
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """(the version named `version`, or the default one when it is empty; the others)."""
    def is_ours(v: dict[str, Any]) -> bool:
        return v.get("versionId") == version if version else _DEFAULT_ALIAS in v.get("versionAliases", [])

    ours = next((v for v in versions if is_ours(v)), None)
    return ours, [v for v in versions if v is not ours]


def _refuse_a_default_version_with_siblings(conn: Connection, model: ModelName, retry: RetryPolicy) -> None:
    path = model.model
    ours, others = _split_versions(_model_versions(conn, path, retry), model.version)
    if ours is not None and others and _DEFAULT_ALIAS in ours.get("versionAliases", []):
        raise _default_version_kept(path, ours, others)


def _default_version_kept(path: str, ours: dict[str, Any], others: list[dict[str, Any]]) -> ModelVersionKept:
    staying = f"{path}@{others[-1].get('versionId')}"
    listed = ", ".join(f"@{v.get('versionId')}" for v in others)
    return ModelVersionKept(
        f"{path}@{ours.get('versionId')}",
        f"it holds the model's '{_DEFAULT_ALIAS}' alias and the model has other versions ({listed}), made by "
        "other tuning jobs: Vertex keeps one version the default, so this one cannot be deleted alone, and "
        "deleting the whole model would take the others down",
        "Nothing was deleted (a TuningJob holding this job stays in the stack). Move the alias to a version that stays "
        f"(aiplatform_v1.ModelServiceClient().merge_version_aliases(name=\"{staying}\", "
        "version_aliases=[\"default\"]), or POST "
        f"{staying}:mergeVersionAliases with {{\"versionAliases\": [\"default\"]}}) and run the command again; "
        "or leave this version in Vertex: `pulumi state delete` the resource (or, while it is still in the "
        "program, set retain_on_delete on it)",
    )


def _delete_model_version(conn: Connection, model: ModelName, retry: RetryPolicy) -> Removed:
    """The job's model version deleted (or found gone): with DeleteModel when it is the model's
    only version (deleteVersion refuses the only one), else with DeleteModelVersion."""
    path = model.model
    # Listed again, just before deleting: a version made since the check counts.
    ours, others = _split_versions(_model_versions(conn, path, retry), model.version)
    named = f"{path}@{model.version}" if model.version else path
    if ours is None:
        return Removed("tuned model", named, Removal.ALREADY_GONE)
    if not others:
        # A version tuned from it in between would be deployed, and DeleteModel is refused then.
        outcome = removal(f"deleting tuned model {path}",
                          lambda: with_client(conn, lambda c: c.models.delete(model=path)), retry)
        return Removed("tuned model", named, outcome)
    if _DEFAULT_ALIAS in ours.get("versionAliases", []):
        raise _default_version_kept(path, ours, others)
    name = f"{path}@{ours.get('versionId')}"
    try:
        outcome = removal(f"deleting tuned model version {name}",
                          functools.partial(rest, conn, "delete", f"{name}:deleteVersion"), retry)
    except _REFUSALS as exc:
        raise ModelVersionKept(
            name, f"Vertex refused to delete it: {exc.message}",
            "Its endpoints are deleted; a TuningJob holding this job stays in the stack. Deal with what Vertex "
            "names and run the command again, or leave this version in Vertex: `pulumi state delete` the "
            "resource (or, while it is still in the program, set retain_on_delete on it)",
        ) from exc
    return Removed("tuned model version", name, outcome)


# --- the resources that serve a model version --------------------------------------------

# The version aliases of the TuningJob resources serving a model version start so (lifecycle).
HOLDER_ALIAS_PREFIX = "pulumi-held-"


def _held_version(job: JobRecord) -> str | None:
    """The model version (models/ID@VERSION) a succeeded job produced, or None."""
    model = ModelName.parse(job.outputs.tuned_model_name or "")
    return str(model) if model is not None and model.version else None


def hold_tuned_model(conn: Connection, job: JobRecord, alias: str, retry: RetryPolicy = DEFAULT_RETRY) -> None:
    """Put the version alias `alias` on the model version the job produced (MergeVersionAliases):
    a record, in Vertex, of one more resource that serves it. Safe to repeat."""
    version = _held_version(job)
    if version is not None:
        call(f"adding version alias {alias} to tuned model {version}",
             functools.partial(rest, conn, "post", f"{version}:mergeVersionAliases", {"versionAliases": [alias]}),
             retry)


def release_tuned_model(conn: Connection, job: JobRecord, alias: str, retry: RetryPolicy = DEFAULT_RETRY) -> list[str]:
    """Take the version alias `alias` off the model version the job produced, and return the
    holder aliases (HOLDER_ALIAS_PREFIX) other resources keep on it; [] when the version is gone.
    Each resource adds and removes only its own alias, so two releasing at once never lose one;
    a release repeated after a lost answer finds its alias gone and removes nothing more."""
    version = _held_version(job)
    if version is None:
        return []
    try:
        aliases = _version_aliases(conn, version, retry)
        if alias in aliases:
            found = call(f"removing version alias {alias} from tuned model {version}",
                         functools.partial(rest, conn, "post", f"{version}:mergeVersionAliases",
                                           {"versionAliases": [f"-{alias}"]}), retry)
            aliases = list(found.get("versionAliases", []))
    except NotFound:
        return []
    return [a for a in _holders(aliases) if a != alias]


def tuned_model_holders(conn: Connection, job: JobRecord, retry: RetryPolicy = DEFAULT_RETRY) -> list[str]:
    """The holder aliases (HOLDER_ALIAS_PREFIX) on the model version the job produced: one for
    each TuningJob resource that serves it from a stack; [] when none does or the version is gone."""
    version = _held_version(job)
    if version is None:
        return []
    try:
        return _holders(_version_aliases(conn, version, retry))
    except NotFound:
        return []


def _version_aliases(conn: Connection, version: str, retry: RetryPolicy) -> list[str]:
    """The version aliases on a model version (models/ID@VERSION). Raises NotFound when it is gone."""
    found = call(f"reading tuned model {version}", functools.partial(rest, conn, "get", version), retry)
    return list(found.get("versionAliases", []))


def _holders(aliases: list[str]) -> list[str]:
    return [a for a in aliases if a.startswith(HOLDER_ALIAS_PREFIX)]
