"""What create decides about a tuning job before it is stored (see tuning_jobs): the up-front
checks Vertex answers with 400 INVALID_ARGUMENT (`JobCreation.check`), then the outcome, once
(`decide_outcome`: Vertex's failure message, or the data stats and the examples the tuned
model will answer from), and the ids of what a succeeding job will produce (`plan_outputs`).
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any, Literal

from tuning_provider import catalog
from tuning_provider.dataset import DatasetKind, DatasetReport
from tuning_provider.dataset import validate_dataset as validate_dataset_file
from tuning_provider.emulator.formats import GCS_URI, rfc3339
from tuning_provider.emulator.gcs import GcsStore
from tuning_provider.emulator.vertex import responder
from tuning_provider.emulator.vertex.datasets import DatasetRequests
from tuning_provider.emulator.vertex.store import Store
from tuning_provider.errors import ApiError, InvalidRequest, NotFound, TuningError

__all__ = [
    "BATCH_SIZE",
    "CONTINUOUS_TUNING_SINCE",
    "DEFAULT_EPOCH_COUNT",
    "DatasetValidator",
    "JobCreation",
    "JobRequest",
    "TunedSource",
]

# Epochs when the request leaves epochCount unset (Vertex picks by dataset size; the
# emulator always picks this). The echoed hyperParameters stay as sent.
DEFAULT_EPOCH_COUNT = 3
# Examples per tuning step: tuningStepCount = ceil(examples / BATCH_SIZE) * epochs.
BATCH_SIZE = 8

# The TuningJob fields a client may set; output-only fields are ignored when sent, as Vertex
# does (the reading layer has already refused names that are no TuningJob field).
_CREATE_FIELDS = frozenset(
    {"baseModel", "supervisedTuningSpec", "tunedModelDisplayName", "description", "labels",
     "encryptionSpec", "serviceAccount", "outputUri", "preTunedModel"}
)
# Only models tuned from this day on can be tuned further (the continuous tuning page).
CONTINUOUS_TUNING_SINCE = dt.datetime(2025, 7, 11, tzinfo=dt.UTC)

# TuningJob fields of the kinds of tuning the emulator does not imitate.
_UNSUPPORTED_FIELDS = frozenset(
    {"customBaseModel", "preferenceOptimizationSpec", "distillationSpec",
     "reinforcementTuningSpec", "fullFineTuningSpec", "veoTuningSpec", "veoLoraTuningSpec",
     "partnerModelTuningSpec"}
)

_SAMPLING_COUNT_RANGE = (1, 32)
_LABEL_KEY = re.compile(r"[a-z][a-z0-9_-]{0,62}")
_LABEL_VALUE = re.compile(r"[a-z0-9_-]{0,63}")
_TUNED_MODEL = re.compile(r"(?P<parent>projects/[^/]+/locations/(?P<location>[^/]+))/models/(?P<id>[^/@]+)(?:@[^/@]+)?")
_VERTEX_DATASET = re.compile(r"projects/[^/]+/locations/(?P<location>[^/]+)/datasets/[^/]+")
_KMS_KEY = re.compile(r"projects/[^/]+/locations/(?P<location>[^/]+)/keyRings/[^/]+/cryptoKeys/[^/]+")

# The project's one dataset validator, `tuning_provider.dataset.validate_dataset`, unless a
# test injects another with its signature.
DatasetValidator = Callable[..., DatasetReport]


@dataclass(frozen=True)
class TunedSource:
    """What continuous tuning reads of a tuned model version: the Google base model under it,
    its checkpoints, the examples it answers from (the new model learns both sets), the model
    it belongs to (id and display name: a new version goes under it), when the version was
    made, and the CMEK key its job used."""

    base_model: str
    checkpoint_ids: tuple[str, ...]
    examples: list[responder.Example]
    model_id: str = ""
    display_name: str = ""
    created: float = 0.0
    kms_key_name: str | None = None


# Resolves a tuned model's resource name to its TunedSource; None when there is no such model.
TunedModelLookup = Callable[[str], TunedSource | None]
# A Vertex multimodal dataset's rows as Gemini requests (`Datasets.tuning_requests`).
VertexDatasetReader = Callable[[str], DatasetRequests]


@dataclass(frozen=True)
class _Data:
    """A job's training or validation data, found: what the validator reads and what the
    tuned model learns, from a gs:// file or a multimodal dataset's rows."""

    unit: Literal["line", "row"]
    path: str | None = None  # the local file behind a gs:// URI
    content: bytes = b""  # a dataset's requests as JSONL, one line a row

    def source(self) -> str | IO[bytes]:
        return self.path if self.path is not None else io.BytesIO(self.content)

    def lines(self) -> Iterator[bytes]:
        if self.path is None:
            yield from self.content.splitlines()
            return
        with open(self.path, "rb") as file:  # streamed: a training file may be a gigabyte
            yield from file


