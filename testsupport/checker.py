"""The zero-loss checker: proof that no acknowledged commit is lost across failovers.

Client threads insert rows with unique ids through the cluster endpoint, one autocommit
statement each, and sort every attempt into one of three outcomes:

- *acknowledged*: the server answered the commit; the row must survive every failover.
- *unknown*: the connection was lost (or the session killed) after the statement was sent; it
  may or may not have committed, so it may go either way.
- *rejected*: the server refused the statement (e.g. it reached a reader); the row must not
  exist.

`verify()` then reads the table on the final writer: every acknowledged id present, no id
twice (the table has no unique constraint, so a replay bug would show), no rejected id.
Each acknowledgement also records which instance gave it and when, so the failover benchmark
measures its recovery time from the same run.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg

from core.waiting import wait_until

TABLE = "zero_loss_check"
APPLICATION_NAME = "borealis-zero-loss-check"

_SETUP = f"""
create table if not exists {TABLE} (
    run text not null,
    id text not null,
    client integer not null,
    server text not null default current_setting('cluster_name'),
    at timestamptz not null default clock_timestamp()
);
create index if not exists {TABLE}_run on {TABLE} (run);
"""
_INSERT = f"insert into {TABLE} (run, id, client) values (%s, %s, %s) returning server"
_READ = f"select id, count(*) from {TABLE} where run = %s group by id"

# SQLSTATE classes after which a commit may or may not have happened: the connection broke,
# the session was terminated (a waiting commit is already committed locally), the server is
# shutting down or crashed.
_UNKNOWN_CLASSES = {"08", "57", "58", "XX", "53"}


@dataclass(frozen=True)
class Ack:
    at: float  # time.monotonic() when the acknowledgement arrived
    sent: float  # time.monotonic() when the statement was sent
    server: str  # the instance that acknowledged it (its cluster_name)


@dataclass
class ClientLog:
    acknowledged: dict[str, Ack] = field(default_factory=dict)
    unknown: set[str] = field(default_factory=set)
    rejected: set[str] = field(default_factory=set)
    errors: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    acknowledged: int
    unknown: int
    rejected: int
    missing: tuple[str, ...]  # acknowledged but not on the final writer: data loss
    duplicated: tuple[str, ...]  # present more than once
    rejected_present: tuple[str, ...]  # refused, yet committed
    unknown_committed: int  # unknown outcome that did commit (allowed)
    errors: dict[str, int]

    @property
    def ok(self) -> bool:
        return not self.missing and not self.duplicated and not self.rejected_present

    def summary(self) -> str:
        return (
            f"{self.acknowledged} acknowledged, {len(self.missing)} lost, "
            f"{len(self.duplicated)} duplicated, {self.unknown} unknown "
            f"({self.unknown_committed} of them committed), {self.rejected} rejected "
            f"({len(self.rejected_present)} of them present)"
        )


def _outcome(exc: psycopg.Error) -> str:
    state = exc.sqlstate
    if state is None or state[:2] in _UNKNOWN_CLASSES:
        return "unknown"
    return "rejected"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:100] if text else type(exc).__name__


class ZeroLossChecker:
    def __init__(self, dsn: str, clients: int = 4, pause_s: float = 0.0) -> None:
        self.dsn = dsn
        self.clients = clients
        self.pause_s = pause_s
        self.run_id = uuid.uuid4().hex[:12]
        self.logs = [ClientLog() for _ in range(clients)]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def _connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(
            self.dsn, autocommit=True, connect_timeout=3, application_name=APPLICATION_NAME
        )

    def prepare(self, timeout: float = 30.0) -> None:
        def create_table() -> bool:
            with self._connect() as conn:
                conn.execute(_SETUP)
            return True

        wait_until(
            create_table,
            timeout=timeout,
            what="the checker's table to be created",
            retry_on=(psycopg.Error,),
        )

    def start(self) -> None:
        self.prepare()
        for n in range(self.clients):
            thread = threading.Thread(target=self._client, args=(n,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)

    def acknowledged(self) -> int:
        return sum(len(log.acknowledged) for log in self.logs)

    def acks(self) -> list[Ack]:
        """Every acknowledgement of the run, in arrival order."""
        # list(): the client threads add to the dicts while this runs (one C call, under the GIL)
        acks = [a for log in self.logs for a in list(log.acknowledged.values())]
        return sorted(acks, key=_at)

    def _client(self, n: int) -> None:
        log = self.logs[n]
        conn: psycopg.Connection[Any] | None = None
        warnings: list[str] = []
        seq = 0
        while not self._stop.is_set():
            if conn is None:
                try:
                    conn = self._connect()
                except psycopg.Error as exc:
                    _count(log.errors, f"connect: {_first_line(exc)}")
                    self._stop.wait(0.02)
                    continue
                conn.add_notice_handler(lambda diag: warnings.append(diag.message_primary or ""))
            seq += 1
            row_id = f"{self.run_id}-{n}-{seq}"
            warnings.clear()
            sent = time.monotonic()
            try:
                row = conn.execute(_INSERT, (self.run_id, row_id, n)).fetchone()
            except psycopg.Error as exc:
                getattr(log, _outcome(exc)).add(row_id)
                _count(log.errors, _first_line(exc))
                with contextlib.suppress(psycopg.Error):
                    conn.close()
                conn = None
                continue
            if any("synchronous replication" in w for w in warnings):
                # "canceling wait for synchronous replication": committed locally only.
                log.unknown.add(row_id)
            else:
                log.acknowledged[row_id] = Ack(time.monotonic(), sent, str(row[0]) if row else "")
            if self.pause_s:
                self._stop.wait(self.pause_s)
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                conn.close()

    def verify(self, dsn: str | None = None, timeout: float = 60.0) -> Verdict:
        """Read the run back from the writer (through `dsn`, default the checker's)."""
        found: dict[str, int] = {}

        def read_back() -> bool:
            with psycopg.connect(dsn or self.dsn, autocommit=True, connect_timeout=3) as conn:
                rows = conn.execute(_READ, (self.run_id,)).fetchall()
            found.update((str(r[0]), int(r[1])) for r in rows)
            return True

        wait_until(
            read_back,
            timeout=timeout,
            interval=0.5,
            what="the run to be read back from the writer",
            retry_on=(psycopg.Error,),
        )
        return judge(self.logs, found)


def judge(logs: Sequence[ClientLog], found: dict[str, int]) -> Verdict:
    """Compare what clients were told with what the writer holds."""
    acknowledged = {i for log in logs for i in log.acknowledged}
    unknown = {i for log in logs for i in log.unknown}
    rejected = {i for log in logs for i in log.rejected}
    errors: dict[str, int] = {}
    for log in logs:
        for error, count in log.errors.items():
            _count(errors, error, count)
    return Verdict(
        acknowledged=len(acknowledged),
        unknown=len(unknown),
        rejected=len(rejected),
        missing=tuple(sorted(acknowledged - found.keys())),
        duplicated=tuple(sorted(i for i, n in found.items() if n > 1)),
        rejected_present=tuple(sorted(rejected & found.keys())),
        unknown_committed=len(unknown & found.keys()),
        errors=errors,
    )


def _count(counter: dict[str, int], key: str, n: int = 1) -> None:
    counter[key] = counter.get(key, 0) + n


def _at(ack: Ack) -> float:
    return ack.at
