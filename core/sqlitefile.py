"""SQLite files in the state directory (events, trail): short sessions, WAL journal, so the
supervisor, the collector and the CLI can read and write them at once."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from core.errors import BorealisError

BUSY_TIMEOUT_S = 10.0


def _use_wal(db: sqlite3.Connection) -> None:
    """Put the file in WAL mode (it stays so). SQLite answers a mode change that meets
    another connection's lock with "database is locked" at once, without waiting as it
    waits for other statements: several processes opening a new file together (the CLI,
    the collector, the cloudwatch service at the first `up`) would fail, so retry."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            if db.execute("pragma journal_mode").fetchone()[0] != "wal":
                db.execute("pragma journal_mode=wal")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


@contextmanager
def session(path: Path) -> Iterator[sqlite3.Connection]:
    """A connection that commits on success and is always closed."""
    db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S)
    try:
        _use_wal(db)
        yield db
        db.commit()
    except sqlite3.DatabaseError as exc:
        if isinstance(exc, sqlite3.OperationalError):
            raise
        raise BorealisError(
            f"{path} is not a usable SQLite database ({exc}); move it aside and Borealis "
            "starts a new, empty one"
        ) from None
    finally:
        db.close()
