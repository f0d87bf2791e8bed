"""One polling thread per instance: runs every source and publishes a frozen InstancePoll.

The scrape never queries PostgreSQL itself: it renders the latest polls. A hung instance
blocks only its own thread; its poll then grows old and the instance is reported down.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import psycopg

from collector.alert import ClusterAlert
from collector.db import SourceError, connect, first_line
from collector.sources.base import InstancePoll, Source
from collector.sources.instance import InstanceSnapshot
from collector.targets import UNKNOWN, Target
from collector.worker import Worker
from core.settings import CollectorSettings

log = logging.getLogger(__name__)

PollObserver = Callable[[InstancePoll], None]
# An OS reading due within this much of now is taken now: polls drift by milliseconds.
OS_SLACK_S = 0.1


def changed(previous: InstancePoll | None, current: InstancePoll) -> bool:
    """An instance went down or changed role: its cluster may be failing over."""
    if previous is None:
        return False
    return (previous.ok and not current.ok) or (
        previous.ok and current.ok and previous.role != current.role
    )


class InstancePoller(Worker):
    def __init__(
        self,
        target: Target,
        sources: Sequence[Source],
        settings: CollectorSettings,
        observers: Sequence[PollObserver] = (),
        alert: ClusterAlert | None = None,
    ) -> None:
        self.target = target
        self.alert = alert or ClusterAlert()  # shared by the pollers of one cluster
        self.sources = sources
        self.settings = settings
        self.observers = observers  # called with every poll, on this thread (detectors)
        self.observer_errors_total = 0
        self.latest: InstancePoll | None = None
        self.polls_total = 0
        self.poll_errors_total = 0
        self._in_progress_since: float | None = None
        self._role = target.expected_role
        self._version = 0
        self._conn: psycopg.Connection[Any] | None = None
        # The last reading of each OS-metrics source: (when, result, duration).
        self._os_readings: dict[str, tuple[float, Any, float]] = {}
        super().__init__(f"poll-{target.db_instance}")
        self._wake = self.alert.subscribe()

    def stop(self) -> None:
        super().stop()
        self._wake.set()

    @property
    def role(self) -> str:
        return self._role

    def is_up(self, now: float | None = None) -> bool:
        """Up when the last poll succeeded and is recent enough."""
        now = time.monotonic() if now is None else now
        poll = self.latest
        return poll is not None and poll.ok and now - poll.at <= self.settings.down_after_s

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            previous = self.latest
            try:
                self.latest = self.poll_once()
            except Exception as exc:
                log.exception("polling %s failed unexpectedly", self.target.db_instance)
                self.latest = self._failed(f"internal error: {exc}")
            if changed(previous, self.latest):
                self.alert.raise_alert()
            self._notify(self.latest)
            self._wake.clear()
            interval = self.alert.interval(self.settings.poll_interval_s)
            self._wake.wait(max(0.0, interval - (time.monotonic() - started)))
        self._close()

    def _notify(self, poll: InstancePoll) -> None:
        for observer in self.observers:
            try:
                observer(poll)
            except Exception:
                self.observer_errors_total += 1
                log.exception("a poll observer of %s failed", self.target.db_instance)

    def _failed(self, error: str) -> InstancePoll:
        self.poll_errors_total += 1
        return InstancePoll(
            target=self.target,
            at=time.monotonic(),
            wall_time=time.time(),
            ok=False,
            role=self._role,
            version_num=self._version,
            errors={"connect": error},
        )

    def poll_once(self) -> InstancePoll:
        self.polls_total += 1
        if self._conn is None or self._conn.closed:
            try:
                self._conn = connect(
                    self.target.dsn,
                    connect_timeout=self.settings.connect_timeout_s,
                    statement_timeout_ms=self.settings.statement_timeout_ms,
                )
            except SourceError as exc:
                return self._failed(str(exc))
            self._os_readings.clear()  # maybe a restarted instance: new processes
        conn = self._conn
        results: dict[str, Any] = {}
        durations: dict[str, float] = {}
        errors: dict[str, str] = {}
        ok = True
        os_due = time.monotonic() - self.settings.os_poll_interval_s + OS_SLACK_S
        for source in self.sources:
            reading = self._os_readings.get(source.name) if source.os_metrics else None
            if reading is not None and reading[0] > os_due:
                _, results[source.name], durations[source.name] = reading
                continue
            started = time.perf_counter()
            try:
                results[source.name] = source.poll(conn, self._version)
            except psycopg.Error as exc:
                errors[source.name] = first_line(exc)
                if source.name == "instance":
                    ok = False
                if conn.closed or conn.broken:
                    ok = False
                    durations[source.name] = time.perf_counter() - started
                    break
            durations[source.name] = time.perf_counter() - started
            if source.os_metrics and source.name in results:
                self._os_readings[source.name] = (
                    time.monotonic(),
                    results[source.name],
                    durations[source.name],
                )
            if source.name == "instance" and isinstance(results.get("instance"), InstanceSnapshot):
                snap: InstanceSnapshot = results["instance"]
                self._role = "reader" if snap.in_recovery else "writer"
                self._version = snap.version_num
            elif source.name == "instance":
                break
        if not ok:
            self.poll_errors_total += 1
            self._close()
        return InstancePoll(
            target=self.target,
            at=time.monotonic(),
            wall_time=time.time(),
            ok=ok,
            role=self._role if ok else (self._role or UNKNOWN),
            version_num=self._version,
            results=results,
            durations=durations,
            errors=errors,
        )

    def _close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
            self._conn = None
