"""Top SQL statistics (pg_stat_statements deltas per digest) and PI's db.*/os.* counters.

Read every `stats_interval_s` on the sampler's own connection. pg_stat_statements is read
without its text (`pg_stat_statements(false)`); the text of a query id is fetched once, when
the id first shows up. Missing extensions or privileges only leave the stats out.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from collector.digest import normalize
from collector.pi_catalog import STAT_FIELDS
from collector.queries import query_for
from collector.sources.base import fetch_all, fetch_one
from collector.targets import Target

log = logging.getLogger(__name__)

MAX_STATEMENTS = 500  # deltas kept per read, by execution time
MAX_NEW_TEXTS = 100  # statement texts fetched per read

# database.sql column -> (counter key, scale): PI counts times in milliseconds.
_DATABASE_KEYS = {
    "backends": ("numbackends", 1.0),
    "blk_read_seconds": ("blk_read_time", 1000.0),
    "blk_write_seconds": ("blk_write_time", 1000.0),
}

# pg_stat_bgwriter / pg_stat_checkpointer column -> counter key (PG 17 renamed some).
_BGWRITER_KEYS = {
    "checkpoints_timed": "checkpoints_timed",
    "num_timed": "checkpoints_timed",
    "checkpoints_req": "checkpoints_req",
    "num_requested": "checkpoints_req",
    "buffers_checkpoint": "buffers_checkpoint",
    "buffers_written": "buffers_checkpoint",
    "buffers_clean": "buffers_clean",
    "maxwritten_clean": "maxwritten_clean",
    "buffers_backend": "buffers_backend",
    "buffers_backend_fsync": "buffers_backend_fsync",
    "buffers_alloc": "buffers_alloc",
}


@dataclass(frozen=True)
class StatementDelta:
    digest_id: str
    values: tuple[float, ...]  # STAT_FIELDS order


@dataclass(frozen=True)
class StatsSnapshot:
    target: Target
    wall_time: float
    seconds: float  # since the previous read (0 on the first)
    statements: tuple[StatementDelta, ...]
    counters: dict[str, float]
    digest_texts: dict[str, str] = field(default_factory=dict)  # newly learnt, no literals


def composed(name: str, version_num: int, schema: str) -> sql.Composed:
    """A .sql file whose `{schema}` is an extension's schema, quoted as an identifier."""
    text = query_for(name, version_num)
    if text is None:
        raise psycopg.NotSupportedError(f"{name} needs a newer server")
    return sql.SQL(text).format(schema=sql.Identifier(schema))


class StatsReader:
    def __init__(self, target: Target) -> None:
        self.target = target
        self.local = is_local(target)
        self._previous: dict[int, tuple[float, ...]] | None = None
        self._previous_at = 0.0
        self._known_texts: set[int] = set()
        self.statements_error: str | None = None

    def reset(self) -> None:
        """After a reconnect the baseline may belong to another server (a failover)."""
        self._previous = None

    @property
    def has_baseline(self) -> bool:
        """Whether pg_stat_statements was read since the last reset: the next read has
        deltas."""
        return self._previous is not None

    def read(
        self, conn: psycopg.Connection[Any], version_num: int, pgss_schema: str | None
    ) -> StatsSnapshot:
        now = time.time()
        counters = read_counters(conn, version_num, local=self.local)
        statements: tuple[StatementDelta, ...] = ()
        texts: dict[str, str] = {}
        seconds = now - self._previous_at if self._previous is not None else 0.0
        if pgss_schema is not None and version_num >= 130000:
            try:
                statements, texts = self._statements(conn, version_num, pgss_schema)
                self.statements_error = None
            except psycopg.Error as exc:
                # The extension is there but not loaded (shared_preload_libraries), or old.
                self.statements_error = str(exc).strip().splitlines()[0]
                self._previous = None
        self._previous_at = now
        return StatsSnapshot(self.target, now, seconds, statements, counters, texts)

    def _statements(
        self, conn: psycopg.Connection[Any], version_num: int, schema: str
    ) -> tuple[tuple[StatementDelta, ...], dict[str, str]]:
        rows = fetch_all(conn, composed("top_sql", version_num, schema).as_string(conn))
        current = {int(r["queryid"]): tuple(float(r[f] or 0) for f in STAT_FIELDS) for r in rows}
        previous = self._previous
        self._previous = current
        if previous is None:
            return (), {}
        deltas = []
        for query_id, values in current.items():
            before = previous.get(query_id)
            if before is None or values[0] < before[0]:  # new, or reset since
                delta = values
            else:
                delta = tuple(a - b for a, b in zip(values, before, strict=True))
            if delta[0] > 0:
                deltas.append(StatementDelta(str(query_id), delta))
        deltas.sort(key=lambda d: d.values[1], reverse=True)
        kept = tuple(deltas[:MAX_STATEMENTS])
        wanted = [int(d.digest_id) for d in kept if int(d.digest_id) not in self._known_texts]
        texts: dict[str, str] = {}
        if wanted:
            found = fetch_all(
                conn,
                composed("top_sql_text", version_num, schema).as_string(conn),
                {"ids": wanted[:MAX_NEW_TEXTS]},
            )
            for row in found:
                self._known_texts.add(int(row["queryid"]))
                texts[str(row["queryid"])] = normalize(row["query"] or "")
            if len(self._known_texts) > 50_000:
                self._known_texts.clear()
        return kept, texts


def is_local(target: Target) -> bool:
    """Whether the instance runs on this host (so this host's CPUs and load are its own)."""
    host = str(psycopg.conninfo.conninfo_to_dict(target.dsn).get("host") or "")
    return host in {"", "127.0.0.1", "localhost", "::1"} or host.startswith("/")


def read_counters(
    conn: psycopg.Connection[Any], version_num: int, *, local: bool
) -> dict[str, float]:
    out: dict[str, float] = {}
    # pg_stat_database through the metrics' own query (collector/sql/database*.sql).
    database = fetch_one(conn, query_for("database", version_num) or "") or {}
    for key, value in database.items():
        if isinstance(value, int | float):
            name, scale = _DATABASE_KEYS.get(key, (key, 1.0))
            out[name] = float(value) * scale
    row = fetch_one(conn, query_for("pi_counters", version_num) or "") or {}
    stats: list[dict[str, Any]] = [row.pop("bgwriter", None) or {}]
    out.update({k: float(v) for k, v in row.items() if isinstance(v, int | float)})
    out["logical_reads"] = out.get("blks_hit", 0.0) + out.get("blks_read", 0.0)
    checkpointer = query_for("pi_checkpointer", version_num)
    if checkpointer is not None:  # PG 17+
        found = fetch_one(conn, checkpointer)
        stats.append((found or {}).get("stats") or {})
    for columns in stats:
        for key, value in columns.items():
            if key in _BGWRITER_KEYS and isinstance(value, int | float):
                out[_BGWRITER_KEYS[key]] = float(value)
    if not local:
        return out
    # Host-wide: the instances of a Borealis cluster share this host.
    out["os_num_vcpus"] = float(os.cpu_count() or 1)
    one, five, fifteen = os.getloadavg()
    out.update(os_load_one=one, os_load_five=five, os_load_fifteen=fifteen)
    return out
