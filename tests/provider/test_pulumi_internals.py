"""pulumi_internals: the hooks into the dynamic-provider server, in a real gRPC server laid out
as Pulumi's lays it out (one generic handler table, a pool of 4), and what they say when the
layout or the versions are not the known ones.

Nothing here waits on a clock to pass: which pool runs a call is read from the thread's name,
and the eight creates that run at once meet at a barrier whose timeout only stops a broken
hook from hanging the test."""

from __future__ import annotations

import threading
import types
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass
from typing import Any

import grpc  # type: ignore[import-untyped]
import pytest

from tuning_provider import pulumi_internals
from tuning_provider.pulumi_internals import (
    CANCEL,
    KNOWN_VERSIONS,
    SERVER_WORKERS,
    WORKERS_ENV,
    ServerHooks,
    configured_workers,
    engine_address,
    handler_tables,
    hook_provider_server,
    in_provider_server,
    resource_urn,
)

CREATE = "/pulumirpc.ResourceProvider/Create"
CHECK = "/pulumirpc.ResourceProvider/Check"
CALLS = 8
# Only a broken hook ever waits this long; a working one never comes near it.
FAILSAFE_SECONDS = 60


@dataclass
class Server:
    """A gRPC server laid out as pulumi's dynamic-provider server, and what its calls saw."""

    channel: grpc.Channel
    table: dict[str, Any]
    cancelled: threading.Event

    def creates(self) -> list[str]:
        """CALLS creates at once; each answers the name of the thread that ran it."""
        call = self.channel.unary_unary(CREATE)
        with futures.ThreadPoolExecutor(CALLS) as callers:
            return [answer.decode() for answer in callers.map(
                lambda _: call(b"", timeout=FAILSAFE_SECONDS), range(CALLS))]


@pytest.fixture
def server() -> Iterator[Server]:
    # With the hook, every create runs on the long calls' pool and waits there for the others.
    barrier = threading.Barrier(CALLS, timeout=FAILSAFE_SECONDS)

    def create(request: bytes, context: object) -> bytes:
        name = threading.current_thread().name
        if name.startswith("tuning-long-call"):
            barrier.wait()
        return name.encode()

    handlers = {
        CREATE: grpc.unary_unary_rpc_method_handler(create),
        CHECK: grpc.unary_unary_rpc_method_handler(lambda request, context: threading.current_thread().name.encode()),
        CANCEL: grpc.unary_unary_rpc_method_handler(lambda request, context: b"cancelled"),
    }
    grpc_server = grpc.server(futures.ThreadPoolExecutor(max_workers=SERVER_WORKERS, thread_name_prefix="server"))
    grpc_server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler("pulumirpc.ResourceProvider", {
            name.rsplit("/", 1)[1]: handler for name, handler in handlers.items()
        }),)
    )
    port = grpc_server.add_insecure_port("127.0.0.1:0")
    grpc_server.start()
    # Found as the provider finds it (the garbage collector), then only this test's server's.
    (table,) = [t for t in handler_tables() if t.get(CREATE) is handlers[CREATE]]
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    yield Server(channel, table, threading.Event())
    channel.close()
    grpc_server.stop(0)


@pytest.mark.real_clock  # gRPC's core reads the real clock: skipped under --clock-at
def test_without_the_hooks_creates_run_on_the_servers_own_pool_of_four(server: Server) -> None:
    assert all(name.startswith("server") for name in server.creates())


@pytest.mark.real_clock  # gRPC's core reads the real clock: skipped under --clock-at
def test_with_the_hooks_eight_creates_run_at_once_checks_stay_and_cancel_is_heard(server: Server) -> None:
    hooks = ServerHooks(versions=KNOWN_VERSIONS)
    try:
        installed = hooks.install([server.table], server.cancelled.set, workers=16)
        assert (installed.cancel, installed.workers, installed.note) == (True, 16, None)
        assert hooks.install([server.table], server.cancelled.set, workers=32) == installed  # once
        names = server.creates()  # all eight met at the barrier: they ran at once
        assert all(name.startswith("tuning-long-call") for name in names)
        assert server.channel.unary_unary(CHECK)(b"", timeout=FAILSAFE_SECONDS).decode().startswith("server")
        assert not server.cancelled.is_set()
        assert server.channel.unary_unary(CANCEL)(b"", timeout=FAILSAFE_SECONDS) == b"cancelled"
        assert server.cancelled.is_set()
    finally:
        hooks.shutdown()


