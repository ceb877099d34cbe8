"""What Vertex AI supports for Gemini supervised tuning: base models, adapter sizes, regions,
CMEK, dataset limits, each model's lifecycle (deprecated, retired, replacement) and its tuning
price. The one place to edit when Google's tables change (they change every few months).

How to update it
----------------
1. Read the current pages (the `Source` URLs below): the supervised-tuning page (supported
   models, and per model: adapter sizes, tuning regions, CMEK), the model-versions page
   (retirement dates and replacements), the tuning-region page, and the generative AI pricing
   page (price per 1M training tokens).
2. Change the figures, and for each entry you re-read set `read_on` to the day you read the
   page and `page_updated` to the page's own "Last updated" date when it shows one.
3. Never guess a figure: when a page is not at hand, keep the value and its existing source,
   and say so in the entry's `note`. A model with no price on record keeps `price=None`;
   the cost estimate then says that no price is on record instead of inventing one.
4. A retired model stays in the catalog (so that a spec naming it fails with its
   replacement, instead of "unknown model"); add `Retirement(on=..., replacements=...)`.
5. Run `.venv/bin/python -m pytest tests/spec tests/dataset -q`: tests/spec/test_catalog.py
   checks that every entry has a source and a date, that every tunable model has a price
   entry, and that every replacement is itself in the catalog.

Earlier figures came from ../shared/notes/vertex-tuning-api.md (docs revision 2026-09).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from tuning_provider.names import is_tuned_model

__all__ = [
    "ADAPTER_SIZES",
    "CHARS_PER_TOKEN",
    "DEFAULT_REGION",
    "EVALUATION_REGIONS",
    "LIMITS_SOURCE",
    "MAX_TOKENS_PER_EXAMPLE",
    "MAX_TRAINING_EXAMPLES",
    "MAX_TRAINING_EXAMPLES_MULTIMODAL",
    "MAX_DATASET_BYTES",
    "MAX_DISPLAY_NAME_CHARS",
    "MAX_LABELS",
    "MAX_VALIDATION_EXAMPLES",
    "MIN_RECOMMENDED_EXAMPLES",
    "MODELS",
    "REGIONS_SOURCE",
    "TUNING_REGIONS",
    "BaseModelInfo",
    "Lifecycle",
    "Retirement",
    "Source",
    "TrainingPrice",
    "adapter_size_enum",
    "adapter_size_number",
    "base_model_notes",
    "deprecation_warning",
    "find_model",
    "lifecycle",
    "model_id",
    "retirement_error",
    "tunable_model_ids",
]


@dataclass(frozen=True)
class Source:
    """Where a figure comes from: the page, the day it was read, the page's own date."""

    url: str
    read_on: date
    page_updated: date | None = None  # the page's "Last updated", when the copy shows it
    note: str = ""


# The pages this catalog was checked against on 2026-11-30 (stored copies; none showed its
# "Last updated" line in the parts that were read).
_READ_ON = date(2026, 11, 30)
_NOTES = Source(
    "../shared/notes/vertex-tuning-api.md",
    _READ_ON,
    note="figures of the docs revision of 2026-09, as collected in the project notes",
)
_SUPERVISED_TUNING = Source(
    "https://docs.cloud.google.com/gemini-enterprise-agent-platform/models/tuning/supervised-tuning",
    _READ_ON,
    note="read as the stored ?hl=zh-cn copy: limitations tables for Gemini 3.1 Flash-Lite, "
    "2.5 Flash / Flash-Lite and 2.5 Pro",
)
_TUNING_API = Source(
    "https://docs.cloud.google.com/gemini-enterprise-agent-platform/reference/models/tuning",
    _READ_ON,
    note="supported models list: 3.5 Flash-Lite, 3.5 Flash, 3.1 Flash-Lite, 2.5 Pro, ...",
)
_TUNE_TEXT_MODELS = Source(
    "https://docs.cloud.google.com/vertex-ai/generative-ai/docs/models/tune-text-models-supervised",
    _READ_ON,
    note="read as the stored ?hl=th copy (English text): one limitations table headed "
    "'Gemini 3.5 Flash, Gemini 3.5 Flash-Lite'; its rows were not in the stored excerpt",
)
_MODEL_VERSIONS = Source(
    "https://docs.cloud.google.com/gemini-enterprise-agent-platform/models/model-versions",
    _READ_ON,
    note="'Latest available models': release and retirement dates, replacement model IDs; "
    "new access for tuning is blocked one month before a retirement date. The newest stored "
    "revisions (listing gemini-4-argon, released 2026-10-13) give 2026-10-20 for the 2.5 "
    "models, an older one 2026-10-16; they also name gemini-3.8-flash as a replacement, "
    "which no stored tuning page lists as tunable, so it is left out",
)
_REGION_SETTINGS = Source(
    "https://cloud.google.com/vertex-ai/generative-ai/docs/models/gemini-supervised-tuning-region-settings",
    _READ_ON,
    note="the stored copy lists regional tuning locations only (no 'global'); its list was "
    "cut short in the copy, so the list below is kept from the notes",
)
_PRICING_NOT_STORED = Source(
    "https://cloud.google.com/gemini-enterprise-agent-platform/generative-ai/pricing",
    _READ_ON,
    note="the Vertex generative AI pricing page is not among the stored copies: no tuning "
    "price is on record",
)

