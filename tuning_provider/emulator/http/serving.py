"""Serving HTTP: a stdlib ThreadingHTTPServer around `app.App`, started in a thread and stopped
cleanly, and its handler, which reads a request, asks the app, and delivers the response as it
says: at once, held back (until the client hangs up), or not at all, the connection reset.

It binds port 0 (a free port) unless told otherwise, so tests never fight over ports; `ready`
is set once requests are being served.
"""

from __future__ import annotations

import logging
import selectors
import socket
import struct
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tuning_provider.emulator.http.app import App, FileSlice, HttpError, Request, Response, error_response, rpc_code_for
from tuning_provider.errors import InvalidRequest

__all__ = ["EmulatorServer"]

_log = logging.getLogger(__name__)

_COPY_CHUNK = 1 << 20
# An idle keep-alive connection is closed after this long, so its thread ends.
_IDLE_CONNECTION_SECONDS = 60
# How often the serving loop checks for a stop request: the longest a stop() waits.
_POLL_SECONDS = 0.05
# SO_LINGER on, 0 seconds: closing the socket sends a reset (RST), not an orderly FIN.
_RESET_ON_CLOSE = struct.pack("ii", 1, 0)


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
        if response.reset or (response.hold_seconds and self._client_hangs_up(response.hold_seconds)):
            # The request has acted; its answer is lost. No more requests on this connection:
            # closed with a reset (RST) when asked, else quietly (the client has gone).
            self.close_connection = True
            if response.reset:
                self.server.reset_on_close(self.connection)
            return
        self._write(response, include_body=self.command != "HEAD")

    def _client_hangs_up(self, seconds: float) -> bool:
        """Hold the answer up to `seconds`; True as soon as the client hangs up (or the server
        stops), False once the time has passed with the client still waiting."""
        deadline = time.monotonic() + seconds
        with selectors.DefaultSelector() as watch:
            watch.register(self.connection, selectors.EVENT_READ)
            while (remaining := deadline - time.monotonic()) > 0:
                if not watch.select(remaining):
                    continue
                try:
                    sent = self.connection.recv(1, socket.MSG_PEEK)
                except OSError:
                    return True
                if not sent:  # end of stream: the client closed its side (or stop() shut it)
                    return True
                # The client sent more while waiting (pipelining): it is still there.
                self.server.stopping.wait(max(0.0, deadline - time.monotonic()))
                return self.server.stopping.is_set()
        return False

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
        self._to_reset: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self.stopping = threading.Event()  # set by stop(): answers held back give up
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
        self.stopping.set()
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

    def reset_on_close(self, connection: socket.socket) -> None:
        """Close `connection` with a reset once its handler ends (`shutdown_request`)."""
        with self._connections_lock:
            self._to_reset.add(connection)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            reset = request in self._to_reset
            self._to_reset.discard(request)
        if not reset:
            super().shutdown_request(request)
            return
        # No shutdown(SHUT_WR) first: it would send an orderly FIN before the reset.
        try:
            request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET_ON_CLOSE)
        except OSError:
            pass  # already closed by the client: nothing to reset
        self.close_request(request)