@dataclass(frozen=True)
class JobRequest:
    """A create request after the up-front checks."""

    echo: dict[str, Any]  # the inputs as the job shows them back
    base_model: str  # bare id
    training_uri: str
    validation_uri: str | None
    epochs: int
    adapter_size: str | None
    export_last_checkpoint_only: bool
    # Continuous tuning: the tuned model version it starts from.
    source: TunedSource | None
    # Evaluation after tuning: where its results go (gs:// prefix), if asked for.
    evaluation_output: str | None


class JobCreation:
    """The checks and decisions of CreateTuningJob, over the buckets (`gcs`), the dataset
    validator, the tuned models continuous tuning starts from (`tuned_model`) and the
    multimodal datasets' rows (`vertex_dataset`)."""

    def __init__(
        self,
        store: Store,
        gcs: GcsStore,
        *,
        validate_dataset: DatasetValidator | None = None,
        tuned_model: TunedModelLookup | None = None,
        vertex_dataset: VertexDatasetReader | None = None,
    ) -> None:
        self._store = store
        self._gcs = gcs
        self._validate = validate_dataset or validate_dataset_file
        self._tuned_model: TunedModelLookup = tuned_model or (lambda _name: None)
        self._vertex_dataset = vertex_dataset

    def check(self, parent: str, body: Mapping[str, Any]) -> JobRequest:
        """The up-front checks Vertex answers with 400 INVALID_ARGUMENT."""
        location = parent.rsplit("/", 1)[-1]
        unsupported = sorted(_UNSUPPORTED_FIELDS & set(body))
        if unsupported:
            raise InvalidRequest(
                f"The emulator imitates supervised tuning of a base model only; {unsupported[0]} "
                "is not supported here (use baseModel and supervisedTuningSpec)."
            )
        if location not in catalog.TUNING_REGIONS:
            raise InvalidRequest(
                f"Location {location} is not supported for Gemini supervised tuning: use a "
                "regional location such as us-central1 or europe-west4."
            )
        source = self._pre_tuned_source(body, location) if "preTunedModel" in body else None
        model = self._base_model(source.base_model if source else body.get("baseModel"), location)

        spec = body.get("supervisedTuningSpec") or {}
        if not spec.get("trainingDatasetUri"):
            raise InvalidRequest(
                "supervised_tuning_spec.training_dataset_uri is required: the gs:// URI of the "
                "training dataset."
            )
        training_uri = _dataset_uri(spec["trainingDatasetUri"], "training_dataset_uri", location)
        validation_uri = (
            _dataset_uri(spec["validationDatasetUri"], "validation_dataset_uri", location)
            if spec.get("validationDatasetUri") else None
        )
        hyper = spec.get("hyperParameters") or {}
        epochs = int(hyper["epochCount"]) if "epochCount" in hyper else None
        if epochs is not None and epochs < 1:
            raise InvalidRequest(f"epoch_count must be at least 1; got {epochs}.")
        multiplier = hyper.get("learningRateMultiplier")
        if multiplier is not None and not (isinstance(multiplier, float) and multiplier > 0):
            raise InvalidRequest(f"learning_rate_multiplier must be a number above 0; got {multiplier!r}.")
        adapter_size = hyper.get("adapterSize")
        if adapter_size == "ADAPTER_SIZE_UNSPECIFIED":
            adapter_size = None

        display_name = body.get("tunedModelDisplayName")
        if display_name is not None and len(display_name) > catalog.MAX_DISPLAY_NAME_CHARS:
            raise InvalidRequest(
                f"tuned_model_display_name must be a string of at most {catalog.MAX_DISPLAY_NAME_CHARS} "
                f"characters; got {len(display_name)}."
            )
        evaluation_output = _check_evaluation(spec.get("evaluationConfig"), location)
        _check_labels(body.get("labels"))
        _check_encryption(body.get("encryptionSpec"), location, model)

        # Proto3 JSON leaves default values out: an empty string, false or {} is not echoed.
        echo = _without_defaults({k: v for k, v in body.items() if k in _CREATE_FIELDS})
        if source:
            # baseModel is output only in a PreTunedModel: Vertex fills it in.
            echo["preTunedModel"] = {**echo["preTunedModel"], "baseModel": source.base_model}
        return JobRequest(
            echo=echo,
            base_model=model.id,
            training_uri=training_uri,
            validation_uri=validation_uri,
            epochs=epochs or DEFAULT_EPOCH_COUNT,
            adapter_size=adapter_size,
            export_last_checkpoint_only=bool(spec.get("exportLastCheckpointOnly")),
            source=source,
            evaluation_output=evaluation_output,
        )

    def _base_model(self, base_model: Any, location: str) -> catalog.BaseModelInfo:
        """The catalog's entry for the base model to tune, if it can be tuned today in `location`."""
        if not isinstance(base_model, str) or not base_model:
            raise InvalidRequest("base_model is required: the Gemini model to tune, such as gemini-3.5-flash.")
        model = catalog.find_model(base_model)
        # Which models can be tuned is a matter of the day: the emulator's clock says which.
        today = dt.datetime.fromtimestamp(self._store.clock(), dt.UTC).date()
        supported = ", ".join(catalog.tunable_model_ids(today))
        if model is None:
            raise InvalidRequest(
                f"Base model {base_model} is not supported for supervised tuning. Supported models: {supported}."
            )
        if catalog.lifecycle(model, today) == "retired":
            retired_on = model.retirement.on.isoformat() if model.retirement and model.retirement.on else "earlier"
            raise InvalidRequest(
                f"Base model {model.id} was retired on {retired_on} and can no longer be tuned. "
                f"Supported models: {supported}."
            )
        if location not in model.regions:
            raise InvalidRequest(
                f"Base model {model.id} cannot be tuned in {location}; it can be tuned in "
                f"{', '.join(sorted(model.regions))}."
            )
        return model

    def _pre_tuned_source(self, body: Mapping[str, Any], location: str) -> TunedSource:
        """The tuned model a continuous-tuning request starts from, checked as Vertex does."""
        if body.get("baseModel"):
            raise InvalidRequest(
                "Invalid JSON payload received. Oneof field 'source_model' is already set: give "
                "base_model or pre_tuned_model, not both."
            )
        pre_tuned = body["preTunedModel"]
        name = pre_tuned.get("tunedModelName") or ""
        match = _TUNED_MODEL.fullmatch(name)
        if not match:
            raise InvalidRequest(
                "pre_tuned_model.tuned_model_name must be a model resource name of the form "
                f"projects/P/locations/L/models/M (optionally @VERSION); got {name!r}."
            )
        if match["location"] != location:
            raise InvalidRequest(
                f"The tuned model {name} is in {match['location']}, but the tuning job is in "
                f"{location}: continuous tuning runs in the tuned model's region."
            )
        source = self._tuned_model(name)
        if source is None:
            raise NotFound(f"Model {name} does not exist.")
        checkpoint = pre_tuned.get("checkpointId")
        if checkpoint and checkpoint not in source.checkpoint_ids:
            raise InvalidRequest(
                f"Checkpoint {checkpoint} does not exist in model {name}; its checkpoints are "
                f"{', '.join(source.checkpoint_ids) or 'none'}."
            )
        if source.created < CONTINUOUS_TUNING_SINCE.timestamp():
            raise InvalidRequest(
                f"Model {name} was tuned on {rfc3339(source.created)[:10]}: only models tuned with "
                f"supervised tuning on or after {CONTINUOUS_TUNING_SINCE:%Y-%m-%d} can be tuned further."
            )
        key = (body.get("encryptionSpec") or {}).get("kmsKeyName")
        if source.kms_key_name and key != source.kms_key_name:
            raise InvalidRequest(
                f"Model {name} is encrypted with {source.kms_key_name}: a job tuning it further must use "
                f"the same key in encryption_spec.kms_key_name; got {key or 'none'}."
            )
        return source

    def decide_outcome(
        self, request: JobRequest
    ) -> tuple[str | None, dict[str, Any] | None, list[responder.Example], list[responder.Example]]:
        """Vertex's error message if the job is to fail, else its data stats, its training
        examples and its validation examples."""
        model = catalog.MODELS[request.base_model]
        if request.adapter_size and catalog.adapter_size_number(request.adapter_size) not in model.adapter_sizes:
            supported = ", ".join(catalog.ADAPTER_SIZES[n] for n in model.adapter_sizes)
            return (
                "The adapter size is not supported for this base model. "
                f"{request.adapter_size} cannot be used with {model.id}; supported: {supported}.",
                None, [], [],
            )
        datasets: list[tuple[DatasetKind, str]] = [("training", request.training_uri)]
        if request.validation_uri:
            datasets.append(("validation", request.validation_uri))
        found: dict[str, _Data] = {}
        for kind, uri in datasets:
            data = self._find_data(kind, uri)
            if isinstance(data, str):
                return (data, None, [], [])
            found[kind] = data
        reports: dict[str, DatasetReport] = {}
        for kind, uri in datasets:
            try:
                report = self._validate(found[kind].source(), kind=kind, base_model=model.id)
            except TuningError as exc:
                return (f"Failed to read the {kind} dataset {uri}: {exc}", None, [], [])
            if not report.ok:
                return (_dataset_failure(kind, uri, report, found[kind].unit), None, [], [])
            reports[kind] = report
        training = reports["training"]
        steps_per_epoch = max(1, math.ceil(training.examples / BATCH_SIZE))
        stats = {
            "tuningDatasetExampleCount": str(training.examples),
            "totalTuningCharacterCount": str(training.characters),
            "totalBillableCharacterCount": str(training.characters),
            "totalBillableTokenCount": str(training.estimated_tokens),
            "tuningStepCount": str(steps_per_epoch * request.epochs),
        }
        examples = [
            *responder.examples_from_lines(found["training"].lines()),
            *(request.source.examples if request.source else []),
        ]
        validation = responder.examples_from_lines(found["validation"].lines()) if "validation" in found else []
        return None, stats, examples, validation

    def _find_data(self, kind: DatasetKind, uri: str) -> _Data | str:
        """The data at `uri`, or Vertex's reason the job fails when it cannot be read."""
        if not _VERTEX_DATASET.fullmatch(uri):
            path = self._gcs.local_path(uri)
            if not path.is_file():
                return f"Failed to read the {kind} dataset: {uri} does not exist."
            return _Data("line", path=str(path))
        try:
            if self._vertex_dataset is None:
                raise NotFound(uri)
            requests = self._vertex_dataset(uri)
        except NotFound:
            return f"Failed to read the {kind} dataset: dataset {uri} does not exist."
        except ApiError as exc:
            return f"Failed to read the {kind} dataset: {exc.message}"
        if requests.problems:
            row, problem = next(iter(sorted(requests.problems.items())))
            more = len(requests.problems) - 1
            tail = f" ({more} more bad row{'s' if more != 1 else ''} in {requests.table})" if more else ""
            return f"The {kind} dataset {uri} is invalid: row {row} of {requests.table}: {problem}{tail}"
        return _Data("row", content=requests.jsonl())

    def plan_outputs(
        self, request: JobRequest, stats: dict[str, Any] | None, validation: list[responder.Example]
    ) -> dict[str, Any]:
        """The ids of what the job will produce, picked now so they never change, and what
        its validation set holds (for the eval metrics)."""
        steps_per_epoch = int(stats["tuningStepCount"]) // request.epochs if stats else 1
        epochs = range(1, request.epochs + 1)
        kept = [request.epochs] if request.export_last_checkpoint_only else list(epochs)
        given = request.echo.get("tunedModelDisplayName")
        source = request.source
        # A new version of the model it starts from (no new display name), or a new model.
        continues = source if source is not None and given in (None, source.display_name) else None
        display = given or (continues.display_name if continues else f"{request.base_model}-tuned")
        return {
            "model": continues.model_id if continues else self._store.new_id(),
            "newVersion": continues is not None,
            "baseModel": request.base_model,
            "evaluationOutput": request.evaluation_output,
            "displayName": display,
            "epochs": request.epochs,
            "validationAnswers": [e.answer for e in validation],
            "checkpoints": [
                {
                    "checkpointId": str(epoch),
                    "epoch": str(epoch),
                    "step": str(steps_per_epoch * epoch),
                    "endpointId": self._store.new_id(),
                    "deployedModelId": self._store.new_id(),
                }
                for epoch in kept
            ],
        }


