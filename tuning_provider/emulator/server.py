"""Serving the emulator: a stdlib ThreadingHTTPServer around `app.App`, started in a thread
and stopped cleanly, plus `Emulator`, which puts state, app and server together.

    with Emulator(state_dir, gcs_dir, job_duration=1.0) as emu:
        ...  # talk to emu.url

It binds port 0 (a free port) unless told otherwise, so tests never fight over ports;
`ready` is set once requests are being served. `serve_until_signalled` runs it in the
foreground until SIGTERM or SIGINT, for the command line.
"""

from __future__ import annotations

import logging
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from tuning_provider.emulator.app import (
    AnswerObserver,
    App,
    FaultInjector,
    FileSlice,
    HttpError,
    Request,
    Response,
    error_response,
    rpc_code_for,
)
from tuning_provider.emulator.bigquery import BigQueryStore
from tuning_provider.emulator.gcs import GcsStore
from tuning_provider.emulator.state import Clock, DatasetValidator, JobDuration, VertexState
from tuning_provider.errors import InvalidRequest

__all__ = ["Emulator", "EmulatorServer", "serve_until_signalled"]

_log = logging.getLogger(__name__)

DB_FILE_NAME = "emulator.sqlite3"
_COPY_CHUNK = 1 << 20
# An idle keep-alive connection is closed after this long, so its thread ends.
_IDLE_CONNECTION_SECONDS = 60
# How often the serving loop checks for a stop request: the longest a stop() waits.
_POLL_SECONDS = 0.05


