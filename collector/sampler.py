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
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import psycopg
from psycopg import sql

from collector.db import OWN_APPLICATIONS, SourceError, connect, first_line
from collector.digest import normalize, synthetic_id
from collector.pi_catalog import CPU
from collector.pi_stats import StatsReader, StatsSnapshot, composed
from collector.queries import query_for
from collector.targets import Target
from collector.topk import CappedCounters
from collector.waits import ProfileDelta, ProfileRead, split_waits
from collector.worker import Worker
from core.settings import CollectorSettings

log = logging.getLogger(__name__)

__all__ = ["CPU", "ActiveSession", "LoadAccumulator", "Sample", "SessionSampler"]

PROFILE_EVERY_S = 1.0  # read pg_wait_sampling's profile about this often
# One round trip carries the samples of about this long (see active_sessions.sql).
BATCH_S = 1.0
MAX_DIGEST_TEXTS = 20_000
MAX_SEEN_SESSIONS = 10_000


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
    query: str  # as pg_stat_activity shows it: may hold literals, never logged or exported
    user_id: int = 0
    digest_id: str = ""
    sql_id: str = ""
    query_start: float = 0.0  # server clock, epoch seconds
    share: float = 1.0  # the part of this session's weight that went to this wait


@dataclass(frozen=True)
class Sample:
    target: Target
    wall_time: float  # time.time() when taken
    weight: float  # seconds this sample stands for
    sessions: tuple[ActiveSession, ...]
    server_time: float = 0.0  # the server's clock when taken


class DigestBook:
    """Digest id -> normalised text (no literals), learnt from activity and pg_stat_statements."""

    def __init__(self) -> None:
        self._texts: dict[str, str] = {}
        self._by_text: dict[str, str] = {}  # normalised text -> a query id's key with it
        self._lock = threading.Lock()

    def digest_id(self, query_id: int | None, query: str) -> str:
        if query_id:
            key = str(query_id)
            if not self._texts.get(key) and (query or key not in self._texts):
                self._remember(key, normalize(query), by_query_id=True)
            return key
        # No query id: the server computes none, or the session was caught before it
        # reported one (while its statement was parsed). A statement already known by its
        # query id keeps it, so one statement is not two digests.
        text = normalize(query)
        key = self._by_text.get(text) or synthetic_id(text)
        if key not in self._texts:
            self._remember(key, text)
        return key

    def learn(self, texts: dict[str, str]) -> None:
        """Texts from pg_stat_statements (keyed by query id) are better (never cut): they win."""
        for key, text in texts.items():
            if text:
                self._remember(key, text, by_query_id=True)

    def _remember(self, key: str, text: str, by_query_id: bool = False) -> None:
        with self._lock:
            if len(self._texts) >= MAX_DIGEST_TEXTS:
                self._texts.clear()
                self._by_text.clear()
            self._texts[key] = text
            if by_query_id and text:
                self._by_text.setdefault(text, key)

    def text(self, key: str) -> str:
        return self._texts.get(key, "")


@dataclass(frozen=True)
class Statement:
    digest_id: str
    sql_id: str
    query: str  # kept only when collector.sql_literals is on
    query_id: int | None = None


class StatementBook:
    """Statements already digested, by (pid, statement start): a statement's text comes only
    with its first row of a batch, and sqlparse runs once per statement, not once a sample."""

    MAX = 10_000

    def __init__(self, digests: DigestBook, literals: bool) -> None:
        self.digests = digests
        self.literals = literals
        self._known: dict[tuple[int, float], Statement] = {}

    def statement(
        self, pid: int, start: float, query_id: int | None, text: str | None
    ) -> Statement:
        key = (pid, start)
        known = self._known.get(key)
        fresh_id = bool(query_id) and known is not None and known.query_id != query_id
        if known is not None and not fresh_id and (text is None or known.digest_id):
            return known
        if text is None and not query_id:  # its text went with a batch we did not keep
            return Statement("", "", "")
        if len(self._known) >= self.MAX:
            self._known.clear()
        query = text or ""
        digest_id = self.digests.digest_id(query_id, query)
        sql_id = f"sql-{zlib.crc32(query.encode()):08x}" if self.literals else digest_id
        known = Statement(digest_id, sql_id, query if self.literals else "", query_id)
        self._known[key] = known
        return known


