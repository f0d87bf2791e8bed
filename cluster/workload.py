"""`borealis workload`: client load with known wait profiles, through the cluster endpoints.

Every client connects as ``borealis_app`` to the ``app`` database with application_name
``borealis-workload``, writes through the cluster endpoint (and the OLTP mix reads through the
reader endpoint, as Aurora applications do), and reconnects by itself after a failover.

Scenarios and the profile Performance Insights shows for them:

- ``oltp``: short reads, transfers (two updates and an insert) and range reports; CPU with
  some ``IPC:SyncRep`` (commits wait for the storage quorum) and ``LWLock`` waits.
- ``cpu``: arithmetic over generate_series; ``CPU``.
- ``row-lock``: every client updates one of two rows and holds the lock 50 ms;
  ``Lock:transactionid``.
- ``io``: random reads over a table five times larger than shared_buffers (unlogged, so
  building it costs no WAL); ``IO:DataFileRead`` (short on a host whose page cache holds it).
- ``sleep``: ``pg_sleep(0.1)``; ``Timeout:PgSleep``.
- ``commit-heavy``: one-row autocommit inserts; ``IPC:SyncRep`` and WAL waits.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import psycopg

from core.errors import BorealisError
from core.waiting import WaitStopped, WaitTimeout, wait_until

log = logging.getLogger(__name__)

APPLICATION_NAME = "borealis-workload"
_SECTION = re.compile(r"^-- name: (\S+)\s*$", re.MULTILINE)


@functools.cache
def statements() -> dict[str, str]:
    """The named statements of sql/workload.sql."""
    text = (resources.files("cluster") / "sql" / "workload.sql").read_text()
    parts = _SECTION.split(text)
    return {name: body.strip() for name, body in zip(parts[1::2], parts[2::2], strict=True)}


def _sql(name: str) -> Any:
    return statements()[name]


@dataclass
class Session:
    """One client's connections and random stream."""

    writer_dsn: str
    reader_dsn: str
    rng: random.Random
    writer: psycopg.Connection[Any] | None = None
    reader: psycopg.Connection[Any] | None = None
    steps: int = 0
    state: dict[str, int] = field(default_factory=dict)

    def write_conn(self) -> psycopg.Connection[Any]:
        if self.writer is None or self.writer.closed:
            self.writer = _connect(self.writer_dsn)
        return self.writer

    def read_conn(self) -> psycopg.Connection[Any]:
        if self.reader is None or self.reader.closed:
            self.reader = _connect(self.reader_dsn)
        return self.reader

    def close(self) -> None:
        for conn in (self.writer, self.reader):
            if conn is not None:
                with contextlib.suppress(psycopg.Error):
                    conn.close()
        self.writer = self.reader = None


def _connect(dsn: str) -> psycopg.Connection[Any]:
    return psycopg.connect(
        dsn,
        autocommit=True,
        connect_timeout=5,
        application_name=APPLICATION_NAME,
        options="-c statement_timeout=30000",
    )


# --- scenarios ---------------------------------------------------------------------------


def _setup_oltp(conn: psycopg.Connection[Any]) -> None:
    conn.execute(_sql("oltp_setup"))


def _oltp(s: Session) -> None:
    draw = s.rng.random()
    a = s.rng.randint(1, 10000)
    if draw < 0.6:
        s.read_conn().execute(_sql("oltp_read"), {"a": a}).fetchone()
    elif draw < 0.95:
        params = {"a": a, "b": s.rng.randint(1, 10000), "delta": s.rng.randint(1, 100)}
        conn = s.write_conn()
        with conn.transaction():
            conn.execute(_sql("oltp_debit"), params)
            conn.execute(_sql("oltp_credit"), params)
            conn.execute(_sql("oltp_history"), params)
    else:
        s.write_conn().execute(_sql("oltp_report"), {"a": a}).fetchone()
    if s.steps % 1000 == 999:
        s.write_conn().execute(_sql("oltp_trim"))