class _Handler(BaseHTTPRequestHandler):
    """Reads one request, asks the app, writes the response. Every method is accepted here
    and judged by the app (404 when no route serves it), so an odd method never gets the stdlib's 501 page."""

    server: EmulatorServer
    protocol_version = "HTTP/1.1"  # keep-alive, as google-genai's httpx client expects
    # Headers and body go out in two writes; with Nagle's algorithm the second waits for the
    # client's delayed ACK (~40 ms a request on keep-alive connections).
    disable_nagle_algorithm = True
    timeout = _IDLE_CONNECTION_SECONDS

    def __getattr__(self, name: str) -> Any:
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    def _dispatch(self) -> None:
        try:
            body = self._read_body()
        except ValueError:
            # The framing is unreadable, so the rest of the connection is too.
            self.close_connection = True
            unreadable = InvalidRequest("The request body's length is unreadable.")
            self._write(error_response(unreadable), include_body=True)
            return
        request = Request.from_target(self.command, self.path, dict(self.headers.items()), body)
        response = self.server.app.handle(request)
        self._write(response, include_body=self.command != "HEAD")

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The stdlib's own errors (a malformed request line, oversized headers) as Google's
        JSON error body instead of an HTML page."""
        self.close_connection = True
        text = message or explain or HTTPStatus(code).phrase
        status = rpc_code_for(code)
        error = HttpError(text, status=code, code=status)
        self._write(error_response(error), include_body=self.command != "HEAD")

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline().strip():  # trailers, up to the blank line
                pass
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _write(self, response: Response, *, include_body: bool) -> None:
        body = response.body
        length = body.length if isinstance(body, FileSlice) else len(body)
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        if not include_body or length == 0:
            return
        if isinstance(body, FileSlice):
            with body.path.open("rb") as data:
                data.seek(body.start)
                remaining = body.length
                while remaining > 0 and (chunk := data.read(min(_COPY_CHUNK, remaining))):
                    self.wfile.write(chunk)
                    remaining -= len(chunk)
        else:
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        # Quiet by default: the command line's stdout carries exactly one line.
        _log.debug("%s %s", self.address_string(), format % args)


class EmulatorServer(ThreadingHTTPServer):
    """A threaded HTTP server for an App, run in a background thread."""

    daemon_threads = True

    def __init__(self, app: App, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__((host, port), _Handler)
        self.app = app
        self.ready = threading.Event()
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        if isinstance(host, bytes):
            host = host.decode()
        return f"http://{host}:{port}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._serve, name="tuning-emulator", daemon=True)
        self._thread.start()
        self.ready.wait()

    def _serve(self) -> None:
        self.ready.set()  # the socket has listened since construction; requests queue until now
        self.serve_forever(poll_interval=_POLL_SECONDS)

    def stop(self) -> None:
        """Stop accepting, close idle keep-alive connections, release the port."""
        if self._thread is not None:
            self.shutdown()
            self._thread.join()
            self._thread = None
        with self._connections_lock:
            for connection in self._connections:
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        self.server_close()
        self.ready.clear()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-answer is routine; anything else is a bug worth a trace.
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            _log.debug("connection from %s ended: %r", client_address, error)
        else:
            _log.exception("error serving %s", client_address)

    def track(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.add(connection)

    def untrack(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.discard(connection)


class Emulator:
    """The Vertex tuning emulator: SQLite state under `state_dir`, buckets under `gcs_dir`,
    BigQuery tables (of multimodal datasets) under `bigquery_dir`, by default STATE_DIR/bigquery.

    `job_duration` is how long new jobs take (seconds, create to SUCCEEDED), or a function
    asked once per new job for its duration; `fault_rate` the fraction of Vertex requests
    answered 429/503, reproducible with `fault_seed`.
    `clock` (seconds since the epoch) decides job states; tests pass a fake one.
    `cancel_seconds` is how long a cancelled job stays CANCELLING (0: CANCELLED at once).
    `validate_dataset` replaces `tuning_provider.dataset.validate_dataset`.
    `on_answer(request, response)` sees every request once answered (benchmarks watch with it).
    `go_offline()` and `come_back()` make it refuse connections for a while, as a network blip.
    """

    def __init__(
        self,
        state_dir: str | Path,
        gcs_dir: str | Path,
        job_duration: JobDuration = 2.0,
        fault_rate: float = 0.0,
        fault_seed: int | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        clock: Clock = time.time,
        validate_dataset: DatasetValidator | None = None,
        bigquery_dir: str | Path | None = None,
        on_answer: AnswerObserver | None = None,
        cancel_seconds: float = 0.0,
    ) -> None:
        self.state_dir = Path(state_dir)
        self.gcs_dir = Path(gcs_dir)
        self.bigquery_dir = Path(bigquery_dir) if bigquery_dir is not None else self.state_dir / "bigquery"
        self.job_duration = job_duration
        self.cancel_seconds = cancel_seconds
        self.host = host
        self.port = port
        self._faults = FaultInjector(fault_rate, fault_seed)  # checks the rate before anything starts
        self._clock = clock
        self._validate_dataset = validate_dataset
        self._on_answer = on_answer
        self.gcs: GcsStore | None = None
        self.state: VertexState | None = None
        self._server: EmulatorServer | None = None
        # While offline (go_offline): the app that comes back, and the URL it comes back at.
        self._app: App | None = None
        self._offline_url: str | None = None

    @property
    def url(self) -> str:
        """http://HOST:PORT of the running emulator (also while it is offline)."""
        if self._server is not None:
            return self._server.url
        if self._offline_url is not None:
            return self._offline_url
        raise RuntimeError("the emulator is not running: call start() or use it in a with block")

    def go_offline(self) -> None:
        """Stop answering, as a network blip or a restarting front end would: the port is closed
        (connecting is refused, open connections are cut) until `come_back`, which serves the
        same state on the same port again."""
        if self._server is None:
            raise RuntimeError("the emulator is not running: call start() or use it in a with block")
        server, self._server = self._server, None
        self._offline_url = server.url
        self.port = server.server_port  # a port chosen at start (port 0) is the one to come back on
        self._app = server.app
        server.stop()

    def come_back(self) -> None:
        """Answer again after `go_offline`, on the same port and with the same state."""
        if self._app is None or self._server is not None:
            raise RuntimeError("the emulator is not offline: call go_offline() first")
        self._server = EmulatorServer(self._app, self.host, self.port)
        self._server.start()
        self._app = self._offline_url = None

    def start(self) -> Emulator:
        if self._server is not None:
            return self
        if self._app is not None:  # offline
            self.come_back()
            return self
        self.gcs = GcsStore(self.gcs_dir)
        self.state = VertexState(
            self.state_dir / DB_FILE_NAME,
            self.gcs,
            job_duration=self.job_duration,
            cancel_seconds=self.cancel_seconds,
            clock=self._clock,
            validate_dataset=self._validate_dataset,
            bigquery=BigQueryStore(self.bigquery_dir),
        )
        try:
            app = App(self.state, self.gcs, self._faults, self._on_answer)
            self._server = EmulatorServer(app, self.host, self.port)
        except OSError:
            self.state.close()
            raise
        self._server.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the database; safe to call twice, and while offline."""
        if self._server is not None:
            self._server.stop()
            self._server = None
        self._app = self._offline_url = None
        if self.state is not None:
            self.state.close()
            self.state = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def serve_until_signalled(emulator: Emulator, on_ready: Callable[[str], None]) -> None:
    """Run `emulator` until SIGTERM or SIGINT, then stop it cleanly.

    `on_ready(url)` is called once requests are being served. Must run in the main thread
    (Python delivers signals there); the previous signal handlers are restored afterwards.
    """
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        emulator.start()
        on_ready(emulator.url)
        while not stop.wait(0.5):  # a timed wait: signal handlers run between waits
            pass
    finally:
        emulator.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)