def _check_evaluation(config: dict[str, Any] | None, location: str) -> str | None:
    """The output prefix of an evaluation config Vertex accepts; InvalidRequest otherwise."""
    if not config:
        return None
    if location not in catalog.EVALUATION_REGIONS:
        raise InvalidRequest(
            f"Evaluation during tuning is supported only in {', '.join(sorted(catalog.EVALUATION_REGIONS))}; "
            f"this tuning job is in {location}."
        )
    if not config.get("metrics"):
        raise InvalidRequest("supervised_tuning_spec.evaluation_config.metrics must hold at least one metric.")
    prefix = config.get("outputConfig", {}).get("gcsDestination", {}).get("outputUriPrefix")
    if not isinstance(prefix, str) or not prefix.startswith("gs://"):
        raise InvalidRequest(
            "supervised_tuning_spec.evaluation_config.output_config.gcs_destination.output_uri_prefix "
            f"must be a Cloud Storage URI such as gs://BUCKET/PATH/; got {prefix!r}."
        )
    count = config.get("autoraterConfig", {}).get("samplingCount")
    low, high = _SAMPLING_COUNT_RANGE
    if count is not None and not low <= count <= high:
        raise InvalidRequest(
            f"supervised_tuning_spec.evaluation_config.autorater_config.sampling_count must be "
            f"between {low} and {high}; got {count}."
        )
    return prefix


