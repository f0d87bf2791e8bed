"""Performance Insights data for bench.ui: the real PI API (collector.pi_api over
collector.pi_query over the SQLite store of collector.pi_store) on synthetic rows written
straight into the store, and the collector's /api/targets naming the instances (the PI page
finds its instance and DbiResourceId there).

Density: what the collector writes at its default 1 s sampling: one load row per second per
active (wait event, digest, user, database, application, host) key, about 3 active sessions a
second on the writer following a daily swing, one coverage row a second, and every 30 s (the
default `collector.stats_interval_s`) a pg_stat_statements delta per digest and a counters
snapshot (vCPUs). The writer, which the PI page shows, gets the whole 7 days; each reader
the last hour.
"""

from __future__ import annotations

import json
import math
import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flask import Flask

from collector import pi_rollup
from collector.pi_api import PiHttp
from collector.pi_catalog import STAT_FIELDS
from collector.pi_query import PiQueries
from collector.pi_store import DIM_COLUMNS, PiStore
from core.httpapi import HttpServer, JsonErrors, api_app

STATS_INTERVAL_S = 30
VCPUS = 2
# (wait type, wait event): PostgreSQL's, as the sampler records them (CPU when not waiting).
WAITS = (
    ("CPU", "CPU"),
    ("IO", "DataFileRead"),
    ("LWLock", "WALWrite"),
    ("Lock", "transactionid"),
    ("Client", "ClientRead"),
    ("IO", "WALSync"),
)
# (digest text, user, database, application, waits it spends, relative weight)
DIGESTS = (
    ("SELECT * FROM orders WHERE id = $1", "app", "shop", "web", (0, 1), 8.0),
    ("UPDATE stock SET qty = qty - $1 WHERE sku = $2", "app", "shop", "web", (0, 3, 2), 5.0),
    ("INSERT INTO orders (customer, total) VALUES ($1, $2)", "app", "shop", "web", (0, 2, 5), 4.0),
    ("SELECT sum(total) FROM orders WHERE day = $1", "report", "shop", "bi", (1, 0), 3.0),
    ("SELECT * FROM customers WHERE email = $1", "app", "shop", "web", (0, 1), 3.0),
    ("DELETE FROM sessions WHERE expires < $1", "batch", "shop", "cron", (1, 2), 1.5),
    ("UPDATE accounts SET balance = balance + $1 WHERE id = $2", "app", "bank", "api", (3, 0), 2.0),
    ("SELECT * FROM ledger WHERE account = $1 LIMIT $2", "app", "bank", "api", (1,), 2.0),
    ("COPY events FROM STDIN", "etl", "events", "loader", (2, 5), 1.0),
    ("SELECT count(*) FROM events WHERE kind = $1", "report", "events", "bi", (1, 0), 1.0),
    ("BEGIN", "app", "shop", "web", (4,), 1.5),
    ("COMMIT", "app", "shop", "web", (2, 5), 1.5),
)
HOSTS = ("10.0.1.17", "10.0.2.31", "10.0.3.8")


def resource_id(name: str) -> str:
    """A DbiResourceId-like identifier (db- and 26 upper-case characters)."""
    return "db-" + name.upper().replace("-", "")[:26].ljust(26, "X")


def _digest_id(n: int) -> str:
    return str(7_000_000_000_000_000 + 104_729 * n)  # a pg_stat_statements queryid


def _keys() -> list[tuple[tuple[str, ...], float]]:
    """Every (dims row, weight): a digest with each of its waits, from one of the hosts."""
    keys = []
    for n, (_text, user, database, application, waits, weight) in enumerate(DIGESTS):
        for rank, w in enumerate(waits):
            wait_type, wait_event = WAITS[w]
            row = (
                wait_type,
                wait_event,
                _digest_id(n),
                _digest_id(n),
                str(16_384 + len(user)),
                user,
                database,
                application,
                HOSTS[n % len(HOSTS)],
                "client backend",
            )
            keys.append((row, weight / (rank + 1)))
    return keys


def _active(t: int) -> float:
    """Average active sessions on the writer at second t: a daily swing of 1.5 to 4.5."""
    return 3.0 + 1.5 * math.sin(2 * math.pi * (t % 86400) / 86400)


def _load_rows(
    res: int, dims: list[int], weights: list[float], span: range, *, scale: float
) -> Iterator[tuple[int, int, int, float]]:
    rng = random.Random(res)
    for t in span:
        sessions = rng.choices(dims, weights, k=max(1, round(_active(t) * scale)))
        counts: dict[int, float] = {}
        for dim in sessions:
            counts[dim] = counts.get(dim, 0.0) + 1.0
        for dim, seconds in counts.items():
            yield res, t, dim, seconds