# Dataset limits (per example: input + output tokens). Checked against _SUPERVISED_TUNING:
# 131,072 tokens per example, 1 GB JSONL, 10M text-only or 300K multimodal examples, and
# validation "5000 examples, or 30% of the training examples when over 1000" (the 30% rule
# is not enforced by the dataset validator yet).
LIMITS_SOURCE = _SUPERVISED_TUNING
MAX_TOKENS_PER_EXAMPLE = 131_072
MAX_DATASET_BYTES = 1 << 30  # 1 GiB per training file
MAX_TRAINING_EXAMPLES = 10_000_000
MAX_TRAINING_EXAMPLES_MULTIMODAL = 300_000
MAX_VALIDATION_EXAMPLES = 5_000
MIN_RECOMMENDED_EXAMPLES = 100
# Token counts are estimates: Google documents about four characters per token.
CHARS_PER_TOKEN = 4
# Vertex's limits on any resource's display name (tuned model, dataset) and labels.
MAX_DISPLAY_NAME_CHARS = 128
MAX_LABELS = 64
# Evaluation during tuning (preview) runs only here, per the supervised tuning page.
EVALUATION_REGIONS: frozenset[str] = frozenset({"us-central1"})

# Adapter sizes, by number and by the API's enum name.
ADAPTER_SIZES: dict[int, str] = {
    1: "ADAPTER_SIZE_ONE",
    2: "ADAPTER_SIZE_TWO",
    4: "ADAPTER_SIZE_FOUR",
    8: "ADAPTER_SIZE_EIGHT",
    16: "ADAPTER_SIZE_SIXTEEN",
    32: "ADAPTER_SIZE_THIRTY_TWO",
}

# Regions with Gemini supervised tuning. `global` is not one of them: no stored tuning page
# lists it (the global endpoint is documented for inference only).
REGIONS_SOURCE = _REGION_SETTINGS
TUNING_REGIONS: frozenset[str] = frozenset(
    {
        "us-central1", "us-east1", "us-east4", "us-east5", "us-south1", "us-west1", "us-west4",
        "northamerica-northeast1", "southamerica-east1",
        "europe-central2", "europe-north1", "europe-southwest1", "europe-west1", "europe-west2",
        "europe-west3", "europe-west4", "europe-west6", "europe-west8", "europe-west9",
        "asia-east1", "asia-east2", "asia-northeast1", "asia-northeast3", "asia-south1",
        "asia-southeast1", "australia-southeast1", "me-central1", "me-central2", "me-west1",
    }
)
# The region of a job that names none, and of a stack or a command that names none: one
# where every model of the catalog tunes and evaluation runs. Its one home: the spec's
# `location` default, the stacks' tuning:region, the command line and the policy pack read it.
DEFAULT_REGION = "us-central1"
_US_CENTRAL1_EUROPE_WEST4 = frozenset({"us-central1", "europe-west4"})


@dataclass(frozen=True)
class TrainingPrice:
    """Vertex's supervised-tuning price in USD per 1M training tokens, and where it is from."""

    usd_per_million: float
    source: Source


@dataclass(frozen=True)
class Retirement:
    """Google's retirement of a base model: from `on` it can no longer be tuned.

    `on` is None when the model is known to be gone but no stored page gives the date."""

    on: date | None
    replacements: tuple[str, ...]
    source: Source


Lifecycle = Literal["active", "deprecated", "retired"]


