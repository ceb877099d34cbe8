"""The emulator put together: `Emulator` holds the Vertex state, Cloud Storage, the BigQuery
stand-in, the fault plan, the app and the HTTP server, and starts and stops them.

    with Emulator(state_dir, gcs_dir, job_duration=1.0) as emu:
        ...  # talk to emu.url

`serve_until_signalled` runs one in the foreground until SIGTERM or SIGINT, for the command line.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from types import FrameType, TracebackType

from tuning_provider.emulator.bigquery import BigQueryStore
from tuning_provider.emulator.gcs import GcsStore
from tuning_provider.emulator.http.app import AnswerObserver, App
from tuning_provider.emulator.http.faults import FaultPlan, FaultRule
from tuning_provider.emulator.http.serving import EmulatorServer
from tuning_provider.emulator.vertex.state import Clock, DatasetValidator, JobDuration, VertexState

__all__ = ["DB_FILE_NAME", "Emulator", "serve_until_signalled"]

DB_FILE_NAME = "emulator.sqlite3"


class Emulator:
    """The Vertex tuning emulator: SQLite state under `state_dir`, buckets under `gcs_dir`,
    BigQuery tables (of multimodal datasets) under `bigquery_dir`, by default STATE_DIR/bigquery.

    `job_duration` is how long new jobs take (seconds, create to SUCCEEDED), or a function
    asked once per new job for its duration; `fault_rate` the fraction of Vertex requests
    answered 429/503, reproducible with `fault_seed`; `faults` the rules of the fault plan
    (`http.faults`: `FaultRule`s, or their lines), which `faults` also holds for adding more
    while it runs; `list_lag` how long (on `clock`) a new tuning job stays out of filtered lists.
    `clock` (seconds since the epoch) decides job states; tests pass a fake one.
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
        faults: Iterable[FaultRule | str] | str = (),
        list_lag: float = 0.0,
    ) -> None:
        self.state_dir = Path(state_dir)
        self.gcs_dir = Path(gcs_dir)
        self.bigquery_dir = Path(bigquery_dir) if bigquery_dir is not None else self.state_dir / "bigquery"
        self.job_duration = job_duration
        self.host = host
        self.port = port
        # Checked here, before anything starts: the rate, each rule, the lag.
        self.faults = FaultPlan((faults,) if isinstance(faults, str) else faults, rate=fault_rate, seed=fault_seed)
        if not list_lag >= 0:
            raise ValueError(f"list_lag must be 0 seconds or more, not {list_lag}")
        self.list_lag = list_lag
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
            clock=self._clock,
            validate_dataset=self._validate_dataset,
            bigquery=BigQueryStore(self.bigquery_dir),
            list_lag=self.list_lag,
        )
        try:
            app = App(self.state, self.gcs, self.faults, self._on_answer)
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

