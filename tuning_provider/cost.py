"""What a tuning job will cost, estimated before it is paid for.

Vertex bills supervised tuning per training token: the tokens of the training dataset times
the number of epochs. `estimate_training_cost` takes the dataset's token count (the
`estimated_tokens` of the dataset validator's report, itself an estimate at
catalog.CHARS_PER_TOKEN characters per token), the epoch count and the base model, and
prices it with the catalog's price per 1M training tokens:

    estimate = estimate_training_cost(report.estimated_tokens, spec.epoch_count, spec.base_model)
    print(estimate.line())
    # ~26,300 training tokens (8,752 x 3 epochs), ~$0.13 at gemini-2.5-flash's $5.00 per 1M
    # training tokens (prices of 2026-11-30)

When the epoch count is not set, Vertex picks it from the dataset size and no stored page
gives the number, so the estimate has no training-token count and says so. When the catalog
has no price for the model, the estimate counts tokens only and names the pricing page.
Validation data is not counted: no stored page says whether it is billed.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from tuning_provider import catalog
from tuning_provider.names import is_tuned_model

__all__ = ["TrainingCostEstimate", "estimate_training_cost"]

_TOKENS_PER_PRICE_UNIT = 1_000_000  # prices are per 1M training tokens


@dataclass(frozen=True)
class TrainingCostEstimate:
    """The estimated training tokens and cost of one tuning job."""

    base_model: str
    dataset_tokens: int
    epochs: int | None
    """None: not set, so Vertex chooses it and nothing below can be computed."""
    training_tokens: int | None
    price: catalog.TrainingPrice | None
    """The catalog's price, or None when no price is on record for the model."""
    usd: float | None
    """training_tokens x price per token; None without epochs or without a price."""
    pricing_page: str
    """Where the price comes from, or where to look it up when none is on record."""

    def line(self) -> str:
        """One line for a preview, e.g. "~26,300 training tokens (8,752 x 3 epochs), ~$0.13 at
        gemini-2.5-flash's $5.00 per 1M training tokens (prices of 2026-11-30)"."""
        if self.epochs is None or self.training_tokens is None:
            return (
                f"~{_about(self.dataset_tokens)} dataset tokens; epoch_count is not set, so Vertex "
                "picks the epochs from the dataset size: set epoch_count for a cost estimate"
            )
        tokens = (
            f"~{_about(self.training_tokens)} training tokens "
            f"({self.dataset_tokens:,} x {self.epochs} {'epoch' if self.epochs == 1 else 'epochs'})"
        )
        if self.price is None or self.usd is None:
            return f"{tokens}; no tuning price on record for {self.base_model} (see {self.pricing_page})"
        source = self.price.source
        prices_of = (source.page_updated or source.read_on).isoformat()
        return (
            f"{tokens}, {_dollars(self.usd)} at {self.base_model}'s ${self.price.usd_per_million:,.2f} "
            f"per 1M training tokens (prices of {prices_of})"
        )


def estimate_training_cost(
    dataset_tokens: int,
    epochs: int | None,
    base_model: str,
    *,
    price: catalog.TrainingPrice | None = None,
) -> TrainingCostEstimate:
    """Estimate the training tokens (dataset tokens x epochs) and their cost in USD.

    `base_model` is any spelling the catalog accepts; `price` overrides the catalog's price
    (for a negotiated rate). Raises ValueError for an unknown model, negative tokens or an
    epoch count below 1."""
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
    price = price or model.price
    training_tokens = dataset_tokens * epochs if epochs is not None else None
    usd = (
        training_tokens * price.usd_per_million / _TOKENS_PER_PRICE_UNIT
        if training_tokens is not None and price is not None
        else None
    )
    return TrainingCostEstimate(
        base_model=model.id,
        dataset_tokens=dataset_tokens,
        epochs=epochs,
        training_tokens=training_tokens,
        price=price,
        usd=usd,
        pricing_page=(price.source if price else model.price_source).url,
    )


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
