"""`pulumi-resource-vertex-tuning`: the TuningJob provider plugin, a gRPC server of its own.

The engine starts the executable with its own address, reads the port it prints, and calls
Pulumi's ResourceProvider protocol (`pulumi.runtime.proto`, the public generated code): the
configuration verbs, GetSchema, Check, Diff, Create, Read (refresh, and `pulumi import`),
Update, Delete and Cancel. Each verb translates (properties.py: camelCase <-> the spec's
fields; structs.py: protobuf <-> values) and hands the work to `lifecycle`, the core the
dynamic provider runs too: nothing is decided here.

Why a server of our own rather than `pulumi.provider.experimental`: that server is asyncio
(`grpc.aio`) with async verbs, and the core's verbs block (a create waits hours for its job);
run through `asyncio.to_thread` they would share the event loop's default executor of
min(32, CPUs + 4) threads (6 on two cores), so a seventh long create would queue behind the
others, and its API is marked experimental. Here one `grpc.server` runs every call on a
thread pool sized for long waits (`WORKERS`): creates run in parallel, far beyond the dynamic
provider server's four, and a check never queues behind them. Threads start only when calls
arrive. Cancel (the first Ctrl-C) sets one event that every wait of this process sleeps on
(`lifecycle.Setup.sleep`), so each stops at once, saying its job keeps running and the next
`pulumi up` adopts it. Nothing here reaches into Pulumi's or gRPC's private layout.

Lines for the user (progress, the cost line) go to the engine's Log RPC under the URN the
request names (engine_log.use_engine / attributed_to).
"""

from __future__ import annotations

import argparse
import functools
import importlib.metadata
import importlib.resources
import sys
import threading
import traceback
from collections.abc import Callable, Mapping
from concurrent import futures
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar

import grpc  # type: ignore[import-untyped]
from google.protobuf import empty_pb2  # type: ignore[import-untyped]
from pulumi.runtime.proto import plugin_pb2, provider_pb2, provider_pb2_grpc

from tuning_provider import cancellation, engine_log, lifecycle
from tuning_provider.errors import TuningError
from tuning_provider.plugin import properties
from tuning_provider.plugin.config import ProviderConfig, config_problems
from tuning_provider.plugin.structs import from_struct, to_struct

if TYPE_CHECKING:
    from tuning_provider.serving import MetricReader

__all__ = ["WORKERS", "TuningJobPlugin", "main", "resource_key", "schema_text", "serve"]

# Calls served at once: each TuningJob create or update holds one until its model serves.
WORKERS = 64
_DIST = "pulumi-vertex-tuning"
Reply = TypeVar("Reply")


def schema_text() -> str:
    """The package schema GetSchema answers with (tools/plugin_schema.py writes it from the spec)."""
    return importlib.resources.files("tuning_provider.plugin").joinpath("schema.json").read_text(encoding="utf-8")


def version() -> str:
    try:
        return importlib.metadata.version(_DIST)
    except importlib.metadata.PackageNotFoundError:
        return "0.0.0"


def resource_key(urn: str) -> str:
    """project/stack/name of a resource's URN (urn:pulumi:STACK::PROJECT::TYPE::NAME), as the
    dynamic TuningJob sets `resource_key`: the same resource in either face has one fingerprint."""
    parts = urn.split("::")
    if len(parts) < 4 or not parts[0].startswith("urn:pulumi:"):
        return ""
    return f"{parts[1]}/{parts[0].removeprefix('urn:pulumi:')}/{'::'.join(parts[3:])}"


def _answered(verb: Callable[..., Reply]) -> Callable[..., Reply]:
    """A verb whose lines go under the request's resource, and whose failure reaches the engine
    as one message in the plugin's words (the engine shows it; nothing is recorded)."""

    @functools.wraps(verb)
    def answer(self: TuningJobPlugin, request: Any, context: grpc.ServicerContext) -> Reply:
        with engine_log.attributed_to(getattr(request, "urn", ""), properties.worded):
            try:
                return verb(self, request, context)
            except TuningError as exc:
                message = properties.worded(str(exc))
            except Exception as exc:  # noqa: BLE001 - the engine must hear every failure, with its cause
                traceback.print_exc(file=sys.stderr)
                message = f"{type(exc).__name__}: {exc}"
        context.abort(grpc.StatusCode.UNKNOWN, message)
        raise AssertionError("unreachable: abort raises")

    return answer


