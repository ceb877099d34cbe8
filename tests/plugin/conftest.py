"""Plugin fixtures: the provider plugin's gRPC server, started in this process on a free port and
configured to reach the test's emulator, called through Pulumi's own generated stub as the
engine calls it.

- `plugin`: a `Plugin` (the stub, the servicer, and helpers that build requests from camelCase
  properties and read answers back as plain values).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import grpc  # type: ignore[import-untyped]
import pytest
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from tuning_provider.emulator import Emulator
from tuning_provider.plugin.properties import TOKEN
from tuning_provider.plugin.server import TuningJobPlugin, serve
from tuning_provider.plugin.structs import from_struct, to_struct

PROJECT, LOCATION = "test-project", "us-central1"
STACK, PULUMI_PROJECT, NAME = "test", "tuning", "reviews"
URN = f"urn:pulumi:{STACK}::{PULUMI_PROJECT}::{TOKEN}::{NAME}"
# A day after the gemini-2.5 models retired: the day base models are judged on.
TODAY = date(2026, 11, 30)


def job_properties(train_uri: str, **overrides: Any) -> dict[str, Any]:
    """A TuningJob's properties as a YAML program writes them."""
    props: dict[str, Any] = {
        "project": PROJECT,
        "baseModel": "gemini-3.5-flash",
        "trainingDatasetUri": train_uri,
        "epochCount": 2,
        "adapterSize": 4,
        "pollIntervalSeconds": 0.2,
        "waitTimeoutSeconds": 60,
    }
    props.update(overrides)
    return {k: v for k, v in props.items() if v is not None}


class Plugin:
    """The plugin's server and a stub calling it, as the engine would."""

    def __init__(self, emulator: Emulator) -> None:
        self.servicer = TuningJobPlugin(today=TODAY)
        self.server, port = serve(self.servicer)
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        self.stub = provider_pb2_grpc.ResourceProviderStub(self.channel)
        self.emulator = emulator
        self.stub.Configure(provider_pb2.ConfigureRequest(args=to_struct({"apiEndpoint": emulator.url})))

    def check(self, news: dict[str, Any], olds: dict[str, Any] | None = None,
              urn: str = URN) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        answer = self.stub.Check(provider_pb2.CheckRequest(urn=urn, olds=to_struct(olds or {}), news=to_struct(news)))
        return from_struct(answer.inputs), [(f.property, f.reason) for f in answer.failures]

    def checked(self, news: dict[str, Any], urn: str = URN) -> dict[str, Any]:
        inputs, failures = self.check(news, urn=urn)
        assert failures == []
        return inputs

    def create(self, inputs: dict[str, Any], urn: str = URN) -> tuple[str, dict[str, Any]]:
        answer = self.stub.Create(provider_pb2.CreateRequest(urn=urn, properties=to_struct(inputs)), timeout=120)
        return answer.id, from_struct(answer.properties)

    def diff(self, olds: dict[str, Any], news: dict[str, Any], urn: str = URN) -> provider_pb2.DiffResponse:
        return self.stub.Diff(provider_pb2.DiffRequest(urn=urn, id=olds.get("tuningJobName", ""),
                                                       olds=to_struct(olds), news=to_struct(news)))

    def read(self, id_: str, properties: dict[str, Any] | None = None,
             urn: str = URN) -> tuple[str, dict[str, Any], dict[str, Any]]:
        answer = self.stub.Read(provider_pb2.ReadRequest(urn=urn, id=id_, properties=to_struct(properties or {})))
        return answer.id, from_struct(answer.properties), from_struct(answer.inputs)

    def delete(self, outputs: dict[str, Any], urn: str = URN) -> None:
        self.stub.Delete(provider_pb2.DeleteRequest(urn=urn, id=outputs["tuningJobName"],
                                                    properties=to_struct(outputs)), timeout=120)

    def close(self) -> None:
        self.channel.close()
        self.server.stop(0)


@pytest.fixture
def plugin(request: pytest.FixtureRequest, emulator: Emulator) -> Iterator[Plugin]:
    if request.config.getoption("--clock-at", default=None):
        # A gRPC server started in a process whose clock time-machine moved never starts
        # serving (its core keeps the real clock): these tests run on the real clock only. The
        # dated decisions they reach (the catalog's, the CLI's) run under the moved clock through
        # the dynamic provider's and the CLI's tests, over the same core.
        pytest.skip("a gRPC server cannot start under --clock-at (time-machine)")
    started = Plugin(emulator)
    yield started
    started.close()
