"""Checking a TuningJob's inputs before anything is paid for: what `pulumi preview` reports.

`check_inputs` judges the inputs by the spec, then (for a job about to run) against the world:
the gs:// training data read line by line (once per object version and machine), a named
Vertex dataset looked up, an adopted job looked up, a tuned base model's own base model looked
up, and the cost estimate held against the ceilings. It returns the (field, reason) problems and
the normalised inputs with the training data's token count filled in, for the provider to hand
to Pulumi. Lines that only inform (the cost line, a cached dataset verdict) are shown once per
resource and `pulumi` command (engine_log.progress(once=True)): the engine checks a replacement
twice, and `pulumi up` checks everything in its preview and again in its update.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any, NamedTuple

from tuning_provider import catalog, cost, engine_log, vertex
from tuning_provider.changes import InputChanges, contains_unknown, input_changes
from tuning_provider.connection import Connection
from tuning_provider.errors import DatasetError, NotFound, SpecError
from tuning_provider.names import DatasetName, ModelName, is_tuned_model, is_vertex_dataset
from tuning_provider.spec import TuningJobSpec, base_model_problems, spec_problems

__all__ = ["Checked", "Problem", "check_inputs"]

# (input field, sentence naming what is wrong and the fix)
Problem = tuple[str, str]
# What the cost estimate and its ceilings are made of.
_COST_FIELDS = frozenset({"training_dataset_tokens", "epoch_count", "base_model", "max_training_tokens",
                          "max_training_cost_usd", "price_per_million_training_tokens_usd", "resource_key"})
_LOWER_IT = "lower epoch_count or the training data, or raise the ceiling"


class Checked(NamedTuple):
    """The inputs to record (normalised when they are all known) and what is wrong with them."""

    inputs: dict[str, Any]
    problems: list[Problem]


# The Connection to a project and region (connection.connect with the provider's settings).
Connect = Callable[[str, str], Connection]


def check_inputs(olds: Mapping[str, Any], news: Mapping[str, Any], *, connect: Connect, today: date | None) -> Checked:
    """Judge `news` (the new inputs; `olds` the recorded ones, empty for a new resource).
    Vertex and Cloud Storage are reached as `connect` says for each project and region; base
    models are judged deprecated or retired on `today` (None: the real day)."""
    inputs = {k: v for k, v in news.items() if not k.startswith("__")}
    unknown = frozenset(k for k, v in inputs.items() if contains_unknown(v))
    problems = [(e.field, e.message) for e in spec_problems(inputs, unknown, today=today)]
    if not problems and unknown and not unknown & _COST_FIELDS and (
        not olds or InputChanges(tuple(unknown & set(TuningJobSpec.model_fields))).replacing  # unknown: changed
    ):
        # Data still to be uploaded in this preview (a new object): the cost is known anyway.
        known = TuningJobSpec.model_construct(**{k: v for k, v in inputs.items() if k not in unknown})
        problems += _cost_problems(known)
    if problems or unknown:
        return Checked(inputs, problems)
    spec = TuningJobSpec.model_validate(inputs)
    warning = catalog.deprecation_warning(spec.base_model, today)
    if warning:
        engine_log.progress(spec.resource_key, f"base_model: {warning}", warning=True)
    runs_a_job = _runs_a_job(olds, spec)
    conn = connect(spec.project, spec.location)
    # The data matters to a job about to run only: a trained job's dataset may be gone.
    if spec.validate_dataset and runs_a_job:
        problems, spec = _dataset_problems(spec, conn)
        problems += _vertex_dataset_problems(spec, conn)
    elif spec.training_dataset_tokens is None and olds.get("training_dataset_tokens") is not None:
        # The count the data check filled in when this job ran: the job and its data are the
        # same, so keep it rather than show it vanishing as a change on every later up.
        spec = spec.model_copy(update={"training_dataset_tokens": olds["training_dataset_tokens"]})
    if spec.existing_job_name:
        problems += _adoption_problems(spec, conn)
    if spec.evaluation_config and (problem := vertex.evaluation_config_problem(spec.evaluation_config)):
        problems.append(("evaluation_config", problem))
    if is_tuned_model(spec.base_model) and (spec.adapter_size or spec.kms_key_name):
        problems += _continuous_tuning_problems(spec, conn)
    if not problems and runs_a_job:
        problems += _cost_problems(spec)
    # Normalised inputs: later diffs then compare like with like.
    return Checked(spec.model_dump(), problems)


def _runs_a_job(olds: Mapping[str, Any], spec: TuningJobSpec) -> bool:
    """Whether these inputs create a job or replace the one of `olds` (the old inputs)."""
    if not olds:
        return True
    try:
        return bool(input_changes(olds, spec.model_dump()).replacing)
    except SpecError:
        return True  # old inputs this version no longer accepts: judge the new ones in full


def _show_once(spec: TuningJobSpec, line: str, *, warning: bool = False) -> None:
    """A check line, shown once per resource and `pulumi` command. Every line check shows is
    informational (the cost line, a dollar ceiling it cannot enforce, a cached dataset verdict,
    a Vertex dataset's rows left unread), and every one is repeated by the engine's repeated
    checks alike, so all are de-duplicated, not only the cost line; a problem is a
    CheckFailure instead, which Pulumi itself shows once."""
    engine_log.progress(spec.resource_key, line, warning=warning, once=True)


def _cost_problems(spec: TuningJobSpec) -> list[Problem]:
    """The cost line of a job about to be created, and the ceilings it breaks."""
    estimate = cost.job_estimate(spec)
    if estimate is None:
        uri = getattr(spec, "training_dataset_uri", None)  # absent: still to be uploaded in this preview
        why = ("the data is not uploaded yet" if not isinstance(uri, str)
               else "check does not read a Vertex dataset's rows" if is_vertex_dataset(uri)
               else "validate_dataset is off")
        line = f"no training-token estimate: the training data's token count is not known ({why}): give " \
               "training_dataset_tokens"
    else:
        line = estimate.line()
    _show_once(spec, line)
    return _ceiling_problems(spec, estimate)


def _ceiling_problems(spec: TuningJobSpec, estimate: cost.TrainingCostEstimate | None) -> list[Problem]:
    """(field, sentence) per cost ceiling the estimate breaks, or cannot be checked against.
    A dollar ceiling with no price (neither given as price_per_million_training_tokens_usd nor
    on record in the catalog) is not enforced: a warning says so and how to give one."""
    problems: list[Problem] = []
    tokens = estimate.training_tokens if estimate else None
    unknown = ("the training-token count is unknown: set epoch_count" if estimate and tokens is None
               else "the training data's token count is unknown: give training_dataset_tokens (or leave "
               "validate_dataset on, for gs:// data)")
    if spec.max_training_tokens is not None:
        if tokens is None:
            problems.append(("max_training_tokens", f"cannot be checked: {unknown}"))
        elif tokens > spec.max_training_tokens:
            problems.append(("max_training_tokens", f"the job would train on ~{tokens:,} tokens, over "
                             f"max_training_tokens {int(spec.max_training_tokens):,}; {_LOWER_IT}"))
    if spec.max_training_cost_usd is not None:
        if estimate is not None and estimate.usd_per_million is None:
            _show_once(spec, f"max_training_cost_usd (${spec.max_training_cost_usd:,.2f}) cannot be checked: no "
                       f"tuning price is on record for {spec.base_model} (see {estimate.pricing_page}); set "
                       f"{cost.PRICE_INPUT} to your price to enforce it (max_training_tokens holds meanwhile)",
                       warning=True)
        elif estimate is None or estimate.usd is None:
            problems.append(("max_training_cost_usd", f"cannot be checked: {unknown}"))
        elif estimate.usd > spec.max_training_cost_usd:
            problems.append(("max_training_cost_usd", f"the job would cost ~${estimate.usd:,.2f}, over "
                             f"max_training_cost_usd ${spec.max_training_cost_usd:,.2f} ({estimate.line()}); "
                             f"{_LOWER_IT}"))
    return problems


def _dataset_problems(spec: TuningJobSpec, conn: Connection) -> tuple[list[Problem], TuningJobSpec]:
    """What is wrong with the gs:// data, and the spec with the training data's token
    count filled in (for the cost estimate) when it was not given. The data is read from the
    Cloud Storage the connection names (never from the Vertex endpoint), each object version
    once per machine (tuning_provider/dataset_cache.py); a line says when it is not."""
    from tuning_provider.dataset import DatasetKind
    from tuning_provider.dataset_cache import check_gcs_dataset

    problems: list[Problem] = []
    kinds: tuple[tuple[str, DatasetKind], ...] = (
        ("training_dataset_uri", "training"), ("validation_dataset_uri", "validation"),
    )
    for field, kind in kinds:
        uri = getattr(spec, field)
        if uri is None:
            continue
        if is_vertex_dataset(uri):
            continue  # its rows are in BigQuery: see _vertex_dataset_problems
        try:
            checked = check_gcs_dataset(uri, kind, conn.storage)
        except DatasetError as exc:
            problems.append((field, exc.message))
            continue
        if checked.reused:
            _show_once(spec, checked.reuse_line(field))
        report = checked.report
        if not report.ok:
            problems.append((field, report.summary()))
        elif kind == "training" and spec.training_dataset_tokens is None:
            spec = spec.model_copy(update={"training_dataset_tokens": report.estimated_tokens})
    return problems, spec


def _vertex_dataset_problems(spec: TuningJobSpec, conn: Connection) -> list[Problem]:
    """A Vertex dataset named as training or validation data must exist and be multimodal
    (looked up in its own project; the spec has checked its region). Its rows live in
    BigQuery, which check does not read: a line says so and how to assess them."""
    problems: list[Problem] = []
    for field, usage in (("training_dataset_uri", "SFT_TRAINING"), ("validation_dataset_uri", "SFT_VALIDATION")):
        name = getattr(spec, field)
        dataset = DatasetName.parse(name) if name is not None else None
        if dataset is None:
            continue
        problem = vertex.vertex_dataset_problem(conn.at(dataset.project, dataset.location), str(dataset))
        if problem is not None:
            problems.append((field, (
                f"{field} names the Vertex dataset {name}, but {problem}: name a multimodal dataset "
                f"in {dataset.location} (create one over your BigQuery table, e.g. with the Vertex AI SDK's "
                "MultimodalDataset.from_bigquery), or give a gs:// JSONL file"
            )))
            continue
        _show_once(spec, (
            f"note: {field} is the multimodal dataset {name}; check found it, but not its rows, which "
            "live in BigQuery and which Vertex validates only when the job starts (a bad row fails the "
            "job). Assess them first with the Vertex AI SDK: MultimodalDataset(dataset_name=...)."
            f"assess_tuning_validity(model_name=..., dataset_usage=\"{usage}\")"
        ))
    return problems


def _adoption_problems(spec: TuningJobSpec, conn: Connection) -> list[Problem]:
    """existing_job_name must name a job that is running or serving: adopting a finished
    job whose model is gone would put a dead endpoint in the stack outputs."""
    assert spec.existing_job_name is not None
    job = vertex.find_tuning_job(conn, spec.existing_job_name)
    if job is None:
        return [("existing_job_name", f"there is no tuning job {spec.existing_job_name}; "
                 "check the name, project and location")]
    problem = None if job.live else vertex.serving_problem(conn, job)
    if problem is None:
        return []
    return [("existing_job_name", f"tuning job {job.name} cannot be adopted: {problem}. "
             "Remove existing_job_name to run a new job, or name a job that is running or serving")]


def _continuous_tuning_problems(spec: TuningJobSpec, conn: Connection) -> list[Problem]:
    """The catalog's rules for the base model under a tuned base_model. Only the model
    itself names that base model, so this looks it up, and only when a setting it limits
    (adapter_size, kms_key_name) is given: otherwise check stays offline."""
    model = ModelName.parse(spec.base_model)
    assert model is not None  # check_inputs calls this for a tuned base_model only
    try:
        base = vertex.tuned_model_base(conn.at(model.project, model.location), spec.base_model)
    except NotFound:
        return [("base_model", f"there is no tuned model {spec.base_model}; "
                 "check its name, or tune from a model that exists")]
    if base is None or catalog.find_model(base) is None:
        return []  # Vertex does not say what it was tuned from: Vertex itself will judge
    problems = base_model_problems(spec.model_dump(), base)
    return [(f, f"the tuned model was tuned from {base}: {m}") for f, m in problems]
