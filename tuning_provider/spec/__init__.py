"""The tuning job's inputs and outputs: the single list of every field.

Each input field carries one marker in its `Annotated` metadata saying what a change does:
- `Vertex("sdk_name")`: the value is sent to Vertex when the job is created, under that
  google-genai name. Jobs are immutable, so changing it replaces the job.
- `Identity()`: not sent as a job setting, but it names where or which job this is
  (project, location, an adopted job): changing it replaces the job too.
- `Steering()`: steers the provider only (waiting, polling, dataset checks); a change
  updates the resource in place with no API call.
Diff, create and the fingerprint all read these markers; nothing else lists the fields.
Validation raises one error type, SpecError (tuning_provider/errors.py), listing every
problem with its field path, the value given and the fix: pydantic's own errors never leave
the spec.

    markers.py    the markers (Vertex, Identity, Steering, Accepts, PropertyName, Serving) and
                  their readers
    rules.py      the rules between fields (cross_field_problems), on plain values
    inputs.py     TuningJobSpec: every input, its validation and normalisation, the fingerprint
    problems.py   spec_problems: every problem with inputs a preview knows only in part
    outputs.py    TuningJobOutputs and the models nested in it

Callers import the names below from `tuning_provider.spec`.
"""

from __future__ import annotations

from tuning_provider.spec.inputs import (
    FINGERPRINT_LABEL,
    ServeCheckpoint,
    TuningJobSpec,
    inputs_of_vertex_settings,
    replaces_on_change,
)
from tuning_provider.spec.markers import Accepts, Identity, PropertyName, Serving, Steering, Vertex, property_name
from tuning_provider.spec.outputs import (
    Checkpoint,
    DataStats,
    EvaluationRun,
    Metrics,
    TuningJobOutputs,
    serving_outputs,
)
from tuning_provider.spec.problems import spec_problems
from tuning_provider.spec.rules import EVAL_FIELDS, base_model_problems

__all__ = [
    "EVAL_FIELDS",
    "FINGERPRINT_LABEL",
    "Accepts",
    "Checkpoint",
    "DataStats",
    "EvaluationRun",
    "Identity",
    "Metrics",
    "PropertyName",
    "ServeCheckpoint",
    "Serving",
    "Steering",
    "TuningJobOutputs",
    "TuningJobSpec",
    "Vertex",
    "base_model_problems",
    "inputs_of_vertex_settings",
    "property_name",
    "replaces_on_change",
    "serving_outputs",
    "spec_problems",
]
