"""The catalog's own consistency, and the lifecycle of base models in spec validation and in
`validate --base-model`."""

from __future__ import annotations

from datetime import date

import pytest

from tuning_provider import catalog
from tuning_provider.spec import TuningJobSpec, spec_problems

BEFORE_THE_2_5_RETIREMENT = date(2026, 9, 1)
AFTER_THE_2_5_RETIREMENT = date(2026, 11, 30)
SPEC = {
    "project": "my-project",
    "training_dataset_uri": "gs://my-bucket/train.jsonl",
}


# --- every figure has a source ----------------------------------------------------------------


@pytest.mark.parametrize("model", catalog.MODELS.values(), ids=lambda m: m.id)
def test_every_model_cites_a_page_and_the_day_it_was_read(model: catalog.BaseModelInfo) -> None:
    assert model.sources
    for source in model.sources:
        assert source.url.startswith(("https://", "../shared/notes/")), source
        assert isinstance(source.read_on, date)


@pytest.mark.parametrize("model", catalog.MODELS.values(), ids=lambda m: m.id)
def test_every_tunable_model_has_a_price_or_says_why_not(model: catalog.BaseModelInfo) -> None:
    if model.price is not None:
        assert model.price.usd_per_million > 0
        assert model.price.source.url.startswith("https://") and model.price.source.read_on
    else:
        # No guessed figure: the entry names the page that should hold the price and why none is kept.
        assert model.price_source.url.startswith("https://") and model.price_source.note


@pytest.mark.parametrize("model", catalog.MODELS.values(), ids=lambda m: m.id)
def test_replacements_are_themselves_in_the_catalog_and_not_retired(model: catalog.BaseModelInfo) -> None:
    replacements = model.retirement.replacements if model.retirement else ()
    for replacement in replacements:
        assert replacement in catalog.MODELS
        assert catalog.MODELS[replacement].retirement is None


def test_every_model_supports_its_adapter_sizes_and_tunes_in_known_regions() -> None:
    for model in catalog.MODELS.values():
        assert set(model.adapter_sizes) <= set(catalog.ADAPTER_SIZES)
        assert model.regions <= catalog.TUNING_REGIONS
    assert "global" not in catalog.TUNING_REGIONS  # no stored tuning page lists it


def test_the_default_region_tunes_every_model_and_runs_evaluation() -> None:
    # A job, a stack or a command that names no region gets this one: it must fit any of them.
    assert all(catalog.DEFAULT_REGION in model.regions for model in catalog.MODELS.values())
    assert catalog.DEFAULT_REGION in catalog.EVALUATION_REGIONS


# --- lifecycle ----------------------------------------------------------------------------------


def test_the_2_5_models_are_deprecated_before_their_retirement_date_and_retired_from_it() -> None:
    flash = catalog.MODELS["gemini-2.5-flash"]
    assert catalog.lifecycle(flash, BEFORE_THE_2_5_RETIREMENT) == "deprecated"
    assert catalog.lifecycle(flash, date(2026, 10, 20)) == "retired"
    assert catalog.lifecycle(catalog.MODELS["gemini-3.5-flash"], AFTER_THE_2_5_RETIREMENT) == "active"


def test_deprecation_warning_names_the_date_and_the_replacement() -> None:
    assert catalog.deprecation_warning("gemini-2.5-flash", BEFORE_THE_2_5_RETIREMENT) == (
        "gemini-2.5-flash is deprecated: Google retires it on 2026-10-20 (a month before, projects new "
        "to it lose access); move to gemini-3.5-flash-lite or gemini-3.1-flash-lite"
    )
    assert catalog.deprecation_warning("publishers/google/models/gemini-3.5-flash") is None
    assert catalog.deprecation_warning("gemini-2.5-flash", AFTER_THE_2_5_RETIREMENT) is None  # retired
    assert catalog.deprecation_warning("gemini-9-ultra") is None


def test_a_retired_model_without_a_documented_replacement_points_to_the_tunable_ones() -> None:
    assert catalog.retirement_error("gemini-2.0-flash-001", AFTER_THE_2_5_RETIREMENT) == (
        "gemini-2.0-flash-001 was retired by Google and can no longer be tuned; use one of "
        "gemini-3.1-flash-lite, gemini-3.5-flash, gemini-3.5-flash-lite"
    )


# --- spec validation ----------------------------------------------------------------------------


def test_a_retired_base_model_fails_validation_naming_the_replacement() -> None:
    [problem] = spec_problems({**SPEC, "base_model": "publishers/google/models/gemini-2.5-pro"},
                              today=AFTER_THE_2_5_RETIREMENT)
    assert (problem.field, problem.message) == (
        "base_model",
        "gemini-2.5-pro was retired by Google on 2026-10-20 and can no longer be tuned; use gemini-3.5-flash",
    )


def test_a_deprecated_base_model_passes_validation() -> None:
    assert spec_problems({**SPEC, "base_model": "gemini-2.5-pro"}, today=BEFORE_THE_2_5_RETIREMENT) == []
    spec = TuningJobSpec.model_validate({**SPEC, "base_model": "gemini-2.5-pro"})
    assert spec.base_model == "gemini-2.5-pro"
    # What the provider prints.
    assert catalog.deprecation_warning(spec.base_model, BEFORE_THE_2_5_RETIREMENT) is not None


def test_an_unknown_base_model_lists_only_the_tunable_models() -> None:
    [problem] = spec_problems({**SPEC, "base_model": "gemini-9-ultra"}, today=AFTER_THE_2_5_RETIREMENT)
    assert "gemini-2.5-flash" in str(spec_problems({**SPEC, "base_model": "gemini-9-ultra"},
                                                   today=BEFORE_THE_2_5_RETIREMENT)[0])
    assert problem.field == "base_model"
    assert "use one of: gemini-3.1-flash-lite, gemini-3.5-flash, gemini-3.5-flash-lite" in str(problem)


# --- what `validate --base-model` says of the base model a dataset is for -------------------


@pytest.mark.parametrize("model", ["gemini-3.5-flash", "publishers/google/models/gemini-3.1-flash-lite",
                                   "projects/p/locations/us-central1/models/123@2"])
def test_a_current_or_tuned_base_model_has_no_dataset_note(model: str) -> None:
    assert catalog.base_model_notes(model, AFTER_THE_2_5_RETIREMENT) == (None, None)


def test_an_unknown_base_model_is_a_dataset_error_listing_the_tunable_models() -> None:
    assert catalog.base_model_notes("gemini-9-ultra", AFTER_THE_2_5_RETIREMENT) == (
        "'gemini-9-ultra' is not a base model Vertex can tune: choose one of gemini-3.1-flash-lite, "
        "gemini-3.5-flash, gemini-3.5-flash-lite.", None)


def test_a_retired_base_model_is_only_a_dataset_warning_naming_the_replacement() -> None:
    # The data is fine; the spec check is what refuses a retired model for a job.
    assert catalog.base_model_notes("gemini-2.5-pro", AFTER_THE_2_5_RETIREMENT) == (
        None, "gemini-2.5-pro was retired by Google on 2026-10-20 and can no longer be tuned; use gemini-3.5-flash.")


def test_a_deprecated_base_model_is_a_dataset_warning() -> None:
    assert catalog.base_model_notes("gemini-2.5-pro", BEFORE_THE_2_5_RETIREMENT) == (
        None, "gemini-2.5-pro is deprecated: Google retires it on 2026-10-20 (a month before, projects new to "
        "it lose access); move to gemini-3.5-flash.")
