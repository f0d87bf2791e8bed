"""The Performance Insights store: active-session load per second, in SQLite, for drill-down.

Samples are aggregated in memory into (instance, second, dimensions) -> active-session-seconds
and written once a second, so a 100 ms sampler costs no more rows than a 1 s one. Alongside:
how many seconds the sampler covered (the denominator of DB load), pg_stat_statements deltas
per digest, PI counter snapshots, and digest texts (no literals). Statement texts with their
literals are stored only when `collector.sql_literals` is on. Rows older than the retention
(`collector.retention_days`, default 7) are pruned.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from collector import pi_rollup
from collector.activity import Sample
from collector.pi_catalog import STAT_FIELDS
from collector.pi_stats import StatsSnapshot
from collector.targets import Target

log = logging.getLogger(__name__)

PRUNE_EVERY_S = 600.0
DIM_COLUMNS = (
    "wait_type",
    "wait_event",
    "digest_id",
    "sql_id",
    "user_id",
    "user_name",
    "database",
    "application",
    "host",
    "session_type",
)
DimKey = tuple[str, str, str, str, str, str, str, str, str, str]

_SCHEMA = f"""
create table if not exists resources (id integer primary key, resource_id text unique not null);
create table if not exists dims (
    id integer primary key,
    res integer not null,
    {", ".join(f"{c} text not null" for c in DIM_COLUMNS)},
    unique (res, {", ".join(DIM_COLUMNS)})
);
create table if not exists load (
    res integer not null, ts integer not null, dim integer not null, seconds real not null,
    primary key (res, ts, dim)
) without rowid;
create table if not exists coverage (
    res integer not null, ts integer not null, seconds real not null, samples integer not null,
    primary key (res, ts)
) without rowid;
create table if not exists digests (digest_id text primary key, text text not null);
create table if not exists statements (
    sql_id text primary key, digest_id text not null, text text not null
);
create table if not exists stats_reads (
    res integer not null, ts integer not null, seconds real not null, primary key (res, ts)
) without rowid;
create table if not exists sql_stats (
    res integer not null, ts integer not null, digest_id text not null,
    {", ".join(f"{f} real not null" for f in STAT_FIELDS)},
    primary key (res, ts, digest_id)
) without rowid;
create table if not exists counters (
    res integer not null, ts real not null, data text not null, primary key (res, ts)
) without rowid;
"""


class TextBook(Protocol):
    def text(self, key: str) -> str: ...


def identifier(target: Target) -> str:
    """The PI Identifier of an instance: its DbiResourceId, else its instance id."""
    return target.resource_id or target.db_instance


class PiStore:
    def __init__(self, path: Path, retention_days: float) -> None:
        self.path = path
        self.retention_s = retention_days * 86400
        path.parent.mkdir(parents=True, exist_ok=True)
        self._write = self._open()
        self._write.executescript(_SCHEMA + pi_rollup.schema())
        if pi_rollup.missing(self._write):
            with self._write:
                pi_rollup.rebuild(self._write)
        self._lock = threading.Lock()  # guards the in-memory batch
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._load: dict[tuple[str, int], dict[DimKey, float]] = {}
        self._coverage: dict[tuple[str, int], list[float]] = {}
        self._texts: dict[str, str] = {}
        self._statements: dict[str, tuple[str, str]] = {}
        self._stats: list[StatsSnapshot] = []
        self._known_texts: set[str] = set()
        self._res: dict[str, int] = {}
        self._dims: dict[tuple[int, DimKey], int] = {}
        self._next_prune = time.monotonic() + 60.0
        self.flush_errors_total = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pi-store", daemon=True)

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=10, check_same_thread=False)
        conn.execute("pragma journal_mode=wal")
        conn.execute("pragma synchronous=normal")
        return conn

    # --- writing ------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5.0)
        self.flush()

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            try:
                self.flush()
                if time.monotonic() >= self._next_prune:
                    self._next_prune = time.monotonic() + PRUNE_EVERY_S
                    self.prune(time.time())
            except sqlite3.Error as exc:
                self.flush_errors_total += 1
                log.warning("writing PI samples to %s failed: %s", self.path, exc)

    def add_sample(self, sample: Sample, book: TextBook) -> None:
        rid = identifier(sample.target)
        second = int(sample.wall_time)
        with self._lock:
            bucket = self._load.setdefault((rid, second), {})
            for s in sample.sessions:
                key: DimKey = (
                    s.wait_event_type,
                    s.wait_event,
                    s.digest_id,
                    s.sql_id,
                    str(s.user_id),
                    s.user,
                    s.database,
                    s.application,
                    s.host,
                    s.session_type,
                )
                bucket[key] = bucket.get(key, 0.0) + sample.weight * s.share
                if s.digest_id not in self._known_texts:
                    self._known_texts.add(s.digest_id)
                    self._texts[s.digest_id] = book.text(s.digest_id)
                if s.query and s.sql_id not in self._known_texts:
                    self._known_texts.add(s.sql_id)
                    self._statements[s.sql_id] = (s.digest_id, s.query)
            cover = self._coverage.setdefault((rid, second), [0.0, 0])
            cover[0] += sample.weight
            cover[1] += 1
            if len(self._known_texts) > 100_000:
                self._known_texts.clear()

    def add_stats(self, snapshot: StatsSnapshot) -> None:
        with self._lock:
            self._stats.append(snapshot)
            self._texts.update(snapshot.digest_texts)

    def flush(self) -> None:
        with self._lock:
            load, self._load = self._load, {}
            coverage, self._coverage = self._coverage, {}
            texts, self._texts = self._texts, {}
            statements, self._statements = self._statements, {}
            stats, self._stats = self._stats, []
        if not (load or coverage or texts or stats):
            return
        with self._write_lock, self._write:
            db = self._write
            load_rows = [
                (res, second, self._dim(res, key), value)
                for (rid, second), dims in load.items()
                for res in (self._resource(rid),)
                for key, value in dims.items()
            ]
            db.executemany(
                "insert into load (res, ts, dim, seconds) values (?, ?, ?, ?) "
                "on conflict do update set seconds = seconds + excluded.seconds",
                load_rows,
            )
            coverage_rows = [(self._resource(r), t, c[0], c[1]) for (r, t), c in coverage.items()]
            db.executemany(
                "insert into coverage (res, ts, seconds, samples) values (?, ?, ?, ?) "
                "on conflict do update set seconds = seconds + excluded.seconds, "
                "samples = samples + excluded.samples",
                coverage_rows,
            )
            pi_rollup.add(
                db, load_rows, [(res, t, seconds) for res, t, seconds, _ in coverage_rows]
            )
            db.executemany(
                "insert into digests (digest_id, text) values (?, ?) "
                "on conflict do update set text = excluded.text where excluded.text <> ''",
                list(texts.items()),
            )
            db.executemany(
                "insert or ignore into statements (sql_id, digest_id, text) values (?, ?, ?)",
                [(k, d, t) for k, (d, t) in statements.items()],
            )
            for snap in stats:
                self._write_stats(snap)

    def _write_stats(self, snap: StatsSnapshot) -> None:
        db = self._write
        res = self._resource(identifier(snap.target))
        ts = int(snap.wall_time)
        db.execute(
            "insert or replace into counters (res, ts, data) values (?, ?, ?)",
            (res, snap.wall_time, json.dumps(snap.counters, sort_keys=True)),
        )
        if snap.seconds <= 0:
            return
        db.execute(
            "insert or replace into stats_reads (res, ts, seconds) values (?, ?, ?)",
            (res, ts, snap.seconds),
        )
        db.executemany(
            f"insert or replace into sql_stats (res, ts, digest_id, {', '.join(STAT_FIELDS)}) "
            f"values (?, ?, ?, {', '.join('?' for _ in STAT_FIELDS)})",
            [(res, ts, d.digest_id, *d.values) for d in snap.statements],
        )

    def _resource(self, rid: str) -> int:
        res = self._res.get(rid)
        if res is None:
            self._write.execute("insert or ignore into resources (resource_id) values (?)", (rid,))
            row = self._write.execute(
                "select id from resources where resource_id = ?", (rid,)
            ).fetchone()
            res = self._res[rid] = int(row[0])
        return res

    def _dim(self, res: int, key: DimKey) -> int:
        found = self._dims.get((res, key))
        if found is not None:
            return found
        where = " and ".join(f"{c} = ?" for c in DIM_COLUMNS)
        self._write.execute(
            f"insert or ignore into dims (res, {', '.join(DIM_COLUMNS)}) "
            f"values (?, {', '.join('?' for _ in DIM_COLUMNS)})",
            (res, *key),
        )
        row = self._write.execute(
            f"select id from dims where res = ? and {where}", (res, *key)
        ).fetchone()
        if len(self._dims) > 200_000:
            self._dims.clear()
        self._dims[(res, key)] = int(row[0])
        return int(row[0])

    def prune(self, now: float) -> None:
        cutoff = int(now - self.retention_s)
        with self._write_lock, self._write:
            db = self._write
            for table in ("load", "coverage", "stats_reads", "sql_stats", "counters"):
                db.execute(f"delete from {table} where ts < ?", (cutoff,))
            pi_rollup.prune(db, cutoff)
            db.execute("delete from dims where id not in (select distinct dim from load)")
            db.execute(
                "delete from digests where digest_id not in (select digest_id from dims) "
                "and digest_id not in (select digest_id from sql_stats)"
            )
            db.execute("delete from statements where sql_id not in (select sql_id from dims)")
            self._dims.clear()

    # --- reading ------------------------------------------------------------------

    @contextlib.contextmanager
    def _reader(self) -> Iterator[sqlite3.Connection]:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._open()
        yield conn

    def _res_id(self, conn: sqlite3.Connection, rid: str) -> int | None:
        row = conn.execute("select id from resources where resource_id = ?", (rid,)).fetchone()
        return None if row is None else int(row[0])

    def load_rows(
        self,
        rid: str,
        start: int,
        end: int,
        columns: Sequence[str],
        filters: Sequence[tuple[str, str]],
        *,
        period: int | None = None,
    ) -> list[tuple[Any, ...]]:
        """(bucket start when `period`, *column values, active-session-seconds) rows.

        `columns` and the filter columns are DIM_COLUMNS names (never user text)."""
        for column in (*columns, *(c for c, _ in filters)):
            if column not in DIM_COLUMNS:
                raise ValueError(f"unknown column {column}")
        select = [f"d.{c}" for c in columns]
        if period:
            select.insert(0, f"(l.ts / {int(period)}) * {int(period)}")
        where = "".join(f" and d.{c} = ?" for c, _ in filters)
        group = f" group by {', '.join(str(i + 1) for i in range(len(select)))}" if select else ""
        table, _ = pi_rollup.tables(start, end, period)
        query = (
            f"select {', '.join([*select, 'sum(l.seconds)'])} from {table} l "
            f"join dims d on d.id = l.dim "
            f"where l.res = ? and l.ts >= ? and l.ts < ?{where}{group}"
        )
        with self._reader() as conn:
            res = self._res_id(conn, rid)
            if res is None:
                return []
            params = (res, start, end, *(v for _, v in filters))
            return conn.execute(query, params).fetchall()

    def coverage(self, rid: str, start: int, end: int, period: int) -> dict[int, float]:
        """Seconds the sampler covered per bucket (the denominator of DB load)."""
        with self._reader() as conn:
            res = self._res_id(conn, rid)
            if res is None:
                return {}
            _, table = pi_rollup.tables(start, end, period)
            rows = conn.execute(
                f"select (ts / {int(period)}) * {int(period)}, sum(seconds) from {table} "
                "where res = ? and ts >= ? and ts < ? group by 1",
                (res, start, end),
            ).fetchall()
        return {int(b): float(s) for b, s in rows}

    def digest_texts(self, ids: Sequence[str]) -> dict[str, str]:
        with self._reader() as conn:
            return dict(_in_chunks(conn, "select digest_id, text from digests", "digest_id", ids))

    def statement_texts(self, ids: Sequence[str]) -> dict[str, str]:
        with self._reader() as conn:
            return dict(_in_chunks(conn, "select sql_id, text from statements", "sql_id", ids))

    def sql_stats(
        self, rid: str, start: int, end: int, digest_ids: Sequence[str]
    ) -> tuple[float, dict[str, tuple[float, ...]]]:
        """(seconds covered by stats reads, digest -> summed STAT_FIELDS deltas)."""
        with self._reader() as conn:
            res = self._res_id(conn, rid)
            if res is None:
                return 0.0, {}
            covered = conn.execute(
                "select coalesce(sum(seconds), 0) from stats_reads "
                "where res = ? and ts >= ? and ts < ?",
                (res, start, end),
            ).fetchone()[0]
            sums = ", ".join(f"sum({f})" for f in STAT_FIELDS)
            out: dict[str, tuple[float, ...]] = {}
            for i in range(0, len(digest_ids), 500):
                chunk = list(digest_ids[i : i + 500])
                marks = ", ".join("?" for _ in chunk)
                for row in conn.execute(
                    f"select digest_id, {sums} from sql_stats where res = ? and ts >= ? "
                    f"and ts < ? and digest_id in ({marks}) group by digest_id",
                    (res, start, end, *chunk),
                ):
                    out[row[0]] = tuple(float(v) for v in row[1:])
        return float(covered), out

    def counters(self, rid: str, start: float, end: float) -> list[tuple[float, dict[str, float]]]:
        with self._reader() as conn:
            res = self._res_id(conn, rid)
            if res is None:
                return []
            rows = conn.execute(
                "select ts, data from counters where res = ? and ts >= ? and ts < ? order by ts",
                (res, start, end),
            ).fetchall()
        return [(float(ts), json.loads(data)) for ts, data in rows]


def _in_chunks(
    conn: sqlite3.Connection, select: str, column: str, ids: Sequence[str]
) -> Iterator[tuple[str, str]]:
    ids = list(dict.fromkeys(ids))
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        marks = ", ".join("?" for _ in chunk)
        yield from conn.execute(f"{select} where {column} in ({marks})", chunk)
