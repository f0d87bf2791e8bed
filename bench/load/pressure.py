"""What the load bench puts on the cluster: many sessions (some active), many distinct
statements, a log storm into the writer's jsonlog, pgbench runs."""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from core.waiting import wait_until


class Sessions:
    """`total` connections; `active` of them run pg_sleep in a loop (PI's active sessions),
    the rest stay idle. Opened from a few threads: a connection is a fork on the server."""

    def __init__(self, dsn: str, total: int, active: int) -> None:
        self.dsn = dsn
        self.total = total
        self.active = active
        self.connections: list[psycopg.Connection[Any]] = []
        self.errors: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def open(self, openers: int = 8) -> float:
        started = time.monotonic()

        def opener(n: int) -> None:
            for _ in range(n):
                try:
                    conn = psycopg.connect(self.dsn, autocommit=True, connect_timeout=30)
                except psycopg.Error as exc:
                    self._count(str(exc).splitlines()[0][:80])
                    continue
                with self._lock:
                    self.connections.append(conn)

        share = [self.total // openers + (i < self.total % openers) for i in range(openers)]
        threads = [threading.Thread(target=opener, args=(n,), daemon=True) for n in share]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        for conn in self.connections[: self.active]:
            thread = threading.Thread(target=self._busy, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()
        return time.monotonic() - started

    def _busy(self, conn: psycopg.Connection[Any]) -> None:
        while not self._stop.is_set():
            try:
                conn.execute("select pg_sleep(2)")
            except psycopg.Error as exc:
                self._count(str(exc).splitlines()[0][:80])
                return

    def _count(self, error: str) -> None:
        with self._lock:
            self.errors[error] = self.errors.get(error, 0) + 1

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(10)
        for conn in self.connections:
            with contextlib.suppress(psycopg.Error):
                conn.close()


COLUMNS = 200  # 200 x 199 ordered column pairs: room for 39,800 distinct statements


def distinct_statements(dsn: str, count: int) -> float:
    """`count` statements pg_stat_statements tells apart: each selects its own ordered pair of
    columns (column aliases and constants do not change a query's id; column numbers do)."""
    started = time.monotonic()
    columns = ", ".join(f"c{n} int" for n in range(COLUMNS))
    pairs = ((a, b) for a in range(COLUMNS) for b in range(COLUMNS) if a != b)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"create table if not exists load_bench ({columns})")  # type: ignore[arg-type]
        with conn.pipeline():
            for _, (a, b) in zip(range(count), pairs, strict=False):
                conn.execute(f"select c{a}, c{b} from load_bench")  # type: ignore[arg-type]
    return time.monotonic() - started


def statements_tracked(dsn: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            "select count(*) from pg_stat_statements where query like 'select c%from load_bench'"
        ).fetchone()
    return int(row[0]) if row else 0


def current_jsonlog(log_dir: Path) -> Path:
    files = sorted(log_dir.glob("*.json"), key=lambda p: p.stat().st_mtime)
    if not files:
        raise FileNotFoundError(f"no jsonlog in {log_dir}")
    return files[-1]


class LogStorm:
    """`rate` jsonlog lines a second appended to the writer's current log file (in batches
    every 100 ms), the way PostgreSQL's logging collector writes them."""

    def __init__(self, log_file: Path, rate: int) -> None:
        self.log_file = log_file
        self.rate = rate
        self.written = 0
        self.seconds = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="log-storm", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        batch = self.rate // 10
        started = time.monotonic()
        next_at = started
        with open(self.log_file, "ab") as handle:
            while not self._stop.is_set():
                stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC"
                lines = b"".join(
                    json.dumps(
                        {
                            "timestamp": stamp,
                            "user": "borealis_app",
                            "dbname": "app",
                            "pid": 4242,
                            "remote_host": "127.0.0.1",
                            "session_id": "load-bench",
                            "line_num": self.written + i,
                            "ps": "SELECT",
                            "error_severity": "LOG",
                            "message": f"duration: 0.{i % 1000:03d} ms",
                            "application_name": "load-bench",
                            "backend_type": "client backend",
                            "query_id": 0,
                        }
                    ).encode()
                    + b"\n"
                    for i in range(batch)
                )
                handle.write(lines)
                handle.flush()
                self.written += batch
                next_at += 0.1
                self._stop.wait(max(0.0, next_at - time.monotonic()))
        self.seconds = time.monotonic() - started


TPS = re.compile(r"tps = ([\d.]+) \(without initial connection time\)")


def pgbench(
    conn_args: list[str],
    env: dict[str, str],
    seconds: float,
    clients: int = 4,
    select_only: bool = False,
) -> float:
    """pgbench's TPS: TPC-B like, or with `select_only` its read-only script (-S: CPU-bound,
    no commit waiting on the disk or the segments, so the least noisy and most sensitive to
    a collector taking CPU).

    One pgbench thread a client: with 4 clients on 2 threads the read-only TPS of a run was
    bimodal on a 2-core VM (about 40,000 or 57,000, set by where the threads and their
    backends landed when they connected, steady within the run; 20-40 % apart from run
    to run), with a thread each it stays within 2-3 % (measured 2026-12-04)."""
    script = ["-S"] if select_only else []
    done = subprocess.run(
        [
            "pgbench",
            "-n",
            *script,
            "-c",
            str(clients),
            "-j",
            str(clients),
            "-T",
            f"{seconds:.0f}",
            *conn_args,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=seconds + 120,
        check=True,
    )
    found = TPS.search(done.stdout)
    if not found:
        raise RuntimeError(f"no tps in pgbench's output: {done.stdout[-500:]}")
    return float(found.group(1))


def reader_behind(dsn: str) -> dict[str, float | None]:
    """How far the reader is behind: the age of its last replayed transaction (None before it
    replayed one) and the WAL it received but has not replayed, in MiB."""

    def read() -> dict[str, float | None]:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
            row = conn.execute(
                "select extract(epoch from now() - pg_last_xact_replay_timestamp()), "
                "pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())"
            ).fetchone()
        age, behind = row if row else (None, None)
        return {
            "replay_age_s": None if age is None else round(float(age)),
            "unreplayed_mib": None if behind is None else round(float(behind) / 2**20, 1),
        }

    return dict(wait_until(read, timeout=30, what="the reader's lag", retry_on=(psycopg.Error,)))