def _cpu(s: Session) -> None:
    s.write_conn().execute(_sql("cpu")).fetchone()


def _setup_row_lock(conn: psycopg.Connection[Any]) -> None:
    conn.execute(_sql("row_lock_setup"))


def _row_lock(s: Session) -> None:
    conn = s.write_conn()
    with conn.transaction():
        conn.execute(_sql("row_lock_update"), {"a": s.rng.randint(1, 2)})
        conn.execute(_sql("row_lock_hold")).fetchone()


def _io_rows(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute(_sql("io_rows_wanted")).fetchone()
    return int(row[0]) if row else 100_000


def _setup_io(conn: psycopg.Connection[Any]) -> None:
    conn.execute(_sql("io_setup"))
    rows = _io_rows(conn)
    has = conn.execute(_sql("io_has_rows"), {"rows": rows}).fetchone()
    if not (has and has[0]):
        log.info("filling wl_io with %d rows (an unlogged table, larger than shared_buffers)", rows)
        conn.execute(_sql("io_fill"), {"rows": rows})
        conn.execute("analyze wl_io")


def _io(s: Session) -> None:
    conn = s.write_conn()
    rows = s.state.get("io_rows")
    if rows is None:
        rows = s.state["io_rows"] = _io_rows(conn)
    a = s.rng.randint(1, rows)
    if s.rng.random() < 0.8:
        found = conn.execute(_sql("io_point"), {"a": a}).fetchone()
        if found is None:  # an unlogged table is empty on a new writer after a failover
            _setup_io(conn)
    else:
        conn.execute(_sql("io_range"), {"a": a}).fetchone()


def _sleep(s: Session) -> None:
    s.write_conn().execute(_sql("sleep")).fetchone()


def _setup_commit(conn: psycopg.Connection[Any]) -> None:
    conn.execute(_sql("commit_setup"))


def _commit_heavy(s: Session) -> None:
    s.write_conn().execute(_sql("commit_insert"), {"a": s.rng.randint(1, 1_000_000)})
    if s.steps % 5000 == 4999:
        s.write_conn().execute(_sql("commit_trim"))


@dataclass(frozen=True)
class Scenario:
    name: str
    waits: str  # the profile it shows in Performance Insights
    rate: float  # default transactions per second (all clients together)
    clients: int
    step: Callable[[Session], None]
    setup: Callable[[psycopg.Connection[Any]], None] | None = None
    reader_check: str | None = None  # a statement that works once readers replayed the setup


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("oltp", "CPU, IPC:SyncRep, LWLock", 50, 4, _oltp, _setup_oltp, "oltp_read"),
        Scenario("cpu", "CPU", 6, 2, _cpu),
        Scenario("row-lock", "Lock:transactionid", 40, 6, _row_lock, _setup_row_lock),
        Scenario("io", "IO:DataFileRead, CPU", 200, 4, _io, _setup_io),
        Scenario("sleep", "Timeout:PgSleep", 30, 4, _sleep),
        Scenario(
            "commit-heavy", "IPC:SyncRep, LWLock:WALWrite", 200, 8, _commit_heavy, _setup_commit
        ),
    )
}


# --- running -----------------------------------------------------------------------------


@dataclass
class WorkloadStats:
    scenario: str
    started: float = field(default_factory=time.monotonic)
    transactions: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    latency_total: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def ok(self, seconds: float) -> None:
        with self._lock:
            self.transactions += 1
            self.latency_total += seconds

    def failed(self, error: str) -> None:
        with self._lock:
            self.errors[error] += 1

    def summary(self) -> str:
        elapsed = max(1e-9, time.monotonic() - self.started)
        errors = sum(self.errors.values())
        mean_ms = 1000 * self.latency_total / self.transactions if self.transactions else 0.0
        return (
            f"{self.scenario}: {self.transactions} transactions in {elapsed:.0f} s "
            f"({self.transactions / elapsed:.1f} TPS, mean {mean_ms:.1f} ms), {errors} errors"
        )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:120] if text else type(exc).__name__


