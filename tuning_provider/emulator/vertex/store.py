"""What every resource module of the emulator shares: one SQLite database behind one lock
(the HTTP server is threaded), the clock job states are read from, and the id picker.

Each resource module declares its own tables (`Store.declare`) and keeps its own rows; no
module writes another's tables.
"""

from __future__ import annotations

import contextlib
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tuning_provider.errors import NotFound

__all__ = ["Clock", "Store", "split_name"]

Clock = Callable[[], float]


class Store:
    """A SQLite database at `db_path`, a re-entrant lock around it, a clock and ids."""

    def __init__(self, db_path: Path, clock: Clock = time.time) -> None:
        Path(db_path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(db_path), check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self.lock = threading.RLock()
        self.clock = clock
        self._ids = random.Random()  # ids only need to be unique, not predictable

    def declare(self, schema: str) -> None:
        """Create a module's tables if this database does not have them yet."""
        with self.lock:
            self._db.executescript(schema)

    def add_column(self, table: str, column: str, definition: str) -> None:
        """Add a column to a table of a database written by an older emulator (a no-op when the
        table already has it), so that a restarted emulator keeps its state."""
        with self.lock:
            columns = {row["name"] for row in self._db.execute(f"PRAGMA table_info({table})")}
            if column not in columns:
                self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")

    def has_table(self, table: str) -> bool:
        with self.lock:
            found = self._db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,))
            return found.fetchone() is not None

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        with self.lock:
            return self._db.execute(sql, params)

    def one(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Row | None:
        with self.lock:
            row: sqlite3.Row | None = self._db.execute(sql, params).fetchone()
            return row

    def all(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self.lock:
            return self._db.execute(sql, params).fetchall()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing, under the lock."""
        with self.lock:
            self._db.execute("BEGIN")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def new_id(self) -> str:
        """A 19-digit id, the shape of Vertex's numeric resource ids."""
        with self.lock:
            return str(self._ids.randrange(10**18, 10**19))

    def close(self) -> None:
        with self.lock:
            self._db.close()


def split_name(name: str, collection: str) -> tuple[str, str]:
    """("projects/P/locations/L", ID) of "projects/P/locations/L/{collection}/ID"."""
    parent, _, rest = name.partition(f"/{collection}/")
    if not parent.startswith("projects/") or not rest or "/" in rest:
        raise NotFound(f"{name} is not a {collection} resource name.")
    return parent, rest