@dataclass(frozen=True)
class BaseModelInfo:
    """One tunable base model, with the sources its figures come from."""

    id: str
    adapter_sizes: tuple[int, ...]
    sources: tuple[Source, ...]
    regions: frozenset[str] = TUNING_REGIONS
    cmek: bool = True
    retirement: Retirement | None = None
    # None: no price on record (see the `price_source` for why).
    price: TrainingPrice | None = None
    price_source: Source = _PRICING_NOT_STORED
    note: str = ""
    # Vertex picks the epoch count from the dataset size when none is given; no stored page
    # gives a fixed default per model, so the cost estimate needs an explicit epoch count.
    default_epochs: int | None = None

    @property
    def deprecated(self) -> bool:
        """Retired, or retiring on an announced date (kept for callers of the old flag)."""
        return self.retirement is not None


_RETIRED_2_5 = date(2026, 10, 20)

MODELS: dict[str, BaseModelInfo] = {
    m.id: m
    for m in (
        BaseModelInfo(
            "gemini-2.5-pro", (1, 2, 4, 8), sources=(_SUPERVISED_TUNING, _NOTES, _MODEL_VERSIONS),
            note="adapter sizes from the notes: the stored table for 2.5 Pro was cut before that row",
            retirement=Retirement(_RETIRED_2_5, ("gemini-3.5-flash",), _MODEL_VERSIONS),
        ),
        BaseModelInfo(
            "gemini-2.5-flash", (1, 2, 4, 8, 16), sources=(_SUPERVISED_TUNING, _NOTES, _MODEL_VERSIONS),
            retirement=Retirement(
                _RETIRED_2_5, ("gemini-3.5-flash-lite", "gemini-3.1-flash-lite"), _MODEL_VERSIONS
            ),
        ),
        BaseModelInfo(
            "gemini-2.5-flash-lite", (1, 2, 4, 8, 16),
            sources=(_SUPERVISED_TUNING, _NOTES, _MODEL_VERSIONS),
            # The page also names Gemma 4, which is not a Gemini tuning base model here.
            retirement=Retirement(_RETIRED_2_5, ("gemini-3.1-flash-lite",), _MODEL_VERSIONS),
        ),
        BaseModelInfo(
            "gemini-3.5-flash", (1, 2, 4, 8, 16), sources=(_TUNING_API, _NOTES, _MODEL_VERSIONS),
            regions=_US_CENTRAL1_EUROPE_WEST4, cmek=False,
            note="listed as tunable (tuning API page); adapter sizes, regions and CMEK kept "
            "from the notes, since the stored limitations table had no rows; available until "
            "at least 2027-05-19 (model versions page)",
        ),
        BaseModelInfo(
            "gemini-3.1-flash-lite", (1, 2, 4, 8, 16),
            sources=(_SUPERVISED_TUNING, _TUNING_API, _MODEL_VERSIONS),
            regions=_US_CENTRAL1_EUROPE_WEST4, cmek=False,
            note="tuning in us-central1 and europe-west4 only, no CMEK (supervised tuning "
            "page); available until at least 2027-05-07",
        ),
        BaseModelInfo(
            "gemini-2.0-flash-001", (1, 2, 4, 8), sources=(_NOTES, _MODEL_VERSIONS),
            retirement=Retirement(None, (), _MODEL_VERSIONS),
            note="no longer among the available models (model versions page) nor the tunable "
            "ones (supervised tuning page); its Vertex retirement date is not in the stored copies",
        ),
        BaseModelInfo(
            "gemini-2.0-flash-lite-001", (1, 2, 4, 8), sources=(_NOTES, _MODEL_VERSIONS),
            retirement=Retirement(None, (), _MODEL_VERSIONS),
            note="as gemini-2.0-flash-001",
        ),
        BaseModelInfo(
            "gemini-3.5-flash-lite", (1, 2, 4, 8, 16),
            sources=(_TUNING_API, _TUNE_TEXT_MODELS, _MODEL_VERSIONS),
            regions=_US_CENTRAL1_EUROPE_WEST4, cmek=False,
            note="listed as tunable (tuning API page) and sharing one limitations table with "
            "Gemini 3.5 Flash, whose figures it carries (that table's rows were not in the "
            "stored copy); available until at least 2027-07-21",
        ),
    )
}


# Every function that judges a model's lifecycle takes the day to judge it on, `on`; None means
# the real today. Callers pass their own `today` down (tests hand in a fixed day).