def _without_defaults(value: Any) -> Any:
    """Proto3 JSON as Vertex writes it: fields at their default value are left out."""
    if isinstance(value, dict):
        kept = {k: _without_defaults(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v not in ("", False, {}, [], None)}
    return value


def _dataset_uri(value: Any, field: str, location: str) -> str:
    """A gs:// URI, or a Vertex dataset's resource name (google-genai sends a
    vertex_dataset_resource in the same field), which must be in the job's region."""
    dataset = _VERTEX_DATASET.fullmatch(value) if isinstance(value, str) else None
    if dataset is None:
        return _gcs_uri(value, field)
    if dataset["location"] != location:
        raise InvalidRequest(
            f"supervised_tuning_spec.{field}: the dataset {value} is in {dataset['location']}, but "
            f"the tuning job is in {location}: use a dataset in the job's region."
        )
    return str(value)


def _gcs_uri(value: Any, field: str) -> str:
    if not isinstance(value, str) or not GCS_URI.fullmatch(value):
        raise InvalidRequest(
            f"supervised_tuning_spec.{field} must be a Cloud Storage URI of the form "
            f"gs://BUCKET/OBJECT (a bucket name has 3 to 63 lowercase letters, digits, dashes, "
            f"underscores or dots); got {value!r}."
        )
    return value


def _check_labels(labels: Any) -> None:
    if labels is None:
        return
    if len(labels) > catalog.MAX_LABELS:
        raise InvalidRequest(f"A resource can have at most {catalog.MAX_LABELS} labels; got {len(labels)}.")
    for key, value in labels.items():
        if not _LABEL_KEY.fullmatch(key):
            raise InvalidRequest(
                f"Invalid label key {key!r}: a key must start with a lowercase letter and hold at "
                "most 63 lowercase letters, digits, underscores and dashes."
            )
        if not isinstance(value, str) or not _LABEL_VALUE.fullmatch(value):
            raise InvalidRequest(
                f"Invalid value {value!r} for label {key!r}: a value holds at most 63 lowercase "
                "letters, digits, underscores and dashes."
            )


def _check_encryption(spec: Any, location: str, model: catalog.BaseModelInfo) -> None:
    if spec is None:
        return
    key = spec.get("kmsKeyName")
    match = _KMS_KEY.fullmatch(key) if isinstance(key, str) else None
    if not match:
        raise InvalidRequest(
            "encryption_spec.kms_key_name must be a Cloud KMS key name of the form "
            f"projects/P/locations/L/keyRings/R/cryptoKeys/K; got {key!r}."
        )
    if not model.cmek:
        raise InvalidRequest(f"Customer-managed encryption keys are not supported for tuning {model.id}.")
    if match["location"] != location:
        raise InvalidRequest(
            f"The encryption key {key} is in {match['location']}, but the tuning job is in "
            f"{location}: the key must be in the job's region."
        )


def _dataset_failure(kind: str, uri: str, report: DatasetReport, unit: str = "line") -> str:
    """Vertex-like failure text naming the first bad line (of a file) or row (of a dataset's
    table, whose requests the validator reads one a line)."""
    first = report.errors[0] if report.errors else None
    where = f"{unit} {first.line}: " if first is not None and first.line else ""
    detail = first.message if first is not None else "it is not a valid tuning dataset"
    if unit == "row":
        detail = detail.replace("the line is", "the row's request is")
    more = report.error_count - 1
    container = "the file" if unit == "line" else "the dataset"
    tail = f" ({more} more error{'s' if more != 1 else ''} in {container})" if more > 0 else ""
    return f"The {kind} dataset {uri} is invalid: {where}{detail}{tail}"

