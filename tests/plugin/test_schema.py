"""The plugin's schema and property names: what the spec gives, never kept by hand."""

from __future__ import annotations

import json
from pathlib import Path

from tools import plugin_schema
from tuning_provider.plugin import properties
from tuning_provider.plugin.config import DEFAULTED_INPUTS
from tuning_provider.plugin.server import schema_text
from tuning_provider.spec import TuningJobOutputs, TuningJobSpec, replaces_on_change

ROOT = Path(__file__).resolve().parents[2]
RESOURCE = properties.TOKEN


def resource() -> dict:  # type: ignore[type-arg]
    return json.loads(schema_text())["resources"][RESOURCE]  # type: ignore[no-any-return]


def test_the_committed_schema_is_what_the_spec_gives() -> None:
    committed = (ROOT / plugin_schema.SCHEMA).read_text(encoding="utf-8")
    assert committed == plugin_schema.render(), f"run {plugin_schema.COMMAND}"
    assert schema_text() == committed  # what GetSchema answers: the file the wheel ships
    assert plugin_schema.main(["--check"]) == 0


def test_every_input_and_output_is_a_camel_case_property_with_its_description() -> None:
    spec = resource()
    inputs = {p.field: p.name for p in properties.input_properties()}
    assert set(inputs) == set(TuningJobSpec.model_fields) - set(properties.FACE_SET)
    assert inputs["epoch_count"] == "epochCount" and inputs["tuned_model_display_name"] == "tunedModelDisplayName"
    assert set(spec["inputProperties"]) == set(inputs.values())
    outputs = {p.field: p.name for p in properties.output_properties()}
    assert outputs["name"] == "tuningJobName" and outputs["state"] == "tuningJobState"
    assert outputs["tuned_model_endpoint"] == "tunedModelEndpoint"
    assert set(spec["properties"]) == {*inputs.values(), *outputs.values()}
    for name, prop in {**spec["inputProperties"], **spec["properties"]}.items():
        assert prop.get("description"), name
        assert "_" not in name


def test_replace_on_change_types_and_enums_come_from_the_spec() -> None:
    spec = resource()
    for prop in properties.input_properties():
        declared = spec["inputProperties"][prop.name]
        assert declared.get("willReplaceOnChanges", False) == replaces_on_change(prop.field), prop.name
    assert spec["inputProperties"]["epochCount"]["type"] == "integer"
    assert "at least 1, at most 100" in spec["inputProperties"]["epochCount"]["description"]
    assert spec["inputProperties"]["adapterSize"]["oneOf"] == [{"type": "integer"}, {"type": "string"}]
    assert spec["inputProperties"]["labels"] == {**spec["inputProperties"]["labels"],
                                                 "type": "object", "additionalProperties": {"type": "string"}}
    enum = json.loads(schema_text())["types"]["vertex-tuning:index:ServeCheckpoint"]
    assert [v["value"] for v in enum["enum"]] == ["default", "best_eval_loss"]
    checkpoint = json.loads(schema_text())["types"]["vertex-tuning:index:Checkpoint"]
    assert set(checkpoint["properties"]) == {"checkpointId", "epoch", "step", "endpoint", "evalLoss"}


def test_required_inputs_are_the_specs_less_what_the_provider_defaults() -> None:
    required = {p.name for p in properties.input_properties()
                if TuningJobSpec.model_fields[p.field].is_required() and p.field not in DEFAULTED_INPUTS}
    assert set(resource()["requiredInputs"]) == required == {"baseModel", "trainingDatasetUri"}
    assert "default" not in resource()["inputProperties"]["location"]  # the provider's location first
    config = json.loads(schema_text())["config"]["variables"]
    assert set(config) == {"apiEndpoint", "storageEndpoint", "project", "location"}


def test_values_translate_key_by_key_through_nested_models_and_keep_free_form_keys() -> None:
    outputs = {"name": "projects/p/locations/l/tuningJobs/1", "checkpoints": [{"checkpoint_id": "1", "eval_loss": 0.5}],
               "metrics": {"train_loss": 0.2}, "labels": {"team_name": "ml"},
               "evaluation_config": {"output_config": {"gcs_destination": {}}}, "resource_key": "p/s/n"}
    wire = properties.to_wire(outputs)
    assert wire == {"tuningJobName": "projects/p/locations/l/tuningJobs/1",
                    "checkpoints": [{"checkpointId": "1", "evalLoss": 0.5}], "metrics": {"trainLoss": 0.2},
                    "labels": {"team_name": "ml"}, "evaluationConfig": {"output_config": {"gcs_destination": {}}}}
    assert properties.outputs_from_wire(wire) == {k: v for k, v in outputs.items() if k != "resource_key"}
    assert set(TuningJobOutputs.model_fields) == {p.field for p in properties.output_properties()}


def test_messages_name_fields_as_the_plugins_properties() -> None:
    assert properties.worded("lower epoch_count or set wait_timeout_seconds; labels.team_x stays") == \
        "lower epochCount or set waitTimeoutSeconds; labels.team_x stays"