class TuningJobPlugin(provider_pb2_grpc.ResourceProviderServicer):
    """The ResourceProvider verbs of the `vertex-tuning` package, over `lifecycle`."""

    def __init__(self, *, today: date | None = None, read_metrics: MetricReader | None = None) -> None:
        """`today` and `read_metrics`: the seams of lifecycle.Setup, for tests."""
        self._config = ProviderConfig()
        self._cancelled = threading.Event()
        self._today = today
        self._read_metrics = read_metrics

    def _setup(self) -> lifecycle.Setup:
        return lifecycle.Setup(properties.TOKEN, api_endpoint=self._config.api_endpoint,
                               storage_endpoint=self._config.storage_endpoint, today=self._today,
                               read_metrics=self._read_metrics, sleep=self._sleep)

    def _sleep(self, seconds: float) -> None:
        if self._cancelled.wait(max(0.0, seconds)):
            raise cancellation.Cancelled("pulumi is cancelling the update")

    # --- the plugin and its configuration ----------------------------------------------------

    def GetPluginInfo(self, request: empty_pb2.Empty, context: grpc.ServicerContext) -> plugin_pb2.PluginInfo:  # noqa: N802
        return plugin_pb2.PluginInfo(version=version())

    def GetSchema(self, request: provider_pb2.GetSchemaRequest,  # noqa: N802
                  context: grpc.ServicerContext) -> provider_pb2.GetSchemaResponse:
        return provider_pb2.GetSchemaResponse(schema=schema_text())

    @_answered
    def CheckConfig(self, request: provider_pb2.CheckRequest,  # noqa: N802
                    context: grpc.ServicerContext) -> provider_pb2.CheckResponse:
        news = from_struct(request.news)
        failures = [provider_pb2.CheckFailure(property=key, reason=reason) for key, reason in config_problems(news)]
        return provider_pb2.CheckResponse(inputs=request.news, failures=failures)

    @_answered
    def DiffConfig(self, request: provider_pb2.DiffRequest,  # noqa: N802
                   context: grpc.ServicerContext) -> provider_pb2.DiffResponse:
        # Another endpoint or default reaches the resources through their own check and diff
        # (a default project a TuningJob takes is one of its inputs): the provider is never replaced.
        olds, news = from_struct(request.olds), from_struct(request.news)
        changed = sorted(k for k in {*olds, *news} if olds.get(k) != news.get(k))
        return provider_pb2.DiffResponse(
            changes=provider_pb2.DiffResponse.DIFF_SOME if changed else provider_pb2.DiffResponse.DIFF_NONE,
            diffs=changed,
        )

    @_answered
    def Configure(self, request: provider_pb2.ConfigureRequest,  # noqa: N802
                  context: grpc.ServicerContext) -> provider_pb2.ConfigureResponse:
        values = from_struct(request.args) if request.HasField("args") else _from_variables(request.variables)
        self._config = ProviderConfig.of(values)
        # Secrets are not accepted: the engine then keeps them secret itself (structs.py).
        return provider_pb2.ConfigureResponse(acceptSecrets=False, acceptResources=False, supportsPreview=False)

    def Cancel(self, request: empty_pb2.Empty, context: grpc.ServicerContext) -> empty_pb2.Empty:  # noqa: N802
        self._cancelled.set()
        return empty_pb2.Empty()

    # --- TuningJob ---------------------------------------------------------------------------

    def _fields(self, struct: Any, urn: str) -> dict[str, Any]:
        """A request's properties keyed by field, with the resource_key of its URN (none empty)."""
        values = properties.inputs_from_wire(from_struct(struct))
        return {**values, "resource_key": resource_key(urn)} if values else values

    @_answered
    def Check(self, request: provider_pb2.CheckRequest,  # noqa: N802
              context: grpc.ServicerContext) -> provider_pb2.CheckResponse:
        olds = self._fields(request.olds, request.urn)
        news = self._config.applied({**properties.inputs_from_wire(from_struct(request.news)),
                                     "resource_key": resource_key(request.urn)})
        checked = lifecycle.check(self._setup(), olds, news)
        return provider_pb2.CheckResponse(
            inputs=to_struct(properties.to_wire(checked.inputs)),
            failures=[provider_pb2.CheckFailure(property=properties.name_of(field), reason=properties.worded(reason))
                      for field, reason in checked.problems],
        )

    @_answered
    def Diff(self, request: provider_pb2.DiffRequest,  # noqa: N802
             context: grpc.ServicerContext) -> provider_pb2.DiffResponse:
        olds, news = self._fields(request.olds, request.urn), self._fields(request.news, request.urn)
        change = lifecycle.diff(olds, news)
        return provider_pb2.DiffResponse(
            changes=provider_pb2.DiffResponse.DIFF_SOME if change.changed else provider_pb2.DiffResponse.DIFF_NONE,
            replaces=[properties.name_of(f) for f in change.replacing],
            deleteBeforeReplace=change.delete_before_replace,
            diffs=[properties.name_of(f) for f in change.changed],
            detailedDiff={properties.name_of(f): _property_diff(f, olds, news, f in change.replacing)
                          for f in change.changed},
            hasDetailedDiff=True,
        )

    @_answered
    def Create(self, request: provider_pb2.CreateRequest,  # noqa: N802
               context: grpc.ServicerContext) -> provider_pb2.CreateResponse:
        created = lifecycle.create(self._setup(), self._fields(request.properties, request.urn))
        return provider_pb2.CreateResponse(id=created.id, properties=to_struct(properties.to_wire(created.outputs)))

    @_answered
    def Read(self, request: provider_pb2.ReadRequest,  # noqa: N802
             context: grpc.ServicerContext) -> provider_pb2.ReadResponse:
        props = self._fields(request.properties, request.urn)
        if not props and not from_struct(request.inputs):
            # `pulumi import` (or a program's get): only the id. The inputs come from the job.
            inputs, found = lifecycle.imported(self._setup(), request.id, resource_key(request.urn))
            return provider_pb2.ReadResponse(id=found.id, properties=to_struct(properties.to_wire(found.outputs)),
                                             inputs=to_struct(properties.to_wire(inputs)))
        refreshed = lifecycle.read(self._setup(), request.id, props)
        if refreshed is None:
            return provider_pb2.ReadResponse(id="")  # gone: Pulumi drops it from state
        return provider_pb2.ReadResponse(id=refreshed.id, properties=to_struct(properties.to_wire(refreshed.outputs)),
                                         inputs=request.inputs)

    @_answered
    def Update(self, request: provider_pb2.UpdateRequest,  # noqa: N802
               context: grpc.ServicerContext) -> provider_pb2.UpdateResponse:
        outputs = lifecycle.update(self._setup(), request.id, self._fields(request.olds, request.urn),
                                   self._fields(request.news, request.urn))
        return provider_pb2.UpdateResponse(properties=to_struct(properties.to_wire(outputs)))

    @_answered
    def Delete(self, request: provider_pb2.DeleteRequest,  # noqa: N802
               context: grpc.ServicerContext) -> empty_pb2.Empty:
        lifecycle.delete(self._setup(), request.id, self._fields(request.properties, request.urn))
        return empty_pb2.Empty()