def seed(path: Path, names: list[str], end: int, writer_s: int, reader_s: int) -> int:
    """Write the store at `path` (the writer, names[0], over `writer_s` seconds before `end`;
    each reader over `reader_s`); returns the load rows written."""
    PiStore(path, retention_days=30)  # makes the schema as the collector does
    db = sqlite3.connect(path)
    db.execute("pragma journal_mode=wal")
    db.execute("pragma synchronous=off")
    keys = _keys()
    rows = 0
    with db:
        db.executemany(
            "insert into digests (digest_id, text) values (?, ?)",
            [(_digest_id(n), text) for n, (text, *_) in enumerate(DIGESTS)],
        )
        for n, name in enumerate(names):
            span = writer_s if n == 0 else reader_s
            start = end - span
            res = int(
                db.execute(
                    "insert into resources (resource_id) values (?) returning id",
                    (resource_id(name),),
                ).fetchone()[0]
            )
            dims = [
                int(
                    db.execute(
                        f"insert into dims (res, {', '.join(DIM_COLUMNS)}) "
                        f"values (?, {', '.join('?' for _ in DIM_COLUMNS)}) returning id",
                        (res, *row),
                    ).fetchone()[0]
                )
                for row, _ in keys
            ]
            scale = 1.0 if n == 0 else 0.5  # readers serve fewer sessions
            before = db.total_changes
            db.executemany(
                "insert into load (res, ts, dim, seconds) values (?, ?, ?, ?)",
                _load_rows(res, dims, [w for _, w in keys], range(start, end), scale=scale),
            )
            rows += db.total_changes - before
            db.executemany(
                "insert into coverage (res, ts, seconds, samples) values (?, ?, 1.0, 1)",
                ((res, t) for t in range(start, end)),
            )
            reads = range(start + STATS_INTERVAL_S, end, STATS_INTERVAL_S)
            db.executemany(
                "insert into counters (res, ts, data) values (?, ?, ?)",
                ((res, t, json.dumps({"os_num_vcpus": VCPUS})) for t in reads),
            )
            db.executemany(
                "insert into stats_reads (res, ts, seconds) values (?, ?, ?)",
                ((res, t, STATS_INTERVAL_S) for t in reads),
            )
            db.executemany(
                f"insert into sql_stats (res, ts, digest_id, {', '.join(STAT_FIELDS)}) "
                f"values (?, ?, ?, {', '.join('?' for _ in STAT_FIELDS)})",
                _stats_rows(res, reads, scale),
            )
        pi_rollup.rebuild(db)  # the minute and hour rollups, as the collector keeps them
    db.close()
    return rows


def _stats_rows(res: int, reads: range, scale: float) -> Iterator[tuple[Any, ...]]:
    for t in reads:
        for n, (*_, weight) in enumerate(DIGESTS):
            calls = round(STATS_INTERVAL_S * weight * 20 * scale)
            ms = calls * (0.2 + n / 10)
            rows, hit = calls * (1 + n % 4), calls * 12
            yield (res, t, _digest_id(n), calls, ms, rows, hit, calls, 0, 0, 0, 0)


def targets_app(names: list[str], cluster: str) -> Flask:
    """The collector's /api/targets and /api/events as the UI reads them (every instance up,
    no events)."""
    app = api_app("collector", JsonErrors())

    @app.get("/api/targets")
    def targets() -> dict[str, Any]:
        return {
            "targets": [
                {
                    "cluster": cluster,
                    "db_instance": name,
                    "resource_id": resource_id(name),
                    "az": f"az-{n % 3 + 1}",
                    "tier": n % 16,
                    "role": "writer" if n == 0 else "reader",
                    "up": True,
                    "dsn": "",
                    "errors": {},
                }
                for n, name in enumerate(names)
            ]
        }

    @app.get("/api/events")
    def events() -> dict[str, Any]:
        return {"Events": []}

    return app


def start(path: Path, names: list[str], port: int, cluster: str) -> tuple[PiHttp, HttpServer]:
    """The PI API on `port` and the targets on `port + 1`, both started."""
    store = PiStore(path, retention_days=30)
    queries = PiQueries(
        store,
        [resource_id(name) for name in names],
        sql_literals=False,
        stats_interval_s=STATS_INTERVAL_S,
    )
    pi = PiHttp("127.0.0.1", port, queries)
    targets = HttpServer(targets_app(names, cluster), port=port + 1, name="collector")
    pi.start()
    targets.start()
    return pi, targets