def test_outside_the_provider_server_nothing_changes_and_nothing_is_said() -> None:
    assert not in_provider_server()
    hooks = hook_provider_server(on_cancel=lambda: None)
    assert (hooks.cancel, hooks.workers, hooks.note) == (False, SERVER_WORKERS, None)


def test_the_provider_server_and_the_engine_address_are_told_by_its_main_module() -> None:
    main = types.ModuleType("__main__")
    main.__spec__ = types.SimpleNamespace(name="pulumi.dynamic.__main__")  # type: ignore[assignment]
    assert in_provider_server(main)
    assert engine_address(main, ["python", "127.0.0.1:50051"]) == "127.0.0.1:50051"
    assert engine_address(main, ["python"]) is None
    assert engine_address(types.ModuleType("__main__"), ["python", "127.0.0.1:50051"]) is None


@pytest.mark.real_clock  # gRPC's core reads the real clock: skipped under --clock-at
def test_the_environment_can_turn_the_wide_pool_off_and_the_note_says_so(server: Server) -> None:
    assert configured_workers({WORKERS_ENV: "0"}) == 0
    assert configured_workers({WORKERS_ENV: "many"}) == configured_workers({}) == pulumi_internals.DEFAULT_WORKERS
    hooks = ServerHooks(versions=KNOWN_VERSIONS).install([server.table], server.cancelled.set, workers=0)
    assert (hooks.cancel, hooks.workers) == (True, SERVER_WORKERS)
    assert hooks.note == (f"note: {WORKERS_ENV}=0: Ctrl-C stops a waiting create at once and TuningJob creates "
                          "beyond 4 queue until one ends; checks, previews and ups work as before "
                          "(tuning_provider/pulumi_internals.py)")
    assert all(name.startswith("server") for name in server.creates())


@pytest.mark.real_clock  # gRPC's core reads the real clock: skipped under --clock-at
def test_other_versions_are_named_in_one_line_with_what_still_works(server: Server) -> None:
    hooks = ServerHooks(versions={**KNOWN_VERSIONS, "pulumi": "3.300.0"})
    try:
        installed = hooks.install([server.table], server.cancelled.set, workers=16)
    finally:
        hooks.shutdown()
    assert installed.note is not None and "\n" not in installed.note
    assert installed.note.startswith(f"note: pulumi 3.300.0 (checked: {KNOWN_VERSIONS['pulumi']}): ")
    assert "Ctrl-C stops a waiting create at once and up to 16 TuningJob creates run at once" in installed.note


def test_a_server_laid_out_otherwise_changes_nothing_and_says_what_is_lost() -> None:
    hooks = ServerHooks(versions={"pulumi": "4.0.0", "grpcio": "2.0.0"}).install([], lambda: None, workers=16)
    assert (hooks.cancel, hooks.workers) == (False, SERVER_WORKERS)
    assert hooks.note == (
        f"note: pulumi 4.0.0 (checked: {KNOWN_VERSIONS['pulumi']}); grpcio 2.0.0 (checked: "
        f"{KNOWN_VERSIONS['grpcio']}); the dynamic-provider server's handler table was not found: Ctrl-C lets "
        "a waiting create run to its wait_timeout_seconds and TuningJob creates beyond 4 queue until one ends; "
        "checks, previews and ups work as before (tuning_provider/pulumi_internals.py)"
    )


def test_the_installed_versions_are_the_known_ones() -> None:
    # requirements.txt and constraints.txt pin them; a bump re-checks the layout (see the module).
    assert pulumi_internals.installed_versions() == KNOWN_VERSIONS


def test_a_urn_is_spelt_as_the_engine_spells_it() -> None:
    assert resource_urn("dev", "tuning", "pulumi-python:dynamic/vertex:TuningJob", "reviews") == (
        "urn:pulumi:dev::tuning::pulumi-python:dynamic/vertex:TuningJob::reviews"
    )