def prepare(scenario: Scenario, writer_dsn: str, reader_dsn: str, stop: threading.Event) -> None:
    """Create the scenario's tables (idempotent; retried while the writer is away) and, for
    a scenario that reads on the readers, wait until they have replayed them."""
    if scenario.setup is None:
        return
    while not stop.is_set():
        try:
            with _connect(writer_dsn) as conn:
                scenario.setup(conn)
            break
        except psycopg.errors.UniqueViolation:
            continue  # two workloads created the same table at once: try again
        except psycopg.OperationalError as exc:
            log.warning("workload setup waits for the writer: %s", _first_line(exc))
            stop.wait(1.0)
    reader_check = scenario.reader_check
    if not reader_check:
        return

    def reader_answers() -> bool:
        with _connect(reader_dsn) as conn:
            conn.execute(_sql(reader_check), {"a": 1}).fetchone()
        return True

    try:
        wait_until(
            reader_answers,
            timeout=30,
            interval=0.1,
            what="the reader endpoint to answer the workload's query",
            retry_on=(psycopg.Error,),
            stop=stop,
        )
    except WaitTimeout as exc:
        log.warning("workload starts anyway: %s", exc)
    except WaitStopped:
        return


class Workload:
    """Clients in threads, paced to a total rate (0: as fast as they go)."""

    def __init__(
        self,
        scenario: Scenario,
        writer_dsn: str,
        reader_dsn: str,
        *,
        rate: float,
        clients: int,
        seed: int | None = None,
    ) -> None:
        if clients < 1:
            raise BorealisError("a workload needs at least one client")
        self.scenario = scenario
        self.writer_dsn = writer_dsn
        self.reader_dsn = reader_dsn
        self.rate = rate
        self.clients = clients
        self.stats = WorkloadStats(scenario.name)
        self.stop = threading.Event()
        self._seed = seed if seed is not None else random.randrange(1 << 30)  # noqa: S311 - load, not secrets
        self._threads: list[threading.Thread] = []

    def run(self, duration: float | None, report: Callable[[str], None] | None = None) -> None:
        """Prepare, run for `duration` seconds (None: until stop is set), then stop."""
        prepare(self.scenario, self.writer_dsn, self.reader_dsn, self.stop)
        self.stats = WorkloadStats(self.scenario.name)
        for n in range(self.clients):
            thread = threading.Thread(
                target=self._client, args=(n,), name=f"workload-{n}", daemon=True
            )
            self._threads.append(thread)
            thread.start()
        deadline = None if duration is None else time.monotonic() + duration
        next_report = time.monotonic() + 10
        while not self.stop.wait(0.2):
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                break
            if report is not None and now >= next_report:
                report(self.stats.summary())
                next_report = now + 10
        self.stop.set()
        for thread in self._threads:
            thread.join(35)

    def _client(self, n: int) -> None:
        session = Session(self.writer_dsn, self.reader_dsn, random.Random(self._seed + n))  # noqa: S311
        interval = self.clients / self.rate if self.rate > 0 else 0.0
        next_at = time.monotonic() + session.rng.random() * interval
        try:
            while not self.stop.is_set():
                if interval:
                    delay = next_at - time.monotonic()
                    if delay > 0 and self.stop.wait(delay):
                        break
                    next_at = max(next_at + interval, time.monotonic() - 1.0)
                started = time.monotonic()
                try:
                    self.scenario.step(session)
                    session.steps += 1
                    self.stats.ok(time.monotonic() - started)
                except psycopg.Error as exc:
                    self.stats.failed(_first_line(exc))
                    session.close()  # reconnect: the endpoint may point elsewhere now
                    self.stop.wait(0.2)
        finally:
            session.close()