def lifecycle(model: BaseModelInfo, on: date | None = None) -> Lifecycle:
    """Where the model stands on `on` (default: today): active, deprecated, or retired."""
    retirement = model.retirement
    if retirement is None:
        return "active"
    if retirement.on is None or (on or date.today()) >= retirement.on:
        return "retired"
    return "deprecated"


def tunable_model_ids(on: date | None = None) -> list[str]:
    """The models that can be tuned on `on` (default: today), sorted."""
    return sorted(m.id for m in MODELS.values() if lifecycle(m, on) != "retired")


def _instead(model: BaseModelInfo, on: date | None) -> str:
    replacements = model.retirement.replacements if model.retirement else ()
    if replacements:
        return " or ".join(replacements)
    return "one of " + ", ".join(tunable_model_ids(on))


def retirement_error(name: str, on: date | None = None) -> str | None:
    """The sentence for a retired base model (it can no longer be tuned), or None."""
    model = find_model(name)
    if model is None or model.retirement is None or lifecycle(model, on) != "retired":
        return None
    when = f" on {model.retirement.on.isoformat()}" if model.retirement.on else ""
    return f"{model.id} was retired by Google{when} and can no longer be tuned; use {_instead(model, on)}"


def deprecation_warning(name: str, on: date | None = None) -> str | None:
    """The warning for a deprecated base model (tunable until its retirement date), or None."""
    model = find_model(name)
    if model is None or model.retirement is None or lifecycle(model, on) != "deprecated":
        return None
    assert model.retirement.on is not None  # a dated retirement is what "deprecated" means
    return (
        f"{model.id} is deprecated: Google retires it on {model.retirement.on.isoformat()} "
        f"(a month before, projects new to it lose access); move to {_instead(model, on)}"
    )


def base_model_notes(name: str, on: date | None = None) -> tuple[str | None, str | None]:
    """(error, warning) for a dataset meant to tune `name`, as `validate --base-model` shows
    them: an unknown model is an error; a retired or deprecated one only a warning, since the
    data itself is fine (the spec is what refuses a retired model for a job); a tuned model
    passes, since its own base model is not known offline and the data's rules do not
    depend on it."""
    if is_tuned_model(name):
        return None, None
    model = find_model(name)
    if model is None:
        return f"'{name}' is not a base model Vertex can tune: choose one of {', '.join(tunable_model_ids(on))}.", None
    note = retirement_error(model.id, on) or deprecation_warning(model.id, on)
    return None, f"{note}." if note else None


_PUBLISHER_PREFIX = "publishers/google/models/"


def model_id(name: str) -> str:
    """The bare model id of any spelling Vertex accepts:
    "gemini-2.5-flash", "publishers/google/models/gemini-2.5-flash" or
    "projects/p/locations/l/publishers/google/models/gemini-2.5-flash"."""
    if _PUBLISHER_PREFIX in name:
        return name.split(_PUBLISHER_PREFIX, 1)[1]
    return name


def find_model(name: str) -> BaseModelInfo | None:
    """The catalog entry for a base model in any accepted spelling, or None."""
    return MODELS.get(model_id(name))


def adapter_size_enum(size: int | float | str) -> str:
    """ADAPTER_SIZE_* for 4, "4", "ADAPTER_SIZE_FOUR" or "four"; ValueError otherwise."""
    if isinstance(size, bool):
        raise ValueError(f"adapter size {size!r} is not one of {sorted(ADAPTER_SIZES)}")
    if isinstance(size, float) and size.is_integer():
        size = int(size)  # Pulumi's wire format carries every number as a float
    if isinstance(size, int) or (isinstance(size, str) and size.strip().isdigit()):
        number = int(size)
        if number in ADAPTER_SIZES:
            return ADAPTER_SIZES[number]
    elif isinstance(size, str):
        name = size.strip().upper()
        if not name.startswith("ADAPTER_SIZE_"):
            name = "ADAPTER_SIZE_" + name
        if name in ADAPTER_SIZES.values():
            return name
    raise ValueError(
        f"adapter size {size!r} is not one of {sorted(ADAPTER_SIZES)} "
        "(or their names, such as ADAPTER_SIZE_FOUR)"
    )


def adapter_size_number(size: int | str) -> int:
    """The number of an adapter size in any accepted spelling."""
    enum = adapter_size_enum(size)
    return next(n for n, e in ADAPTER_SIZES.items() if e == enum)