def sessions_of(
    rows: Sequence[tuple[Any, ...]],
    book: StatementBook,
    names: Names,
    seen: dict[tuple[Any, ...], ActiveSession] | None = None,
) -> tuple[ActiveSession, ...]:
    """The active sessions of one tick's rows (columns as in active_sessions.sql). `seen`
    keeps the sessions of earlier ticks: a session in the same state is the same object."""
    seen = {} if seen is None else seen
    sessions = []
    for row in rows:
        key = row[2:13]  # everything but the tick, its time and the statement text
        known = seen.get(key)
        if known is not None:
            sessions.append(known)
            continue
        (_n, _at, pid, _bs, wait_type, wait_event, query_id, query_start, application,
         user_id, database_id, host, kind, text) = row  # fmt: skip
        statement = book.statement(pid, query_start, query_id, text)
        if len(seen) >= MAX_SEEN_SESSIONS:
            seen.clear()
        seen[key] = session = ActiveSession(
            pid=pid,
            user=names.roles.get(user_id, ""),
            database=names.databases.get(database_id, ""),
            application=application,
            host=host,
            session_type=kind,
            wait_event_type=wait_type or CPU,
            wait_event=wait_event or CPU,
            query_id=query_id,
            query=statement.query,
            user_id=user_id,
            digest_id=statement.digest_id,
            sql_id=statement.sql_id,
            query_start=query_start or 0.0,
        )
        sessions.append(session)
    return tuple(sessions)


def attribute(
    sample: Sample,
    delta: ProfileDelta,
    cache: dict[tuple[int, float, str, str], tuple[ActiveSession, ...]] | None = None,
) -> Sample:
    """The sample with each session split across the waits the profile saw (see waits.py).

    `cache` carries the splits across the samples of one profile window (they are the same)."""
    cache = {} if cache is None else cache
    sessions: list[ActiveSession] = []
    for session in sample.sessions:
        key = (session.pid, session.query_start, session.wait_event_type, session.wait_event)
        split = cache.get(key)
        if split is None or split[0] != session:
            shares = split_waits(delta, session.pid, session.query_start)
            split = (session,) + (
                tuple(
                    replace(session, wait_event_type=t, wait_event=e, share=session.share * f)
                    for t, e, f in shares
                )
                if shares is not None
                else (session,)
            )
            cache[key] = split
        sessions.extend(split[1:])
    return replace(sample, sessions=tuple(sessions))


class LoadAccumulator:
    """Active-session-seconds since the collector started: per wait event, and per digest,
    user, database, application, host and session type with a cap on distinct values."""

    def __init__(self, max_digests: int = 50, max_values: int = 20) -> None:
        self._lock = threading.Lock()
        self.by_wait: dict[tuple[str, str], float] = {}
        self.samples = 0
        self.sampled_seconds = 0.0
        self.by_sql = CappedCounters(max_digests)
        self.by_dimension = {
            "user": CappedCounters(max_values),
            "database": CappedCounters(max_values),
            "application": CappedCounters(max_values),
            "host": CappedCounters(max_values),
            "session_type": CappedCounters(max_values),
        }

    def add(self, sample: Sample) -> None:
        self.add_all((sample,))

    def add_all(self, samples: Sequence[Sample]) -> None:
        """Samples of one round trip: summed first, so the capped counters (and their
        decay) are updated once per round trip rather than once per sample."""
        now = time.monotonic()
        # A session in the same state from tick to tick is the same object (sessions_of):
        # sum its weight first, then spread it over the dimensions once.
        weights: dict[int, tuple[ActiveSession, float]] = {}
        for sample in samples:
            for session in sample.sessions:
                known = weights.get(id(session))
                value = sample.weight * session.share
                weights[id(session)] = (session, value + (known[1] if known else 0.0))
        by_wait: dict[tuple[str, str], float] = {}
        by_sql: dict[str, float] = {}
        by_dimension: dict[str, dict[str, float]] = {name: {} for name in self.by_dimension}
        for session, value in weights.values():
            key = (session.wait_event_type, session.wait_event)
            by_wait[key] = by_wait.get(key, 0.0) + value
            by_sql[session.digest_id] = by_sql.get(session.digest_id, 0.0) + value
            for name, sums in by_dimension.items():
                dimension = getattr(session, name)
                sums[dimension] = sums.get(dimension, 0.0) + value
        with self._lock:
            self.samples += len(samples)
            self.sampled_seconds += sum(sample.weight for sample in samples)
            for key, value in by_wait.items():
                self.by_wait[key] = self.by_wait.get(key, 0.0) + value
        if not by_sql:
            return
        self.by_sql.add_many(by_sql, now)
        for name, counters in self.by_dimension.items():
            counters.add_many(by_dimension[name], now)

    def snapshot(self) -> tuple[dict[tuple[str, str], float], int, float]:
        with self._lock:
            return dict(self.by_wait), self.samples, self.sampled_seconds


