"""WAL generation from pg_stat_wal (PostgreSQL 14+): Aurora's WriteIOPS counts log records."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from prometheus_client.core import Metric

from collector.queries import query_for
from collector.sources.base import InstancePoll, counter, fetch_one


@dataclass(frozen=True)
class WalSnapshot:
    wal_records: float
    wal_fpi: float
    wal_bytes: float
    wal_buffers_full: float
    wal_write: float
    wal_sync: float
    wal_write_seconds: float
    wal_sync_seconds: float


COUNTERS = (
    ("borealis_wal_records", "wal_records", "WAL records generated; WriteIOPS is their rate."),
    ("borealis_wal_full_page_images", "wal_fpi", "Full-page images written to WAL."),
    ("borealis_wal_bytes", "wal_bytes", "Bytes of WAL generated."),
    ("borealis_wal_buffers_full", "wal_buffers_full", "Times WAL buffers were full."),
    ("borealis_wal_writes", "wal_write", "WAL write() calls."),
    ("borealis_wal_syncs", "wal_sync", "WAL fsync calls."),
    ("borealis_wal_write_seconds", "wal_write_seconds", "Time writing WAL (track_wal_io_timing)."),
    ("borealis_wal_sync_seconds", "wal_sync_seconds", "Time syncing WAL (track_wal_io_timing)."),
)


class WalSource:
    name = "wal"
    os_metrics = False

    def poll(self, conn: psycopg.Connection[Any], version_num: int) -> WalSnapshot | None:
        sql = query_for("wal", version_num)
        if sql is None:
            return None
        row = fetch_one(conn, sql)
        return WalSnapshot(**row) if row else None

    def families(self, polls: Sequence[InstancePoll]) -> Iterable[Metric]:
        counters = [(counter(name, doc), attr) for name, attr, doc in COUNTERS]
        for poll in polls:
            snap: WalSnapshot | None = poll.results.get(self.name)
            if snap is None:
                continue
            for family, attr in counters:
                family.add_metric(poll.labels, getattr(snap, attr))
        for family, _ in counters:
            yield family
