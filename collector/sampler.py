"""Performance Insights' active-session sampler: pg_stat_activity every second (or faster).

Each sample counts every active session (an active session with no wait event is on CPU)
and adds the elapsed time since the previous sample to a counter per wait event, so
`rate(borealis_db_load_seconds_total[w])` over any window is exactly the average number of
active sessions (AAS), which is what PI calls DB load.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg

from borealis.settings import CollectorSettings
from collector.db import OWN_APPLICATIONS, SourceError, connect, first_line
from collector.queries import query_for
from collector.sources.base import fetch_all
from collector.targets import Target

log = logging.getLogger(__name__)

CPU = "CPU"


@dataclass(frozen=True)
class ActiveSession:
    pid: int
    user: str
    database: str
    application: str
    host: str
    session_type: str
    wait_event_type: str
    wait_event: str
    query_id: int | None
    query: str


@dataclass(frozen=True)
class Sample:
    target: Target
    wall_time: float  # time.time() when taken
    weight: float  # seconds this sample stands for
    sessions: tuple[ActiveSession, ...]


def session_from_row(row: dict[str, Any]) -> ActiveSession:
    wait_type = row["wait_event_type"] or CPU
    wait_event = row["wait_event"] or CPU
    return ActiveSession(
        pid=row["pid"],
        user=row["usename"],
        database=row["datname"],
        application=row["application_name"],
        host=row["client_host"],
        session_type=row["backend_type"] or "",
        wait_event_type=wait_type,
        wait_event=wait_event,
        query_id=row["query_id"],
        query=row["query"] or "",
    )


class LoadAccumulator:
    """Active-session-seconds per (wait event type, wait event), since the collector started."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.by_wait: dict[tuple[str, str], float] = {}
        self.samples = 0
        self.sampled_seconds = 0.0

    def add(self, sample: Sample) -> None:
        with self._lock:
            self.samples += 1
            self.sampled_seconds += sample.weight
            for session in sample.sessions:
                key = (session.wait_event_type, session.wait_event)
                self.by_wait[key] = self.by_wait.get(key, 0.0) + sample.weight

    def snapshot(self) -> tuple[dict[tuple[str, str], float], int, float]:
        with self._lock:
            return dict(self.by_wait), self.samples, self.sampled_seconds


class SessionSampler:
    """One thread per instance; hands every sample to its consumers."""

    def __init__(
        self,
        target: Target,
        settings: CollectorSettings,
        consumers: list[Callable[[Sample], None]],
    ) -> None:
        self.target = target
        self.settings = settings
        self.consumers = consumers
        self.load = LoadAccumulator()
        self.errors_total = 0
        self.last_duration = 0.0
        self._conn: psycopg.Connection[Any] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"sample-{target.db_instance}", daemon=True
        )
        self._sql = query_for("active_sessions", 150000) or ""

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        interval = self.settings.sample_interval_s
        previous: float | None = None
        next_at = time.monotonic()
        while not self._stop.is_set():
            started = time.monotonic()
            sessions = self.take()
            if sessions is not None:
                elapsed = interval if previous is None else started - previous
                # A stall (a hung instance, a paused process) must not count as load.
                weight = min(elapsed, 2 * interval)
                sample = Sample(self.target, time.time(), weight, sessions)
                self.load.add(sample)
                for consume in self.consumers:
                    try:
                        consume(sample)
                    except Exception:
                        log.exception("sample consumer failed")
                previous = started
            else:
                previous = None
            next_at += interval
            now = time.monotonic()
            if next_at < now:  # fell behind: skip ahead rather than burst
                next_at = now + interval
            self._stop.wait(next_at - now)
        self._close()

    def take(self) -> tuple[ActiveSession, ...] | None:
        started = time.perf_counter()
        try:
            if self._conn is None or self._conn.closed:
                self._conn = connect(
                    self.target.dsn,
                    connect_timeout=self.settings.connect_timeout_s,
                    statement_timeout_ms=self.settings.statement_timeout_ms,
                    application="borealis-collector",
                )
            rows = fetch_all(self._conn, self._sql, {"own_applications": list(OWN_APPLICATIONS)})
        except (SourceError, psycopg.Error) as exc:
            self.errors_total += 1
            log.debug("sampling %s failed: %s", self.target.db_instance, first_line(exc))
            self._close()
            return None
        finally:
            self.last_duration = time.perf_counter() - started
        return tuple(session_from_row(row) for row in rows)

    def _close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
            self._conn = None
