"""Watching instances: one probe thread per instance, each publishing frozen observations.

A hung instance only stalls its own probe thread; the manager sees its observation age and
calls it unresponsive. Nothing here decides anything.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import psycopg

from cluster.pgctl import parse_lsn
from cluster.sqlconn import MANAGER_APPLICATION, dsn, session_options
from core.credentials import Credentials

log = logging.getLogger(__name__)

PROBE_SQL = """
select pg_is_in_recovery(),
       case when not pg_is_in_recovery() then pg_current_wal_lsn()::text end,
       case when not pg_is_in_recovery()
            then substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8) end,
       pg_last_wal_receive_lsn()::text,
       pg_last_wal_replay_lsn()::text,
       case when pg_is_in_recovery() then pg_is_wal_replay_paused() end,
       (select status from pg_stat_wal_receiver),
       (select received_tli from pg_stat_wal_receiver),
       (select count(*) from pg_stat_activity where wait_event = 'SyncRep')
"""

REPLICATION_SQL = """
select application_name, state, sync_state, flush_lsn::text
from pg_stat_replication
"""


@dataclass(frozen=True)
class Downstream:
    name: str
    state: str
    sync_state: str
    flush_lsn: int | None


@dataclass(frozen=True)
class InstanceObservation:
    instance_id: str
    at: float  # time.monotonic() of the last successful probe
    in_recovery: bool
    current_lsn: int | None
    timeline: int | None
    receive_lsn: int | None
    replay_lsn: int | None
    replay_paused: bool
    receiver_status: str | None
    commits_waiting_on_quorum: int
    downstream: tuple[Downstream, ...]

    @property
    def wal_position(self) -> int:
        """How far this instance's WAL goes, for choosing the most advanced candidate."""
        return max(self.replay_lsn or 0, self.receive_lsn or 0, self.current_lsn or 0)


def _lsn(value: str | None) -> int | None:
    return parse_lsn(value) if value else None


def probe(conn: psycopg.Connection[Any], instance_id: str) -> InstanceObservation:
    row = conn.execute(PROBE_SQL).fetchone()
    if row is None:
        raise psycopg.DataError("the health probe returned no row")
    in_recovery = bool(row[0])
    downstream: tuple[Downstream, ...] = ()
    if not in_recovery:
        downstream = tuple(
            Downstream(r[0], r[1], r[2], _lsn(r[3])) for r in conn.execute(REPLICATION_SQL)
        )
    return InstanceObservation(
        instance_id=instance_id,
        at=time.monotonic(),
        in_recovery=in_recovery,
        current_lsn=_lsn(row[1]),
        timeline=int(row[2], 16) if row[2] else (int(row[7]) if row[7] else None),
        receive_lsn=_lsn(row[3]),
        replay_lsn=_lsn(row[4]),
        replay_paused=bool(row[5]),
        receiver_status=row[6],
        commits_waiting_on_quorum=int(row[8]),
        downstream=downstream,
    )


class Prober:
    """Probes one instance on a persistent connection: every `interval` seconds while it is
    the writer (whose loss must be seen fast), every `reader_interval` seconds as a reader."""

    def __init__(
        self,
        instance_id: str,
        port: int,
        credentials: Credentials,
        interval: float,
        timeout: float,
        *,
        reader_interval: float | None = None,
        tls: Mapping[str, str] | None = None,
    ) -> None:
        self.instance_id = instance_id
        self.tls = dict(tls or {})
        self.port = port
        self.credentials = credentials
        self.interval = interval
        self.reader_interval = reader_interval or interval
        self.timeout = timeout
        self.latest: InstanceObservation | None = None
        self.last_error: str | None = None
        self.failures = 0
        self.waiting_since: float | None = None  # when the last observation was dropped
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._conn: psycopg.Connection[Any] | None = None
        self._thread = threading.Thread(target=self._run, name=f"probe-{instance_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def forget(self) -> None:
        """Drop the last observation (after a restart or a role change) and probe again now."""
        self.latest = None
        self.waiting_since = time.monotonic()
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            self._tick()
            latest = self.latest
            interval = self.reader_interval if latest and latest.in_recovery else self.interval
            self._wake.wait(max(0.0, interval - (time.monotonic() - started)))
            self._wake.clear()
        self._close()

    def _tick(self) -> None:
        try:
            if self._conn is None or self._conn.closed:
                self._conn = psycopg.connect(
                    dsn(self.port, self.credentials, tls=self.tls),
                    autocommit=True,
                    connect_timeout=max(1, round(self.timeout)),
                    application_name=MANAGER_APPLICATION,
                    options=session_options(int(self.timeout * 1000)),
                )
            self.latest = probe(self._conn, self.instance_id)
            self.last_error = None
            self.failures = 0
        except psycopg.Error as exc:
            self.failures += 1
            self.last_error = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            self._close()

    def _close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
            self._conn = None