def _property_diff(field: str, olds: Mapping[str, Any], news: Mapping[str, Any],
                   replaces: bool) -> provider_pb2.PropertyDiff:
    """How one changed property shows in a preview: added, deleted or updated, and whether that
    replaces the job. `state` and the serving outputs are outputs (refresh's drift), not inputs."""
    kinds = provider_pb2.PropertyDiff
    if olds.get(field) is None and news.get(field) is not None:
        kind = kinds.ADD_REPLACE if replaces else kinds.ADD
    elif news.get(field) is None and olds.get(field) is not None and properties.is_input(field):
        kind = kinds.DELETE_REPLACE if replaces else kinds.DELETE
    else:
        kind = kinds.UPDATE_REPLACE if replaces else kinds.UPDATE
    return provider_pb2.PropertyDiff(kind=kind, inputDiff=properties.is_input(field))


def _from_variables(variables: Mapping[str, str]) -> dict[str, Any]:
    """Configuration as older engines send it: `vertex-tuning:config:KEY` -> value."""
    prefix = f"{properties.PACKAGE}:config:"
    return {k.removeprefix(prefix): v for k, v in variables.items() if k.startswith(prefix)}


def serve(plugin: TuningJobPlugin, workers: int = WORKERS) -> tuple[grpc.Server, int]:
    """Start a server of `plugin` on a free local port: (the server, its port)."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vertex-tuning"))
    provider_pb2_grpc.add_ResourceProviderServicer_to_server(plugin, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, port


def main(argv: list[str] | None = None) -> int:
    """The executable: serve, print the port (how the engine finds a plugin), run until stopped."""
    parser = argparse.ArgumentParser(
        prog="pulumi-resource-vertex-tuning",
        description="The vertex-tuning Pulumi provider plugin (a TuningJob per Vertex AI tuning job). "
        "The pulumi CLI starts it; it serves Pulumi's ResourceProvider protocol and prints its port.",
    )
    parser.add_argument("engine", nargs="?", help="the Pulumi engine's address, which the engine passes")
    args, _ = parser.parse_known_args(argv)
    if args.engine:
        engine_log.use_engine(args.engine)
    server, port = serve(TuningJobPlugin())
    print(port, flush=True)
    try:
        server.wait_for_termination()
    except KeyboardInterrupt:
        server.stop(0)
    return 0
