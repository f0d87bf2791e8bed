"""Transactions, block I/O, tuples, temp files and deadlocks from pg_stat_database."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from prometheus_client.core import Metric

from collector.queries import query_for
from collector.sources.base import InstancePoll, counter, fetch_one, gauge


@dataclass(frozen=True)
class DatabaseSnapshot:
    backends: int
    xact_commit: float
    xact_rollback: float
    blks_read: float
    blks_hit: float
    tup_returned: float
    tup_fetched: float
    tup_inserted: float
    tup_updated: float
    tup_deleted: float
    conflicts: float
    temp_files: float
    temp_bytes: float
    deadlocks: float
    blk_read_seconds: float
    blk_write_seconds: float
    session_seconds: float | None
    active_seconds: float | None
    oldest_xid_age: float


# (metric name, snapshot field, help)
COUNTERS = (
    ("borealis_xact_commits", "xact_commit", "Transactions committed."),
    ("borealis_xact_rollbacks", "xact_rollback", "Transactions rolled back."),
    (
        "borealis_blocks_read",
        "blks_read",
        "Blocks read from outside shared buffers (disk or OS cache); ReadIOPS is their rate.",
    ),
    ("borealis_blocks_hit", "blks_hit", "Blocks found in shared buffers."),
    ("borealis_tuples_returned", "tup_returned", "Rows returned by scans."),
    ("borealis_tuples_fetched", "tup_fetched", "Rows fetched by index scans."),
    ("borealis_tuples_inserted", "tup_inserted", "Rows inserted."),
    ("borealis_tuples_updated", "tup_updated", "Rows updated."),
    ("borealis_tuples_deleted", "tup_deleted", "Rows deleted."),
    ("borealis_recovery_conflicts", "conflicts", "Queries cancelled by recovery conflicts."),
    ("borealis_temp_files", "temp_files", "Temporary files created."),
    ("borealis_temp_bytes", "temp_bytes", "Bytes written to temporary files."),
    ("borealis_deadlocks", "deadlocks", "Deadlocks detected."),
    (
        "borealis_block_read_seconds",
        "blk_read_seconds",
        "Time spent reading blocks (track_io_timing).",
    ),
    (
        "borealis_block_write_seconds",
        "blk_write_seconds",
        "Time spent writing blocks (track_io_timing).",
    ),
    ("borealis_session_seconds", "session_seconds", "Time spent by sessions (PG 14+)."),
    (
        "borealis_active_seconds",
        "active_seconds",
        "Time sessions spent executing statements (PG 14+): a cross-check for DB load.",
    ),
)


class DatabaseSource:
    name = "database"
    os_metrics = False

    def poll(self, conn: psycopg.Connection[Any], version_num: int) -> DatabaseSnapshot:
        row = fetch_one(conn, query_for("database", version_num) or "")
        if row is None:
            raise psycopg.DataError(f"{self.name}: the query returned no row")
        return DatabaseSnapshot(**row)

    def families(self, polls: Sequence[InstancePoll]) -> Iterable[Metric]:
        backends = gauge("borealis_database_backends", "Backends connected to any database.")
        xid_age = gauge(
            "borealis_oldest_xid_age",
            "Age in transactions of the oldest unfrozen transaction id of any database, "
            "max(age(datfrozenxid)) (MaximumUsedTransactionIDs); at 2,146,483,648 the server "
            "stops assigning transaction ids to avoid wraparound.",
        )
        counters = [(counter(name, doc), attr) for name, attr, doc in COUNTERS]
        for poll in polls:
            snap: DatabaseSnapshot | None = poll.results.get(self.name)
            if snap is None:
                continue
            backends.add_metric(poll.labels, snap.backends)
            xid_age.add_metric(poll.labels, snap.oldest_xid_age)
            for family, attr in counters:
                value = getattr(snap, attr)
                if value is not None:
                    family.add_metric(poll.labels, value)
        yield backends
        yield xid_age
        for family, _ in counters:
            yield family
