"""What Vertex AI supports for Gemini supervised tuning: base models, adapter sizes, regions,
CMEK, and dataset limits. The one place to edit when Google's tables change (they change
every few months); sources: ../shared/notes/vertex-tuning-api.md (docs revision 2026-09).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ADAPTER_SIZES",
    "CHARS_PER_TOKEN",
    "MAX_TOKENS_PER_EXAMPLE",
    "MAX_TRAINING_EXAMPLES",
    "MAX_TRAINING_EXAMPLES_MULTIMODAL",
    "MAX_DATASET_BYTES",
    "MAX_VALIDATION_EXAMPLES",
    "MIN_RECOMMENDED_EXAMPLES",
    "MODELS",
    "TUNING_REGIONS",
    "BaseModelInfo",
    "adapter_size_enum",
    "adapter_size_number",
    "find_model",
    "model_id",
]

# Dataset limits (per example: input + output tokens).
MAX_TOKENS_PER_EXAMPLE = 131_072
MAX_DATASET_BYTES = 1 << 30  # 1 GiB per training file
MAX_TRAINING_EXAMPLES = 10_000_000
MAX_TRAINING_EXAMPLES_MULTIMODAL = 300_000
MAX_VALIDATION_EXAMPLES = 5_000
MIN_RECOMMENDED_EXAMPLES = 100
# Token counts are estimates: Google documents about four characters per token.
CHARS_PER_TOKEN = 4

# Adapter sizes, by number and by the API's enum name.
ADAPTER_SIZES: dict[int, str] = {
    1: "ADAPTER_SIZE_ONE",
    2: "ADAPTER_SIZE_TWO",
    4: "ADAPTER_SIZE_FOUR",
    8: "ADAPTER_SIZE_EIGHT",
    16: "ADAPTER_SIZE_SIXTEEN",
    32: "ADAPTER_SIZE_THIRTY_TWO",
}

# Regions with Gemini supervised tuning. `global` is not one of them.
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


@dataclass(frozen=True)
class BaseModelInfo:
    """One tunable base model."""

    id: str
    adapter_sizes: tuple[int, ...]
    regions: frozenset[str] = TUNING_REGIONS
    cmek: bool = True
    deprecated: bool = False


MODELS: dict[str, BaseModelInfo] = {
    m.id: m
    for m in (
        BaseModelInfo("gemini-2.5-pro", (1, 2, 4, 8)),
        BaseModelInfo("gemini-2.5-flash", (1, 2, 4, 8, 16)),
        BaseModelInfo("gemini-2.5-flash-lite", (1, 2, 4, 8, 16)),
        BaseModelInfo(
            "gemini-3.5-flash", (1, 2, 4, 8, 16),
            regions=frozenset({"us-central1", "europe-west4"}), cmek=False,
        ),
        BaseModelInfo(
            "gemini-3.1-flash-lite", (1, 2, 4, 8, 16),
            regions=frozenset({"us-central1", "europe-west4"}), cmek=False,
        ),
        BaseModelInfo("gemini-2.0-flash-001", (1, 2, 4, 8), deprecated=True),
        BaseModelInfo("gemini-2.0-flash-lite-001", (1, 2, 4, 8), deprecated=True),
    )
}

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
