"""What a tuning job will cost, estimated before it is paid for.

Vertex bills supervised tuning per training token: the billable tokens of the training
dataset times the number of epochs (what a finished job reports as
tuningDataStats.totalBillableTokenCount is the dataset's count). `estimate_training_cost` takes
the dataset's token count (the `estimated_tokens` of the dataset validator's report, itself an
estimate at catalog.CHARS_PER_TOKEN characters per token), the epoch count and the base model,
and prices it with the team's own price per 1M training tokens (the TuningJob input
`price_per_million_training_tokens_usd`) or else the catalog's:

    estimate = estimate_training_cost(report.estimated_tokens, 2, "gemini-3.5-flash", price=5.0)
    print(estimate.line())
    # ~17,500 training tokens (8,752 x 2 epochs) x $5.00 per 1M = ~$0.09
    # (price: price_per_million_training_tokens_usd)

When the epoch count is not set, Vertex picks it from the dataset size and no stored page
gives the number, so the estimate has no training-token count and says so. Without a price
the estimate counts tokens only and names the pricing page. Validation data is not counted:
Vertex evaluates on it, and no stored page says whether those tokens are billed.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from tuning_provider import catalog
from tuning_provider.names import is_tuned_model

if TYPE_CHECKING:
    from tuning_provider.spec import TuningJobSpec

__all__ = ["PRICE_INPUT", "TrainingCostEstimate", "estimate_training_cost", "job_estimate"]

_TOKENS_PER_PRICE_UNIT = 1_000_000  # prices are per 1M training tokens
# The TuningJob input that holds a team's own price (tuning_provider/spec/).
PRICE_INPUT = "price_per_million_training_tokens_usd"


@dataclass(frozen=True)
class TrainingCostEstimate:
    """The estimated training tokens and cost of one tuning job."""

    base_model: str
    dataset_tokens: int
    epochs: int | None
    """None: not set, so Vertex chooses it and nothing below can be computed."""
    training_tokens: int | None
    usd_per_million: float | None
    """The price per 1M training tokens, or None when none is given or on record."""
    price_origin: str | None
    """Where the price comes from: PRICE_INPUT, or the catalog's page and its date."""
    usd: float | None
    """training_tokens x price per token; None without epochs or without a price."""
    pricing_page: str
    """Where the price comes from, or where to look it up when none is on record."""

    def line(self) -> str:
        """One line for a preview, e.g. "~17,500 training tokens (8,752 x 2 epochs) x $5.00 per
        1M = ~$0.09 (price: price_per_million_training_tokens_usd)"."""
        if self.epochs is None or self.training_tokens is None:
            return (
                f"~{_about(self.dataset_tokens)} dataset tokens; epoch_count is not set, so Vertex "
                "picks the epochs from the dataset size: set epoch_count for a cost estimate"
            )
        tokens = (
            f"~{_about(self.training_tokens)} training tokens "
            f"({self.dataset_tokens:,} x {self.epochs} {'epoch' if self.epochs == 1 else 'epochs'})"
        )
        if self.usd_per_million is None or self.usd is None:
            return (f"{tokens}; no tuning price on record for {self.base_model} (see {self.pricing_page}): "
                    f"set {PRICE_INPUT} for a dollar estimate")
        return (
            f"{tokens} x ${self.usd_per_million:,.2f} per 1M = {_dollars(self.usd)} (price: {self.price_origin})"
        )


def estimate_training_cost(
    dataset_tokens: int,
    epochs: int | None,
    base_model: str,
    *,
    price: float | catalog.TrainingPrice | None = None,
) -> TrainingCostEstimate:
    """Estimate the training tokens (dataset tokens x epochs) and their cost in USD.

    `base_model` is any spelling the catalog accepts; `price` overrides the catalog's price:
    a number is the team's own (the input PRICE_INPUT, a list price or a negotiated rate).
    Raises ValueError for an unknown model, negative tokens or an epoch count below 1."""
    model = catalog.find_model(base_model)
    if model is None and is_tuned_model(base_model):
        # Continuous tuning: which base model (and price) is under a tuned model is not known
        # offline, so the estimate counts tokens and names no price.
        model = catalog.BaseModelInfo(base_model, (), sources=())
    if model is None:
        raise ValueError(f"{base_model!r} is not in the catalog of tunable models")
    if dataset_tokens < 0:
        raise ValueError(f"dataset_tokens must be 0 or more, not {dataset_tokens}")
    if epochs is not None and epochs < 1:
        raise ValueError(f"epochs must be 1 or more, not {epochs}")
    epochs = epochs if epochs is not None else model.default_epochs
    listed = price if isinstance(price, catalog.TrainingPrice) else None if price is not None else model.price
    if isinstance(price, (int, float)):
        usd_per_million: float | None = float(price)
        origin: str | None = PRICE_INPUT
    elif listed is not None:
        usd_per_million = listed.usd_per_million
        origin = f"{listed.source.url}, prices of {(listed.source.page_updated or listed.source.read_on).isoformat()}"
    else:
        usd_per_million = origin = None
    training_tokens = dataset_tokens * epochs if epochs is not None else None
    usd = (
        training_tokens * usd_per_million / _TOKENS_PER_PRICE_UNIT
        if training_tokens is not None and usd_per_million is not None
        else None
    )
    return TrainingCostEstimate(
        base_model=model.id,
        dataset_tokens=dataset_tokens,
        epochs=epochs,
        training_tokens=training_tokens,
        usd_per_million=usd_per_million,
        price_origin=origin,
        usd=usd,
        pricing_page=(listed.source if listed else model.price_source).url,
    )


def job_estimate(spec: TuningJobSpec) -> TrainingCostEstimate | None:
    """The estimate for a job's inputs; None while the training data's token count is unknown."""
    if spec.training_dataset_tokens is None:
        return None
    # int(): a spec made without validation (a preview's partly known inputs) holds Pulumi's floats.
    epochs = int(spec.epoch_count) if spec.epoch_count is not None else None
    price = spec.price_per_million_training_tokens_usd
    return estimate_training_cost(int(spec.training_dataset_tokens), epochs, spec.base_model,
                                  price=float(price) if price is not None else None)


def _about(count: int) -> str:
    """A count to three significant figures, rounded half up: 26,256 -> "26,300"."""
    if count < 1000:
        return f"{count:,}"
    exponent = len(str(count)) - 3
    rounded = Decimal(count).scaleb(-exponent).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return f"{int(rounded.scaleb(exponent)):,}"


def _dollars(usd: float) -> str:
    # Under a cent would print as "$0.00", which reads as free.
    return "<$0.01" if usd < 0.005 else f"~${usd:,.2f}"
