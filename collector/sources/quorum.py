"""Synchronous (quorum) replication: can commits be acknowledged right now?

Parses the writer's ``synchronous_standby_names`` (``ANY n (...)``, ``FIRST n (...)``,
``n (...)`` or a plain list, which means ``FIRST 1``) and counts the named standbys that
stream now. Works for any PostgreSQL with synchronous replication; for Borealis the standbys
are the six storage segments and ``ANY 4`` is Aurora's write quorum. With too few standbys
commits wait (``borealis_sync_replication_waiting_sessions`` counts them); nothing is
reported when synchronous replication is off.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from prometheus_client.core import Metric

from collector.queries import query_for
from collector.sources.base import InstancePoll, fetch_one, gauge
from collector.syncrep import SyncPolicy, parse_standby_names


@dataclass(frozen=True)
class QuorumSnapshot:
    policy: SyncPolicy
    available: int  # named standbys streaming now


class QuorumSource:
    name = "quorum"
    os_metrics = False

    def poll(self, conn: psycopg.Connection[Any], version_num: int) -> QuorumSnapshot | None:
        row = fetch_one(conn, query_for("quorum", version_num) or "")
        if row is None:
            return None  # a reader: the setting only binds a writer
        policy = parse_standby_names(row["names"] or "")
        if policy is None:
            return None
        streaming = set(row["streaming"] or ())
        return QuorumSnapshot(policy, sum(1 for s in streaming if policy.matches(s)))

    def families(self, polls: Sequence[InstancePoll]) -> Iterable[Metric]:
        required = gauge(
            "borealis_sync_quorum_required",
            "Synchronous standbys a commit waits for (n in ANY n / FIRST n).",
            extra=["method"],
        )
        members = gauge(
            "borealis_sync_quorum_members",
            "Standbys named in synchronous_standby_names ('*' counts as one).",
        )
        available = gauge(
            "borealis_sync_quorum_available",
            "Named synchronous standbys streaming now.",
        )
        ok = gauge(
            "borealis_sync_quorum_ok",
            "1 when enough synchronous standbys stream for commits to be acknowledged.",
        )
        for poll in polls:
            snap: QuorumSnapshot | None = poll.results.get(self.name)
            if snap is None:
                continue
            required.add_metric([*poll.labels, snap.policy.method], snap.policy.required)
            members.add_metric(poll.labels, len(snap.policy.names))
            available.add_metric(poll.labels, snap.available)
            ok.add_metric(poll.labels, 1 if snap.available >= snap.policy.required else 0)
        yield from (required, members, available, ok)
