"""Active sessions, as the sampler sees them: pg_stat_activity rows of one round trip become
`Sample`s of `ActiveSession`s, with names for oids and a digest for each statement.

Pure bookkeeping, no I/O but `Names.learn`: which tick each row belongs to, the query id a
session caught while its statement was parsed gets from the same statement's other rows,
how much time each sample stands for (the server time since the previous one, so a missed
tick is covered by the next, and a stall does not count), and the split of a sample across
the waits pg_wait_sampling saw (`attribute`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import psycopg

from collector.digest import StatementBook
from collector.pi_catalog import CPU
from collector.targets import Target
from collector.waits import ProfileDelta, split_waits

MAX_SEEN_SESSIONS = 10_000

Row = tuple[Any, ...]  # columns as in active_sessions.sql


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


def ticks_of(rows: Sequence[Row]) -> tuple[dict[int, list[Row]], dict[int, float]]:
    """One round trip's rows grouped by tick, and each tick's server time (a tick with no
    active session has one row with no pid: it still counts, as a sample of nothing).

    A session caught while its statement was parsed has no query id yet; the same statement
    (same pid and start) in the round trip's other ticks has it, and lends it."""
    query_ids = {(row[2], row[7]): row[6] for row in rows if row[6] is not None}
    ticks: dict[int, list[Row]] = {}
    at: dict[int, float] = {}
    for row in rows:
        at[row[0]] = row[1]
        if row[2] is None:
            continue
        if row[6] is None and (row[2], row[7]) in query_ids:
            row = (*row[:6], query_ids[(row[2], row[7])], *row[7:])  # noqa: PLW2901
        ticks.setdefault(row[0], []).append(row)
    return ticks, at


class SampleBuilder:
    """Round trips of rows -> samples, for one instance. Remembers the server time of the last
    sample (each sample weighs the time since) and the sessions seen (a session in the same
    state from tick to tick is the same object, so the load counters sum it once)."""

    def __init__(
        self, target: Target, interval_s: float, statements: StatementBook, names: Names
    ) -> None:
        self.target = target
        self.interval_s = interval_s
        self.statements = statements
        self.names = names
        self.last_at: float | None = None  # server clock of the last sample taken
        self.seen: dict[tuple[Any, ...], ActiveSession] = {}

    def samples(self, rows: Sequence[Row], received: float) -> list[Sample]:
        """The samples of one round trip, `received` (time.time()) when its rows arrived."""
        ticks, at = ticks_of(rows)
        if not at:
            return []
        interval = self.interval_s
        last_at = at[max(at)]
        samples = []
        for n in sorted(at):
            sampled_at = at[n]
            elapsed = interval if self.last_at is None else sampled_at - self.last_at
            self.last_at = sampled_at
            # A stall (a hung instance, a paused process) must not count as load.
            weight = max(0.0, min(elapsed, 2 * interval))
            sessions = sessions_of(ticks.get(n, ()), self.statements, self.names, self.seen)
            wall_time = received - (last_at - sampled_at)  # our clock: servers may drift
            samples.append(Sample(self.target, wall_time, weight, sessions, sampled_at))
        return samples

    def restart(self) -> None:
        """A new connection: the next sample has no predecessor on this server."""
        self.last_at = None

    def forget_sessions(self) -> None:
        self.seen.clear()
