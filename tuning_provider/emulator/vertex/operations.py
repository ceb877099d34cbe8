"""Long-running operations as Vertex answers deletes, undeploys and dataset creates: already done.

Built in v1 spelling; `wire.for_version` moves the `@type` URLs to the version asked for.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tuning_provider.emulator.formats import rfc3339
from tuning_provider.emulator.vertex.store import Store

__all__ = ["done_operation"]


def done_operation(
    store: Store, parent: str, metadata_type: str, response_type: str, response: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A finished operation under `parent` with `metadata_type` (a google.cloud.aiplatform.v1
    message holding genericMetadata) and a response of `response_type` (a full proto name)
    holding the fields `response` (none: Empty and the like)."""
    now = rfc3339(store.clock())
    return {
        "name": f"{parent}/operations/{store.new_id()}",
        "metadata": {
            "@type": f"type.googleapis.com/google.cloud.aiplatform.v1.{metadata_type}",
            "genericMetadata": {"createTime": now, "updateTime": now},
        },
        "done": True,
        "response": {"@type": f"type.googleapis.com/{response_type}", **(response or {})},
    }
