"""provider_server: long calls on a wide pool of their own, in a real gRPC server laid out as
Pulumi's dynamic-provider server lays it out (a generic handler table, a pool of 4)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent import futures

import grpc  # type: ignore[import-untyped]
import pytest

from tuning_provider import provider_server

CREATE = "/pulumirpc.ResourceProvider/Create"
CHECK = "/pulumirpc.ResourceProvider/Check"
CALLS = 8
# gRPC's core reads the real clock while its Python layer would read the moved one: a server
# does not start under `pytest --clock-at`.
pytestmark = pytest.mark.real_clock


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[grpc.Channel, threading.Barrier]]:
    """A server whose Create waits until CALLS creates run at once (or 2 s pass)."""
    barrier = threading.Barrier(CALLS, timeout=2)

    def create(request: bytes, context: object) -> bytes:
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            return b"queued"
        return b"together"

    handlers = {
        CREATE: grpc.unary_unary_rpc_method_handler(create),
        CHECK: grpc.unary_unary_rpc_method_handler(lambda request, context: b"checked"),
    }
    grpc_server = grpc.server(futures.ThreadPoolExecutor(max_workers=provider_server.SERVER_WORKERS))
    grpc_server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler("pulumirpc.ResourceProvider", {
            name.rsplit("/", 1)[1]: handler for name, handler in handlers.items()
        }),)
    )
    port = grpc_server.add_insecure_port("127.0.0.1:0")
    grpc_server.start()
    monkeypatch.setattr(provider_server, "in_provider_server", lambda: True)
    monkeypatch.setattr(provider_server, "_pool", None)
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    yield channel, barrier
    channel.close()
    grpc_server.stop(0)
    if provider_server._pool is not None:
        provider_server._pool.shutdown(wait=False)


def _creates(channel: grpc.Channel) -> list[bytes]:
    call = channel.unary_unary(CREATE)
    with futures.ThreadPoolExecutor(CALLS) as callers:
        return list(callers.map(lambda _: call(b"", timeout=10), range(CALLS)))


def test_without_the_hook_creates_beyond_four_queue(server):
    channel, _ = server
    assert set(_creates(channel)) == {b"queued"}


def test_with_the_hook_eight_creates_run_at_once_and_checks_still_answer(server):
    channel, _ = server
    assert provider_server.widen_long_calls(16) == 16
    assert provider_server.widen_long_calls(32) == 16  # once per process
    assert _creates(channel) == [b"together"] * CALLS
    assert channel.unary_unary(CHECK)(b"", timeout=5) == b"checked"


def test_outside_the_provider_server_nothing_changes(monkeypatch):
    monkeypatch.setattr(provider_server, "_pool", None)
    assert provider_server.widen_long_calls(16) == provider_server.SERVER_WORKERS


def test_the_environment_can_turn_it_off(server, monkeypatch):
    monkeypatch.setenv(provider_server.WORKERS_ENV, "0")
    assert provider_server.widen_long_calls() == provider_server.SERVER_WORKERS
