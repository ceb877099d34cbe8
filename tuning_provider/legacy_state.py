"""State written by older provider versions: what the provider still accepts, in one place.

Since 2026-11-30 (commit 3004853, "Serving invariant: a create returns only once its tuned
model serves") a create returns only once the job's tuned model serves, and every other ending
fails the update, so no resource is ever recorded with a job still running. Versions before
then recorded the job as it stood when a create stopped waiting (wait_for_completion false,
or wait_timeout_seconds reached): QUEUED, PENDING, RUNNING. Stacks written then may still
hold such a resource (and `pulumi refresh` keeps it live while the job runs). The provider
treats it so:
- diff: the resource changes even when no input did, so that `pulumi up` runs an update that
  waits for the job and records its outputs; a replacement deletes it first (cancelling the
  job: it would be paid for in vain, and tuning quota is often one concurrent job);
- update: waits for the job and gates it as a create does now.

Kept since: 2026-11-30. When it can go: once no stack holds a TuningJob whose recorded
`state` is live; any `pulumi up` with a provider from 2026-11-30 on rewrites such a resource.
A stack can be checked with `pulumi stack export` (look for a TuningJob whose outputs' "state"
is QUEUED, PENDING or RUNNING). Review for removal on 2027-06-01; then delete this module and
its three uses in lifecycle.py (diff twice, update once), and `submitted` in
tests/provider/test_provider.py with the tests that use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tuning_provider.records import LIVE_STATES

__all__ = ["recorded_live"]


def recorded_live(olds: Mapping[str, Any]) -> bool:
    """Whether the resource's recorded outputs hold a job still running: state written by a
    provider version from before 2026-11-30."""
    return olds.get("state") in LIVE_STATES