def hot_query(version: int, samples: int = 1, period_s: float = 1.0) -> sql.Composed:
    """active_sessions.sql for a server (query_id came with PostgreSQL 14), taking `samples`
    samples `period_s` apart."""
    return sql.SQL(query_for("active_sessions", version) or "").format(
        own_applications=sql.Literal(list(OWN_APPLICATIONS)),
        query_id=sql.SQL("s.query_id" if version >= 140000 else "null::int8"),
        samples=sql.Literal(int(samples)),
        period=sql.Literal(float(period_s)),
    )


class Names:
    """Role and database names by oid, asked for when an unknown oid shows up and forgotten
    every `stats_interval_s` (so a rename shows up by then)."""

    QUERY = (
        "select 'role', oid::int8, rolname::text from pg_roles where oid = any(%(roles)s) "
        "union all "
        "select 'database', oid::int8, datname::text from pg_database where oid = any(%(dbs)s)"
    )

    def __init__(self) -> None:
        self.roles: dict[int, str] = {0: ""}
        self.databases: dict[int, str] = {0: ""}

    def learn(self, conn: psycopg.Connection[Any], rows: Sequence[tuple[Any, ...]]) -> None:
        roles = {row[9] for row in rows if row[9] not in self.roles}
        dbs = {row[10] for row in rows if row[10] not in self.databases}
        if not roles and not dbs:
            return
        with conn.cursor() as cur:
            cur.execute(self.QUERY, {"roles": sorted(roles), "dbs": sorted(dbs)}, prepare=True)
            for kind, oid, name in cur.fetchall():
                (self.roles if kind == "role" else self.databases)[oid] = name
        for oid in roles - self.roles.keys():  # dropped meanwhile: do not ask again
            self.roles[oid] = ""
        for oid in dbs - self.databases.keys():
            self.databases[oid] = ""

    def forget(self) -> None:
        self.roles = {0: ""}
        self.databases = {0: ""}


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
        self._last_at: float | None = None  # server clock of the last sample taken
        self._seen: dict[tuple[Any, ...], ActiveSession] = {}
        self.names = Names()

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
        interval = self.settings.sample_interval_s
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
        received = time.time()
        ticks: dict[int, list[tuple[Any, ...]]] = {}
        at: dict[int, float] = {}
        # A session caught while its statement was parsed has no query id yet; the same
        # statement in the round trip's other samples (same pid and start) has it.
        query_ids = {(row[2], row[7]): row[6] for row in rows if row[6] is not None}
        for row in rows:
            at[row[0]] = row[1]
            if row[2] is None:
                continue
            if row[6] is None and (row[2], row[7]) in query_ids:
                row = (*row[:6], query_ids[(row[2], row[7])], *row[7:])  # noqa: PLW2901
            ticks.setdefault(row[0], []).append(row)
        if not at:
            return []
        last_at = at[max(at)]
        samples = []
        for n in sorted(at):
            sampled_at = at[n]
            elapsed = interval if self._last_at is None else sampled_at - self._last_at
            self._last_at = sampled_at
            # A stall (a hung instance, a paused process) must not count as load.
            weight = max(0.0, min(elapsed, 2 * interval))
            sessions = sessions_of(ticks.get(n, ()), self.statements, self.names, self._seen)
            wall_time = received - (last_at - sampled_at)  # our clock: servers may drift
            samples.append(Sample(self.target, wall_time, weight, sessions, sampled_at))
        return samples

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
        self._seen.clear()
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
        self._last_at = None
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
