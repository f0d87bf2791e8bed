"""Client connections by state (DatabaseConnections)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from prometheus_client.core import Metric

from collector.queries import query_for
from collector.sources.base import InstancePoll, fetch_all, gauge

STATES = (
    "active",
    "idle",
    "idle in transaction",
    "idle in transaction (aborted)",
    "fastpath function call",
    "disabled",
)


@dataclass(frozen=True)
class ActivitySnapshot:
    by_state: tuple[tuple[str, int], ...]
    sync_rep_waiting: int
    sync_rep_longest_seconds: float

    @property
    def total(self) -> int:
        return sum(n for _, n in self.by_state)


class ActivitySource:
    name = "activity"
    os_metrics = False

    def poll(self, conn: psycopg.Connection[Any], version_num: int) -> ActivitySnapshot:
        rows = fetch_all(conn, query_for("activity", version_num) or "")
        return ActivitySnapshot(
            tuple((r["state"], r["connections"]) for r in rows if r["connections"]),
            sum(r["sync_waiting"] for r in rows),
            max((r["sync_longest_seconds"] for r in rows), default=0.0),
        )

    def families(self, polls: Sequence[InstancePoll]) -> Iterable[Metric]:
        total = gauge("borealis_database_connections", "Client connections (DatabaseConnections).")
        by_state = gauge(
            "borealis_connections_by_state", "Client connections by state.", extra=["state"]
        )
        sync_waiting = gauge(
            "borealis_sync_replication_waiting_sessions",
            "Sessions whose commit waits for the synchronous (storage) quorum.",
        )
        sync_longest = gauge(
            "borealis_sync_replication_longest_wait_seconds",
            "How long the oldest commit has waited for the synchronous quorum.",
        )
        for poll in polls:
            snap: ActivitySnapshot | None = poll.results.get(self.name)
            if snap is None:
                continue
            total.add_metric(poll.labels, snap.total)
            sync_waiting.add_metric(poll.labels, snap.sync_rep_waiting)
            sync_longest.add_metric(poll.labels, snap.sync_rep_longest_seconds)
            counts = dict(snap.by_state)
            for state in sorted(set(STATES) | set(counts)):
                by_state.add_metric([*poll.labels, state], counts.get(state, 0))
        yield from (total, by_state, sync_waiting, sync_longest)
