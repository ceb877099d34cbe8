"""The training-cost estimate: arithmetic, rounding, and the preview line."""

from __future__ import annotations

from datetime import date

import pytest

from tuning_provider import catalog
from tuning_provider.cost import estimate_training_cost

# A price given by the test: the catalog holds none (the pricing page is not in the stored copies).
FIVE_DOLLARS = catalog.TrainingPrice(
    5.00, catalog.Source("https://example.test/pricing", read_on=date(2026, 11, 30))
)


def test_training_tokens_are_dataset_tokens_times_epochs_and_cost_is_per_million() -> None:
    estimate = estimate_training_cost(8_752, 3, "gemini-3.5-flash", price=FIVE_DOLLARS)
    assert estimate.training_tokens == 26_256
    assert estimate.usd == pytest.approx(26_256 * 5.00 / 1_000_000)


def test_the_line_rounds_tokens_to_three_figures_and_dollars_to_cents() -> None:
    estimate = estimate_training_cost(8_752, 3, "publishers/google/models/gemini-3.5-flash", price=FIVE_DOLLARS)
    assert estimate.line() == (
        "~26,300 training tokens (8,752 x 3 epochs) x $5.00 per 1M = ~$0.13 "
        "(price: https://example.test/pricing, prices of 2026-11-30)"
    )


def test_a_teams_own_price_is_named_by_its_input() -> None:
    estimate = estimate_training_cost(8_752, 2, "gemini-3.5-flash", price=5)
    assert estimate.usd == pytest.approx(17_504 * 5 / 1_000_000)
    assert estimate.line() == (
        "~17,500 training tokens (8,752 x 2 epochs) x $5.00 per 1M = ~$0.09 "
        "(price: price_per_million_training_tokens_usd)"
    )


def test_the_prices_date_is_the_pages_own_date_when_known() -> None:
    price = catalog.TrainingPrice(
        25.0, catalog.Source("https://example.test/pricing", date(2026, 11, 30), page_updated=date(2026, 11, 2))
    )
    line = estimate_training_cost(2_000_000, 1, "gemini-3.5-flash", price=price).line()
    assert line == (
        "~2,000,000 training tokens (2,000,000 x 1 epoch) x $25.00 per 1M = ~$50.00 "
        "(price: https://example.test/pricing, prices of 2026-11-02)"
    )


@pytest.mark.parametrize(
    ("tokens", "shown"),
    [(999, "999"), (1_005, "1,010"), (26_250, "26,300"), (123_456_789, "123,000,000")],
)
def test_rounding_is_half_up_to_three_significant_figures(tokens: int, shown: str) -> None:
    assert estimate_training_cost(tokens, 1, "gemini-3.5-flash", price=FIVE_DOLLARS).line().startswith(
        f"~{shown} training tokens"
    )


def test_a_cost_under_a_cent_does_not_read_as_free() -> None:
    assert "= <$0.01 (price" in estimate_training_cost(100, 1, "gemini-3.5-flash", price=FIVE_DOLLARS).line()


def test_without_a_price_on_record_the_line_counts_tokens_and_names_the_pricing_page() -> None:
    model = catalog.MODELS["gemini-3.5-flash"]
    assert model.price is None
    estimate = estimate_training_cost(8_752, 3, "gemini-3.5-flash")
    assert estimate.usd is None
    assert estimate.line() == (
        "~26,300 training tokens (8,752 x 3 epochs); no tuning price on record for gemini-3.5-flash "
        f"(see {model.price_source.url}): set price_per_million_training_tokens_usd for a dollar estimate"
    )


def test_without_epochs_vertex_chooses_them_so_there_is_no_estimate() -> None:
    estimate = estimate_training_cost(8_752, None, "gemini-3.5-flash", price=FIVE_DOLLARS)
    assert estimate.training_tokens is None and estimate.usd is None
    assert estimate.line() == (
        "~8,750 dataset tokens; epoch_count is not set, so Vertex picks the epochs from the dataset size: "
        "set epoch_count for a cost estimate"
    )


@pytest.mark.parametrize(
    ("tokens", "epochs", "model"),
    [(-1, 3, "gemini-3.5-flash"), (10, 0, "gemini-3.5-flash"), (10, 3, "gemini-9-ultra")],
)
def test_impossible_inputs_are_refused(tokens: int, epochs: int, model: str) -> None:
    with pytest.raises(ValueError):
        estimate_training_cost(tokens, epochs, model)


def test_a_tuned_base_model_is_counted_in_tokens_without_a_price():
    from tuning_provider.cost import estimate_training_cost

    estimate = estimate_training_cost(1000, 2, "projects/p/locations/us-central1/models/1@1")
    assert (estimate.training_tokens, estimate.usd, estimate.usd_per_million) == (2000, None, None)
