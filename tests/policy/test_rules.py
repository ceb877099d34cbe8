"""The policy pack's rules (policy/rules.py), each on a resource that passes and one that fails.

The rules are plain functions, so these run in the project's own venv, without pulumi-policy;
tests/policy/test_pack_engine.py runs the pack itself under the real pulumi CLI."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest

from policy import rules
from policy.rules import BUCKET_TYPE, TUNING_JOB_TYPE, UNKNOWN, Resource
from tuning_provider import catalog
from tuning_provider.engine_log import RESOURCE_TYPE
from tuning_provider.plugin.properties import TOKEN
from tuning_provider.spec import EVAL_FIELDS, TuningJobSpec

DAY = date(2026, 12, 1)  # the day the rules judge on: never today's date
JOB = {
    "project": "my-project",
    "location": "us-central1",
    "base_model": "gemini-3.5-flash",
    "labels": {"team": "ml-platform", "env": "dev"},
    "max_training_tokens": 100_000,
}
BUCKET = {
    "location": "US-CENTRAL1",
    "uniformBucketLevelAccess": True,
    "publicAccessPrevention": "enforced",
    "versioning": {"enabled": True},
    "encryption": {"defaultKmsKeyName": "projects/p/locations/us-central1/keyRings/r/cryptoKeys/k"},
}


def job(**changes: Any) -> Resource:
    props = {**JOB, **changes}
    return Resource(TUNING_JOB_TYPE, "gemini-tuning-job", {k: v for k, v in props.items() if v is not None})


def bucket(**changes: Any) -> Resource:
    return Resource(BUCKET_TYPE, "dataset-bucket", {**BUCKET, **changes})


def violations(policy: str, resource: Resource, **config: Any) -> list[str]:
    return rules.policy(policy).violations(resource, config, DAY)


def test_the_pack_has_the_policies_users_configure_by_name() -> None:
    assert {p.name: p.level for p in rules.POLICIES} == {
        "tuning-job-labels": "mandatory",
        "tuning-job-cost-ceiling": "mandatory",
        "tuning-job-quality-gate": "mandatory",
        "tuning-job-base-model": "advisory",
        "allowed-regions": "mandatory",
        "bucket-hardening": "mandatory",
        "no-primitive-roles": "mandatory",
    }
    assert rules.policy("allowed-regions").defaults() == {"regions": ["us-central1", "europe-west4"]}
    with pytest.raises(KeyError, match="no policy named 'regions'"):
        rules.policy("regions")


def test_the_rules_name_real_tuning_job_inputs_and_types() -> None:
    # The pack's venv has no pydantic (nor the provider's modules), so the rules name these fields
    # and the two faces' type tokens themselves: keep them the same as the provider's.
    for name in (*rules.COST_CEILINGS, *rules.QUALITY_GATES, "labels", "base_model", "location"):
        assert name in TuningJobSpec.model_fields, name
    assert rules.QUALITY_GATES == EVAL_FIELDS
    assert rules.TUNING_JOB_TYPE == RESOURCE_TYPE
    assert rules.PLUGIN_TUNING_JOB_TYPE == TOKEN


# --- tuning-job-labels --------------------------------------------------------------------------

def test_a_job_with_team_and_env_labels_passes() -> None:
    assert violations("tuning-job-labels", job()) == []


def test_a_job_without_a_team_label_fails_naming_the_job_the_label_and_the_fix() -> None:
    (message,) = violations("tuning-job-labels", job(labels={"env": "dev"}))
    assert message.startswith("TuningJob 'gemini-tuning-job': labels has no 'team' label; add labels.team")
    assert "tuning:job" in message
    assert len(violations("tuning-job-labels", job(labels=None))) == 2
    assert len(violations("tuning-job-labels", job(labels={"team": "", "env": "dev"}))) == 1


def test_the_required_labels_are_configurable_and_unknown_ones_wait_for_up() -> None:
    (message,) = violations("tuning-job-labels", job(), labels=["team", "env", "cost-center"])
    assert "'cost-center'" in message
    assert violations("tuning-job-labels", job(labels=UNKNOWN)) == []
    assert violations("tuning-job-labels", job(labels={"team": UNKNOWN, "env": "dev"})) == []


def test_labels_rules_leave_other_resources_alone() -> None:
    assert violations("tuning-job-labels", bucket()) == []


# --- tuning-job-cost-ceiling --------------------------------------------------------------------

@pytest.mark.parametrize("ceiling", [{"max_training_tokens": 1000}, {"max_training_cost_usd": 5.0},
                                     {"max_training_tokens": UNKNOWN}])
def test_a_job_with_a_cost_ceiling_passes(ceiling: dict[str, Any]) -> None:
    assert violations("tuning-job-cost-ceiling", job(**{"max_training_tokens": None, **ceiling})) == []


def test_a_job_without_a_cost_ceiling_fails_naming_both_properties() -> None:
    (message,) = violations("tuning-job-cost-ceiling", job(max_training_tokens=None))
    assert message.startswith("TuningJob 'gemini-tuning-job': neither max_training_tokens nor max_training_cost_usd")
    assert "set one of them" in message


# --- tuning-job-quality-gate --------------------------------------------------------------------

def test_a_prod_job_with_a_quality_gate_passes_and_other_environments_need_none() -> None:
    prod = {"team": "ml-platform", "env": "prod"}
    assert violations("tuning-job-quality-gate", job(labels=prod, min_eval_token_accuracy=0.8)) == []
    assert violations("tuning-job-quality-gate", job(labels=prod, max_eval_loss=0.5)) == []
    assert violations("tuning-job-quality-gate", job()) == []


def test_a_prod_job_without_a_quality_gate_fails() -> None:
    (message,) = violations("tuning-job-quality-gate", job(labels={"team": "t", "env": "prod"}))
    assert message.startswith("TuningJob 'gemini-tuning-job': labelled env: prod but sets no quality gate")
    assert "set min_eval_token_accuracy or max_eval_loss" in message


def test_which_environments_need_a_gate_is_configurable() -> None:
    assert len(violations("tuning-job-quality-gate", job(), environments=["prod", "dev"])) == 1


# --- tuning-job-base-model ----------------------------------------------------------------------

def retiring_model() -> catalog.BaseModelInfo:
    """A catalog model with an announced retirement date and a replacement."""
    return next(m for m in catalog.MODELS.values()
                if m.retirement is not None and m.retirement.on is not None and m.retirement.replacements)


def test_an_active_base_model_passes() -> None:
    active = next(m.id for m in catalog.MODELS.values() if catalog.lifecycle(m, DAY) == "active")
    assert violations("tuning-job-base-model", job(base_model=active)) == []
    # A tuned model (continuous tuning) is not a catalog entry; one not known yet is judged at up.
    assert violations("tuning-job-base-model", job(base_model="projects/p/locations/l/models/7@1")) == []
    assert violations("tuning-job-base-model", job(base_model=UNKNOWN)) == []


def test_a_deprecated_base_model_is_reported_with_its_retirement_date_and_replacement() -> None:
    model = retiring_model()
    assert model.retirement is not None and model.retirement.on is not None
    before = model.retirement.on - timedelta(days=30)
    (message,) = rules.policy("tuning-job-base-model").violations(job(base_model=model.id), today=before)
    assert message.startswith(f"TuningJob 'gemini-tuning-job': base_model {model.id} is deprecated")
    assert model.retirement.on.isoformat() in message
    assert model.retirement.replacements[0] in message


def test_a_retired_base_model_is_reported_as_retired() -> None:
    model = retiring_model()
    assert model.retirement is not None and model.retirement.on is not None
    (message,) = rules.policy("tuning-job-base-model").violations(
        job(base_model=f"publishers/google/models/{model.id}"), today=model.retirement.on
    )
    assert f"base_model {model.id} was retired by Google on {model.retirement.on.isoformat()}" in message


# --- allowed-regions ----------------------------------------------------------------------------

def test_jobs_and_buckets_in_allowed_regions_pass() -> None:
    assert violations("allowed-regions", job()) == []
    assert violations("allowed-regions", job(location=None)) == []  # the default, us-central1
    assert violations("allowed-regions", job(location="europe-west4")) == []
    assert violations("allowed-regions", bucket()) == []  # bucket locations are upper case


def test_a_job_or_bucket_elsewhere_fails_naming_location() -> None:
    (message,) = violations("allowed-regions", job(location="asia-east1"))
    assert message.startswith("TuningJob 'gemini-tuning-job': location asia-east1 is not an allowed region "
                              "(us-central1, europe-west4); set tuning:region")
    (message,) = violations("allowed-regions", bucket(location="US"))
    assert message.startswith("Bucket 'dataset-bucket': location US is not an allowed region")


def test_the_allowed_regions_are_configurable() -> None:
    (message,) = violations("allowed-regions", job(), regions=["europe-west4"])
    assert "location us-central1 is not an allowed region (europe-west4)" in message
    assert "allowed-regions policy's `regions`" in message
    assert violations("allowed-regions", bucket(location="EUROPE-WEST4"), regions=["europe-west4"]) == []


# --- bucket-hardening ---------------------------------------------------------------------------

def test_a_hardened_bucket_passes() -> None:
    assert violations("bucket-hardening", bucket()) == []
    # The key's id is not known at the first preview: `up` judges it.
    assert violations("bucket-hardening", bucket(encryption={"defaultKmsKeyName": UNKNOWN})) == []


@pytest.mark.parametrize(("change", "property_", "fix"), [
    ({"uniformBucketLevelAccess": False}, "uniform_bucket_level_access", "uniform_bucket_level_access=True"),
    ({"publicAccessPrevention": "inherited"}, "public_access_prevention is inherited",
     'public_access_prevention="enforced"'),
    ({"publicAccessPrevention": None}, "public_access_prevention is not set", 'public_access_prevention="enforced"'),
    ({"versioning": None}, "versioning is off", 'versioning={"enabled": True}'),
    ({"versioning": {"enabled": False}}, "versioning is off", 'versioning={"enabled": True}'),
    ({"encryption": None}, "encryption has no default KMS key", 'encryption={"default_kms_key_name": KEY_ID}'),
])
def test_a_bucket_missing_one_hardening_fails_naming_it(change: dict[str, Any], property_: str, fix: str) -> None:
    (message,) = violations("bucket-hardening", bucket(**change))
    assert message.startswith(f"Bucket 'dataset-bucket': {property_}")
    assert fix in message


def test_a_bare_bucket_fails_all_four() -> None:
    assert len(violations("bucket-hardening", Resource(BUCKET_TYPE, "bare", {"location": "US"}))) == 4


# --- no-primitive-roles -------------------------------------------------------------------------

def member(role: str, typ: str = "gcp:projects/iAMMember:IAMMember") -> Resource:
    return Resource(typ, "grant", {"project": "p", "role": role, "member": "user:a@example.com"})


@pytest.mark.parametrize("typ", ["gcp:projects/iAMMember:IAMMember", "gcp:storage/bucketIAMBinding:BucketIAMBinding",
                                 "gcp:serviceaccount/iAMMember:IAMMember"])
def test_predefined_roles_pass(typ: str) -> None:
    assert violations("no-primitive-roles", member("roles/storage.objectViewer", typ)) == []


@pytest.mark.parametrize("role", ["roles/owner", "roles/editor", "roles/viewer"])
def test_a_primitive_role_fails_naming_the_resource_and_role(role: str) -> None:
    (message,) = violations("no-primitive-roles", member(role))
    assert message.startswith(f"IAMMember 'grant': role grants {role}, a primitive role")
    assert "grant a predefined role" in message
    (message,) = violations("no-primitive-roles", member(role, "gcp:projects/iAMBinding:IAMBinding"))
    assert message.startswith(f"IAMBinding 'grant': role grants {role}")


def test_an_iam_policy_granting_a_primitive_role_fails() -> None:
    data = json.dumps({"bindings": [{"role": "roles/aiplatform.user", "members": ["user:a@example.com"]},
                                    {"role": "roles/editor", "members": ["user:b@example.com"]}]})
    policy = Resource("gcp:projects/iAMPolicy:IAMPolicy", "project-policy", {"policyData": data})
    (message,) = violations("no-primitive-roles", policy)
    assert message.startswith("IAMPolicy 'project-policy': policy_data grants roles/editor")
    assert violations("no-primitive-roles", Resource(policy.type, policy.name, {"policyData": UNKNOWN})) == []


def test_the_forbidden_roles_are_configurable() -> None:
    assert violations("no-primitive-roles", member("roles/viewer"), roles=["roles/owner"]) == []
    assert len(violations("no-primitive-roles", member("roles/iam.serviceAccountAdmin"),
                          roles=["roles/iam.serviceAccountAdmin"])) == 1


# --- the provider plugin's TuningJob ------------------------------------------------------------

def plugin_job(**changes: Any) -> Resource:
    props = {rules._property_name(k): v for k, v in {**JOB, **changes}.items() if v is not None}
    return Resource(rules.PLUGIN_TUNING_JOB_TYPE, "gemini-tuning-job", props)


def test_the_rules_read_the_plugins_camel_case_properties_by_the_same_names() -> None:
    from tuning_provider.plugin import properties

    # The pack's venv cannot import the plugin: its camelCase -> Python rule must give the spec's fields.
    for prop in properties.input_properties():
        assert rules.python_name(prop.name) == prop.field
        assert rules._property_name(prop.field) == prop.name


def test_a_plugin_tuning_job_is_judged_by_the_same_rules_in_its_own_words() -> None:
    for policy in ("tuning-job-labels", "tuning-job-cost-ceiling", "allowed-regions"):
        assert violations(policy, plugin_job()) == []
    (ceiling,) = violations("tuning-job-cost-ceiling", plugin_job(max_training_tokens=None))
    assert "neither maxTrainingTokens nor maxTrainingCostUsd is set" in ceiling
    assert "in the TuningJob's properties" in ceiling and "tuning:job" not in ceiling
    (gate,) = violations("tuning-job-quality-gate", plugin_job(labels={"team": "ml", "env": "prod"}))
    assert "set minEvalTokenAccuracy or maxEvalLoss" in gate
    (region,) = violations("allowed-regions", plugin_job(location="asia-northeast1"))
    assert "set the TuningJob's location (or the provider's vertex-tuning:location)" in region
    (label,) = violations("tuning-job-labels", plugin_job(labels={"env": "dev"}))
    assert "add labels.team" in label
