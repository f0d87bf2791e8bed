"""Identity, role, uptime and timeline of an instance (pg_is_in_recovery and friends)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from prometheus_client.core import GaugeMetricFamily, Metric

from collector.queries import query_for
from collector.sources.base import InstancePoll, fetch_one, gauge


@dataclass(frozen=True)
class InstanceSnapshot:
    in_recovery: bool
    start_time: float
    version_num: int
    wal_lsn: float | None
    timeline: int | None
    max_connections: int
    block_size: int


class InstanceSource:
    name = "instance"
    os_metrics = False

    def poll(self, conn: psycopg.Connection[Any], version_num: int) -> InstanceSnapshot:
        row = fetch_one(conn, query_for("instance", version_num or 150000) or "")
        if row is None:
            raise psycopg.DataError(f"{self.name}: the query returned no row")
        return InstanceSnapshot(**row)

    def families(self, polls: Sequence[InstancePoll]) -> Iterable[Metric]:
        info = GaugeMetricFamily(
            "borealis_instance_info",
            "Identity of a DB instance; the value is always 1.",
            labels=["cluster", "db_instance", "role", "az", "resource_id", "server_version"],
        )
        writer = gauge("borealis_instance_is_writer", "1 when the instance is the writer.")
        start = gauge(
            "borealis_postmaster_start_time_seconds",
            "When the postmaster started (Unix time); EngineUptime is time() minus this.",
        )
        timeline = gauge("borealis_timeline_id", "The WAL timeline the instance is on.")
        lsn = gauge(
            "borealis_wal_lsn_bytes", "The writer's current WAL position, in bytes from 0/0."
        )
        max_conn = gauge("borealis_max_connections", "The max_connections setting.")
        block_size = gauge(
            "borealis_block_size_bytes",
            "The server's block size: blocks counted by borealis_blocks_*_total are this big.",
        )
        for poll in polls:
            snap: InstanceSnapshot = poll.results["instance"]
            version = str(snap.version_num)
            info.add_metric([*poll.labels, poll.target.resource_id, version], 1)
            writer.add_metric(poll.labels, 0 if snap.in_recovery else 1)
            start.add_metric(poll.labels, snap.start_time)
            if snap.timeline is not None:
                timeline.add_metric(poll.labels, snap.timeline)
            if snap.wal_lsn is not None:
                lsn.add_metric(poll.labels, snap.wal_lsn)
            max_conn.add_metric(poll.labels, snap.max_connections)
            block_size.add_metric(poll.labels, snap.block_size)
        yield from (info, writer, start, timeline, lsn, max_conn, block_size)
