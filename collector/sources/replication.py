"""Replication, seen from both ends.

On a writer, pg_stat_replication gives every downstream's lag split by stage: *ship*
(write, flush: WAL reaching the standby and its disk) and *apply* (replay). On a reader,
the receiver's own view. A reader's `borealis_replica_lag_seconds` (AuroraReplicaLag) uses
the writer's replay_lag for it when the writer is visible in the same scrape, because that
is measured, not estimated (the reader's own `now() - pg_last_xact_replay_timestamp()` jumps to
the writer's idle time on the first record after a quiet spell); it never reports less than
the reader's estimate, since replay_lag freezes while replay is stuck.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from prometheus_client.core import Metric

from collector.queries import query_for
from collector.sources.base import InstancePoll, fetch_all, gauge


@dataclass(frozen=True)
class Downstream:
    name: str
    state: str
    sync_state: str
    sent_bytes: float | None
    write_bytes: float | None
    flush_bytes: float | None
    replay_bytes: float | None
    write_seconds: float
    flush_seconds: float
    replay_seconds: float


@dataclass(frozen=True)
class Receiver:
    apply_bytes: float
    apply_seconds: float
    receiver_status: str | None
    replay_paused: bool
    replay_lsn: float


@dataclass(frozen=True)
class ReplicationSnapshot:
    downstream: tuple[Downstream, ...]
    receiver: Receiver | None


class ReplicationSource:
    name = "replication"

    def poll(self, conn: psycopg.Connection[Any], version_num: int) -> ReplicationSnapshot:
        senders = fetch_all(conn, query_for("replication_senders", version_num) or "")
        received = fetch_all(conn, query_for("replication_receiver", version_num) or "")
        return ReplicationSnapshot(
            downstream=tuple(
                Downstream(
                    name=r["application_name"],
                    state=r["state"],
                    sync_state=r["sync_state"],
                    sent_bytes=r["sent_bytes"],
                    write_bytes=r["write_bytes"],
                    flush_bytes=r["flush_bytes"],
                    replay_bytes=r["replay_bytes"],
                    write_seconds=r["write_seconds"],
                    flush_seconds=r["flush_seconds"],
                    replay_seconds=r["replay_seconds"],
                )
                for r in senders
            ),
            receiver=Receiver(**received[0]) if received else None,
        )

    def families(self, polls: Sequence[InstancePoll]) -> Iterable[Metric]:
        lag_s = gauge(
            "borealis_replication_lag_seconds",
            "On a writer: each downstream's lag by stage (write and flush: ship; replay: apply).",
            extra=["standby", "stage"],
        )
        lag_b = gauge(
            "borealis_replication_lag_bytes",
            "On a writer: WAL bytes each downstream is behind, by stage.",
            extra=["standby", "stage"],
        )
        standby = gauge(
            "borealis_replication_standby_info",
            "On a writer: one series per connected downstream (readers and storage segments).",
            extra=["standby", "state", "sync_state"],
        )
        replica_s = gauge(
            "borealis_replica_lag_seconds",
            "On a reader: how far behind the writer it applies WAL (AuroraReplicaLag).",
        )
        replica_b = gauge("borealis_replica_lag_bytes", "On a reader: WAL bytes not yet applied.")
        apply_b = gauge(
            "borealis_replica_apply_pending_bytes",
            "On a reader: WAL received but not yet replayed.",
        )
        paused = gauge("borealis_replica_replay_paused", "On a reader: 1 when replay is paused.")
        streaming = gauge(
            "borealis_replica_streaming", "On a reader: 1 when its WAL receiver is streaming."
        )

        by_writer: dict[str, dict[str, Downstream]] = {}
        for poll in polls:
            snap: ReplicationSnapshot | None = poll.results.get(self.name)
            if snap is None:
                continue
            if snap.receiver is None:
                by_writer.setdefault(poll.target.cluster, {}).update(
                    {d.name: d for d in snap.downstream}
                )
            for d in snap.downstream:
                standby.add_metric([*poll.labels, d.name, d.state, d.sync_state], 1)
                for stage, seconds in (
                    ("write", d.write_seconds),
                    ("flush", d.flush_seconds),
                    ("replay", d.replay_seconds),
                ):
                    if stage == "replay" and d.replay_bytes is None:
                        continue  # pg_receivewal never replays: its replay lag means nothing
                    lag_s.add_metric([*poll.labels, d.name, stage], seconds)
                for stage, lag in (
                    ("sent", d.sent_bytes),
                    ("write", d.write_bytes),
                    ("flush", d.flush_bytes),
                    ("replay", d.replay_bytes),
                ):
                    if lag is not None:
                        lag_b.add_metric([*poll.labels, d.name, stage], max(0.0, lag))

        for poll in polls:
            snap = poll.results.get(self.name)
            if snap is None or snap.receiver is None:
                continue
            receiver = snap.receiver
            seen = by_writer.get(poll.target.cluster, {}).get(poll.target.db_instance)
            if seen is not None and seen.replay_bytes is not None:
                # The writer's replay_lag only moves when replay progresses; a stuck reader
                # keeps the last value, so the reader's own estimate bounds it from below.
                replica_s.add_metric(poll.labels, max(seen.replay_seconds, receiver.apply_seconds))
                replica_b.add_metric(poll.labels, max(0.0, seen.replay_bytes))
            else:
                replica_s.add_metric(poll.labels, receiver.apply_seconds)
                replica_b.add_metric(poll.labels, max(0.0, receiver.apply_bytes))
            apply_b.add_metric(poll.labels, max(0.0, receiver.apply_bytes))
            paused.add_metric(poll.labels, 1 if receiver.replay_paused else 0)
            streaming.add_metric(poll.labels, 1 if receiver.receiver_status == "streaming" else 0)
        yield from (lag_s, lag_b, standby, replica_s, replica_b, apply_b, paused, streaming)
