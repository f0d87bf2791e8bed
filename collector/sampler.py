"""Performance Insights' active-session sampler: pg_stat_activity every second (or faster).

Each sample counts every active session (an active session with no wait event is on CPU)
and adds the elapsed time since the previous sample to a counter per wait event, so
`rate(borealis_db_load_seconds_total[w])` over any window is exactly the average number of
active sessions (AAS), which is what PI calls DB load.

Below a second, samples come in round trips of about a second (active_sessions.sql): the server
takes them one `sample_interval_s` apart and returns them together, so 100 ms sampling costs
one Python wake-up and one result a second, not ten. A sample's weight is the server time
since the previous one, so a tick that was missed (a slow round trip) is covered by the next.

When pg_wait_sampling is installed (and `collector.wait_sampling` is on), its profile (wait
counts per process, sampled every 10 ms in the server) splits each session's weight across
the waits it really went through (collector/waits.py); pg_stat_activity still supplies every
other dimension. The profile is read about once a second, so at sub-second sampling the
samples of that second are held until then.

Every `stats_interval_s` the same connection also reads pg_stat_statements deltas and the PI
counters (collector/pi_stats.py).

This module is the loop and the connection; rows become samples in collector/activity.py,
statements digests in collector/digest.py, and samples DB load in collector/db_load.py.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from psycopg import sql

from collector.activity import ActiveSession, Names, Sample, SampleBuilder, attribute
from collector.db import OWN_APPLICATIONS, SourceError, connect, first_line
from collector.db_load import LoadAccumulator
from collector.digest import DigestBook, StatementBook
from collector.pi_stats import StatsReader, StatsSnapshot, composed
from collector.queries import query_for
from collector.targets import Target
from collector.waits import ProfileDelta, ProfileRead
from collector.worker import Worker
from core.settings import CollectorSettings

log = logging.getLogger(__name__)

PROFILE_EVERY_S = 1.0  # read pg_wait_sampling's profile about this often
# One round trip carries the samples of about this long (see active_sessions.sql).
BATCH_S = 1.0


def hot_query(version: int, samples: int = 1, period_s: float = 1.0) -> sql.Composed:
    """active_sessions.sql for a server (query_id came with PostgreSQL 14), taking `samples`
    samples `period_s` apart."""
    return sql.SQL(query_for("active_sessions", version) or "").format(
        own_applications=sql.Literal(list(OWN_APPLICATIONS)),
        query_id=sql.SQL("s.query_id" if version >= 140000 else "null::int8"),
        samples=sql.Literal(int(samples)),
        period=sql.Literal(float(period_s)),
    )


class SessionSampler(Worker):
    """One thread per instance; hands every sample (and stats read) to its consumers."""

    def __init__(
        self,
        target: Target,
        settings: CollectorSettings,
        consumers: Sequence[Callable[[Sample], None]],
        stats_consumers: Sequence[Callable[[StatsSnapshot], None]] = (),
    ) -> None:
        self.target = target
        self.settings = settings
        self.consumers = list(consumers)
        self.stats_consumers = list(stats_consumers)
        self.load = LoadAccumulator(settings.max_digests, settings.max_dimension_values)
        self.digests = DigestBook()
        self.stats = StatsReader(target)
        self.errors_total = 0
        self.last_duration = 0.0
        self.wait_sampling_schema: str | None = None  # set while pg_wait_sampling is in use
        self.wait_sampling_installed = False
        self.statements_schema: str | None = None
        self.connected_version = 0  # server_version_num once connected
        self._version = 0
        self._conn: psycopg.Connection[Any] | None = None
        self._pending: list[Sample] = []
        self._profile: ProfileRead | None = None  # pg_wait_sampling's profile, last read
        self._profile_text = ""
        self._profile_read_at = 0.0
        self._next_stats = 0.0
        super().__init__(f"sample-{target.db_instance}")
        self.statements = StatementBook(self.digests, settings.sql_literals)
        self.per_round_trip = max(1, round(BATCH_S / settings.sample_interval_s))
        self._hot_text = ""
        self.names = Names()
        self.builder = SampleBuilder(
            target, settings.sample_interval_s, self.statements, self.names
        )

    def _run(self) -> None:
        # Round trips start on our clock's grid; the server spaces the samples within one.
        span = self.per_round_trip * self.settings.sample_interval_s
        next_at = time.monotonic()
        while not self._stop.wait(max(0.0, next_at - time.monotonic())):
            try:
                samples = self.take()
            except Exception:
                log.exception("sampling %s failed unexpectedly", self.target.db_instance)
                self.errors_total += 1
                self._close()
                samples = None
            if samples is not None:
                self._handle(samples)
                if self._conn is not None and time.monotonic() >= self._next_stats:
                    self._next_stats = time.monotonic() + self.settings.stats_interval_s
                    self._read_stats()
            next_at += span if samples is not None else max(span, 1.0)
            next_at = max(next_at, time.monotonic())  # fell behind: skip ahead, no burst
        self._close()

    def take(self) -> list[Sample] | None:
        """One round trip: `per_round_trip` samples, the first at once, then one every
        `sample_interval_s` (the server sleeps in between); None when the instance could not
        be sampled."""
        started = time.perf_counter()
        try:
            conn = self._connection()
            with conn.cursor() as cur:
                cur.execute(self._hot_text, prepare=True)
                rows = cur.fetchall()
            self.names.learn(conn, rows)  # a tick with no session has oids 0: known
        except (SourceError, psycopg.Error) as exc:
            self.errors_total += 1
            log.debug("sampling %s failed: %s", self.target.db_instance, first_line(exc))
            self._close()
            return None
        finally:
            self.last_duration = time.perf_counter() - started
        return self.builder.samples(rows, received=time.time())

    def _handle(self, samples: list[Sample]) -> None:
        if self.wait_sampling_schema is None:
            self._emit(samples)
            return
        self._pending.extend(samples)
        now = time.monotonic()
        if now - self._profile_read_at >= PROFILE_EVERY_S - self.settings.sample_interval_s / 2:
            self._profile_read_at = now
            self._attribute_pending()

    def _attribute_pending(self) -> None:
        pending, self._pending = self._pending, []
        previous = self._profile
        try:
            self._profile = self._read_profile()
        except psycopg.Error as exc:
            log.warning(
                "%s: pg_wait_sampling's profile is unreadable, using pg_stat_activity only: %s",
                self.target.db_instance,
                first_line(exc),
            )
            self.wait_sampling_schema = None
            self._profile = None
        delta = (
            ProfileDelta.between(previous, self._profile)
            if previous is not None and self._profile is not None
            else None
        )
        cache: dict[tuple[int, float, str, str], tuple[ActiveSession, ...]] = {}
        self._emit(
            [
                attribute(taken, delta, cache) if delta is not None and taken.sessions else taken
                for taken in pending
            ]
        )

    def _read_profile(self) -> ProfileRead:
        if self._conn is None or self.wait_sampling_schema is None:
            raise psycopg.OperationalError("not connected")
        if not self._profile_text:
            query = composed("wait_profile", self._version, self.wait_sampling_schema)
            self._profile_text = query.as_string(self._conn)
        with self._conn.cursor() as cur:
            cur.execute(self._profile_text, prepare=True)
            return ProfileRead.from_rows(cur.fetchall())

    def _emit(self, samples: Sequence[Sample]) -> None:
        self.load.add_all(samples)
        for consume in self.consumers:
            try:
                for sample in samples:
                    consume(sample)
            except Exception:
                log.exception("sample consumer failed")

    def _read_stats(self) -> None:
        if self._conn is None:
            return
        self.names.forget()  # a renamed role or database shows under its new name from now
        self.builder.forget_sessions()
        try:
            snapshot = self.stats.read(self._conn, self._version, self.statements_schema)
        except psycopg.Error as exc:
            self.errors_total += 1
            log.debug("stats of %s failed: %s", self.target.db_instance, first_line(exc))
            return
        self.digests.learn(snapshot.digest_texts)
        for consume in self.stats_consumers:
            try:
                consume(snapshot)
            except Exception:
                log.exception("stats consumer failed")

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is not None and not self._conn.closed:
            return self._conn
        conn = connect(
            self.target.dsn,
            connect_timeout=self.settings.connect_timeout_s,
            # a round trip spans its samples' interval, then has the usual allowance
            statement_timeout_ms=self.settings.statement_timeout_ms + round(1000 * BATCH_S),
            application="borealis-collector",
        )
        self._version = conn.info.server_version
        self._hot_text = hot_query(
            self._version, self.per_round_trip, self.settings.sample_interval_s
        ).as_string(conn)
        self.names.forget()
        self.builder.restart()
        with conn.cursor() as cur:
            cur.execute(query_for("pi_extensions", self._version) or "")
            schemas = {name: schema for name, schema in cur.fetchall()}
        self.statements_schema = schemas.get("pg_stat_statements")
        self.wait_sampling_installed = "pg_wait_sampling" in schemas
        self.connected_version = self._version
        self.wait_sampling_schema = None
        self._pending = []
        self._profile = None
        self._profile_text = ""
        self._conn = conn
        if self.settings.wait_sampling and "pg_wait_sampling" in schemas:
            self.wait_sampling_schema = schemas["pg_wait_sampling"]
            try:
                self._profile = self._read_profile()  # the baseline of the first delta
            except psycopg.Error as exc:
                log.warning(
                    "%s: pg_wait_sampling is installed but unreadable (%s); using "
                    "pg_stat_activity only",
                    self.target.db_instance,
                    first_line(exc),
                )
                self.wait_sampling_schema = None
        self.stats.reset()
        self._next_stats = time.monotonic() + min(1.0, self.settings.stats_interval_s)
        return conn

    def _close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
            self._conn = None
        pending, self._pending = self._pending, []
        self._emit(pending)  # taken before the connection went: they still count
