"""An append-only SQLite journal with a retention: the one store behind the event store and
the control-plane trail.

Each journal is one table in its own file: ``seq`` (insertion order), a time column (UTC ISO
8601 text with microseconds, so text order is time order) and the store's own columns. Rows
are appended, read back oldest first within a time window (optionally filtered by exact
column values), and rows older than the retention are deleted: once when the journal is
opened, then at most once per ``prune_every_s`` on append. Pruning is one indexed ``delete``
on the time column, so it stays cheap however large the file grows.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from core.sqlitefile import session

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
PRUNE_EVERY_S = 3600.0


def stamp(when: datetime) -> str:
    """The stored form of a time: UTC, microseconds, fixed width, so it sorts as text."""
    return when.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class JournalTable:
    """One journal's table: its name, its time column and its other columns with their DDL."""

    name: str
    time_column: str
    columns: tuple[tuple[str, str], ...]  # (name, "text not null"), in insert order
    # A column whose value a row may hold only once: appending a row whose value is already
    # there stores nothing (a replayed write is not a second row). Its DDL must allow NULL
    # (rows written before the column existed hold NULL), e.g. ("dedup_key", "text").
    unique_column: str | None = None

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)

    def schema(self) -> str:
        defs = ",\n    ".join(f"{name} {ddl}" for name, ddl in self.columns)
        return (
            f"create table if not exists {self.name} (\n"
            f"    seq integer primary key autoincrement,\n"
            f"    {self.time_column} text not null,\n"
            f"    {defs}\n);\n"
            f"create index if not exists {self.name}_{self.time_column} "
            f"on {self.name}({self.time_column});\n"
        )

    def unique_index(self) -> str:
        """The unique index on `unique_column` ("" without one), made after any migration."""
        if self.unique_column is None:
            return ""
        column = self.unique_column
        return f"create unique index if not exists {self.name}_{column} on {self.name}({column});"


def _migrate(db: sqlite3.Connection, table: JournalTable) -> None:
    """Add the columns a file written by an older Borealis lacks (their DDL allows NULL or has
    a default), then the unique index: an existing journal keeps its rows."""
    present = {row[1] for row in db.execute(f"pragma table_info({table.name})")}
    for name, ddl in table.columns:
        if name not in present:
            db.execute(f"alter table {table.name} add column {name} {ddl}")
    if table.unique_column is not None:
        db.execute(table.unique_index())


class Journal:
    """Append, read by time window and filters, prune by retention. Thread-safe."""

    def __init__(
        self,
        path: Path,
        table: JournalTable,
        retention: timedelta,
        *,
        prune_every_s: float = PRUNE_EVERY_S,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if retention <= timedelta(0):
            raise ValueError(f"a journal's retention must be positive, not {retention}")
        self.path = path
        self.table = table
        self.retention = retention
        self.prune_every_s = prune_every_s
        self._clock = clock
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        with session(self.path) as db:
            db.executescript(table.schema())
            _migrate(db, table)
        self._last_prune = time.monotonic()
        self.prune()

    def append(self, when: datetime, values: Sequence[Any]) -> bool:
        """One row: `values` in the order of the table's columns. False when the table's
        unique column already holds this row's value: nothing was stored."""
        names = self.table.column_names
        if len(values) != len(names):
            raise ValueError(f"{self.table.name} takes {len(names)} values, got {len(values)}")
        columns = ", ".join((self.table.time_column, *names))
        marks = ", ".join("?" * (len(names) + 1))
        verb = "insert" if self.table.unique_column is None else "insert or ignore"
        with self._lock, session(self.path) as db:
            stored = db.execute(
                f"{verb} into {self.table.name}({columns}) values ({marks})",
                (stamp(when), *values),
            ).rowcount
        if time.monotonic() - self._last_prune >= self.prune_every_s:
            self.prune()
        return stored == 1

    def rows(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        where: Mapping[str, Any] | None = None,
    ) -> list[tuple[Any, ...]]:
        """Rows oldest first (time, then insertion) within [since, until), each as
        (time, *columns); `where` keeps rows whose columns equal the given values."""
        low = stamp(since or EPOCH)
        high = stamp(until or self._clock() + timedelta(days=1))
        clauses = [f"{self.table.time_column} >= ?", f"{self.table.time_column} < ?"]
        params: list[Any] = [low, high]
        for column, value in (where or {}).items():
            if column not in self.table.column_names:
                raise ValueError(f"{self.table.name} has no column {column!r}")
            clauses.append(f"{column} = ?")
            params.append(value)
        columns = ", ".join((self.table.time_column, *self.table.column_names))
        with session(self.path) as db:
            found = db.execute(
                f"select {columns} from {self.table.name} where {' and '.join(clauses)} "
                f"order by {self.table.time_column}, seq",
                params,
            ).fetchall()
        return [tuple(row) for row in found]

    def rows_after(self, seq: int, limit: int) -> list[tuple[Any, ...]]:
        """Up to `limit` rows appended after row `seq`, in insertion order, each as
        (seq, time, *columns): how a follower reads on from where it stopped."""
        columns = ", ".join(("seq", self.table.time_column, *self.table.column_names))
        with session(self.path) as db:
            found = db.execute(
                f"select {columns} from {self.table.name} where seq > ? order by seq limit ?",
                (seq, limit),
            ).fetchall()
        return [tuple(row) for row in found]

    def last_seq(self) -> int:
        """The seq of the newest row ever appended (0 for a journal never written)."""
        with session(self.path) as db:
            found = db.execute(f"select max(seq) from {self.table.name}").fetchone()[0]
        return int(found or 0)

    def prune(self) -> int:
        """Delete the rows older than the retention; returns how many went."""
        cutoff = stamp(self._clock() - self.retention)
        with self._lock, session(self.path) as db:
            deleted = db.execute(
                f"delete from {self.table.name} where {self.table.time_column} < ?", (cutoff,)
            ).rowcount
        self._last_prune = time.monotonic()
        return int(deleted)

    def count(self) -> int:
        with session(self.path) as db:
            return int(db.execute(f"select count(*) from {self.table.name}").fetchone()[0])
