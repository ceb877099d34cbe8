"""The TuningJob dynamic provider (the face Python programs use): check, diff, create, read,
update, delete.

A face only: each verb hands Pulumi's request to `lifecycle`, where the decisions live (the same
ones the provider plugin, `tuning_provider.plugin`, serves to other languages), and turns its
answer into Pulumi's result. The instance holds plain data only (the API endpoint read in
`configure`), so it pickles by reference into a few hundred bytes with no client and no
credential in Pulumi's state (the API and Cloud Storage endpoints read in `configure`, from
which `connection.connect` builds each verb's Connection).
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)

from tuning_provider import cancellation, engine_log, lifecycle, pulumi_internals
from tuning_provider.engine_log import RESOURCE_TYPE, resource_urn

if TYPE_CHECKING:
    from tuning_provider import serving

__all__ = ["API_ENDPOINT_KEY", "RESOURCE_TYPE", "STORAGE_ENDPOINT_KEY", "TuningJobProvider", "resource_urn"]

# Stack config key naming the Vertex API base URL (the local stack points it at the emulator).
API_ENDPOINT_KEY = "tuning:apiEndpoint"
# Stack config key naming the Cloud Storage base URL check reads gs:// data from (connection.py).
STORAGE_ENDPOINT_KEY = "tuning:storageEndpoint"


class TuningJobProvider(ResourceProvider):
    """Runs one Vertex AI supervised tuning job per resource."""

    # Nothing secret is ever on the instance; a readable `__provider` makes state reviewable.
    serialize_as_secret_always = False

    def __init__(self, *, today: date | None = None, read_metric_series: serving.MetricReader | None = None) -> None:
        """`today` is the day base models are judged deprecated or retired on, and
        `read_metric_series` reads a job's metrics; both None (the real day, the real read) but
        in tests, so that what Pulumi pickles stays plain data."""
        super().__init__()
        self.api_endpoint: str | None = None
        self.storage_endpoint: str | None = None
        self.today = today
        self.metric_reader = read_metric_series

    def configure(self, req: ConfigureRequest) -> None:
        endpoint, storage = req.config.get(API_ENDPOINT_KEY), req.config.get(STORAGE_ENDPOINT_KEY)
        self.api_endpoint = str(endpoint) if endpoint else None
        self.storage_endpoint = str(storage) if storage else None
        # Runs once per provider process, inside the engine's dynamic-provider server: Ctrl-C
        # reaches the waits, and the verbs that wait on a job run on a wide pool.
        hooks = pulumi_internals.hook_provider_server(on_cancel=cancellation.REQUESTED.set)
        if hooks.note:
            engine_log.log(hooks.note)

    def _setup(self) -> lifecycle.Setup:
        return lifecycle.Setup(RESOURCE_TYPE, api_endpoint=self.api_endpoint, storage_endpoint=self.storage_endpoint,
                               today=self.today, read_metrics=self.metric_reader)

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        checked = lifecycle.check(self._setup(), olds, news)
        return CheckResult(checked.inputs, [CheckFailure(field, reason) for field, reason in checked.problems])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        change = lifecycle.diff(olds, news)
        return DiffResult(changes=bool(change.changed), replaces=list(change.replacing),
                          delete_before_replace=change.delete_before_replace)

    def create(self, props: dict[str, Any]) -> CreateResult:
        created = lifecycle.create(self._setup(), props)
        return CreateResult(created.id, created.outputs)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(lifecycle.update(self._setup(), id_, olds, news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        found = lifecycle.read(self._setup(), id_, props)
        return ReadResult("", {}) if found is None else ReadResult(id_, found.outputs)  # "": gone from state

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        lifecycle.delete(self._setup(), id_, props)
