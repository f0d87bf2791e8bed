"""SQLite files in the state directory (events, trail): short sessions, WAL journal, so the
supervisor, the collector and the CLI can read and write them at once."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from core.errors import BorealisError


@contextmanager
def session(path: Path) -> Iterator[sqlite3.Connection]:
    """A connection that commits on success and is always closed."""
    db = sqlite3.connect(path, timeout=10)
    try:
        db.execute("pragma journal_mode=wal")
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
