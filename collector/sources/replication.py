"""Replication, seen from both ends, with the lag split into *ship* and *apply*.

Ship: WAL on its way to a standby and onto its disk (pg_stat_replication's write and flush
stages). Apply: WAL on the standby's disk, not yet replayed (the replay stage minus flush).

On a writer, pg_stat_replication gives every downstream's lag by cumulative stage
(write <= flush <= replay). On a reader, the receiver's own view. A reader's
`borealis_replica_lag_seconds` (AuroraReplicaLag) uses the writer's replay_lag for it when the
writer is visible in the same scrape, because that is measured, not estimated (the reader's
own `now() - pg_last_xact_replay_timestamp()` jumps to the writer's idle time on the first
record after a quiet spell); it never reports less than the reader's estimate, since
replay_lag freezes while replay is stuck. `borealis_replica_stage_lag_*` splits that lag
into ship and apply (they add up to it).

Commits on a writer with synchronous standbys (the storage quorum) wait for the N-th fastest
standby flush, N from synchronous_standby_names: `borealis_sync_replication_commit_wait_seconds`
estimates that wait from the standbys' flush lag (CommitLatency adds it to the local flush).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any

import psycopg
from prometheus_client.core import GaugeMetricFamily, Metric

from collector.queries import query_for
from collector.sources.base import InstancePoll, fetch_all, fetch_one, gauge
from collector.syncrep import required_count


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
    transit_seconds: float | None = None  # last message from the writer, send to receipt


@dataclass(frozen=True)
class ReplicationState:
    slots_active: int
    slots_inactive: int
    slot_retained_bytes: float
    synchronous_standby_names: str


@dataclass(frozen=True)
class ReplicationSnapshot:
    downstream: tuple[Downstream, ...]
    receiver: Receiver | None
    state: ReplicationState | None = None


def commit_wait_seconds(downstream: Sequence[Downstream], names: str) -> float:
    """The N-th smallest flush lag among the synchronous standbys: a commit returns once N
    of them flushed its WAL (for FIRST N, the N chosen ones are exactly the 'sync' ones).
    With fewer than N connected, commits block: the slowest one known is a lower bound."""
    needed = required_count(names)
    lags = sorted(d.flush_seconds for d in downstream if d.sync_state in ("sync", "quorum"))
    if needed == 0 or not lags:
        return 0.0
    return lags[min(needed, len(lags)) - 1]


@dataclass(frozen=True)
class _Families:
    lag_s: GaugeMetricFamily
    lag_b: GaugeMetricFamily
    standby: GaugeMetricFamily
    replica_s: GaugeMetricFamily
    replica_b: GaugeMetricFamily
    apply_b: GaugeMetricFamily
    paused: GaugeMetricFamily
    streaming: GaugeMetricFamily
    stage_s: GaugeMetricFamily
    stage_b: GaugeMetricFamily
    slots: GaugeMetricFamily
    slot_retained: GaugeMetricFamily
    commit_wait: GaugeMetricFamily

    @classmethod
    def fresh(cls) -> _Families:
        lag_s = gauge(
            "borealis_replication_lag_seconds",
            "On a writer: each downstream's lag by cumulative stage (write <= flush <= replay); "
            "ship is the flush stage, apply is replay minus flush. Storage segments never "
            "replay: they have no replay stage.",
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
        stage_s = gauge(
            "borealis_replica_stage_lag_seconds",
            "On a reader: its lag split by stage; ship = WAL on its way to the reader's disk "
            "(the writer's flush_lag for it, else the last message's transit time), apply = "
            "the rest of borealis_replica_lag_seconds (received, not yet replayed).",
            extra=["stage"],
        )
        stage_b = gauge(
            "borealis_replica_stage_lag_bytes",
            "On a reader: WAL bytes behind, by stage; ship = not yet flushed by the reader "
            "(only the writer sees it: 0 when the writer is not watched), apply = the rest "
            "of borealis_replica_lag_bytes.",
            extra=["stage"],
        )
        slots = gauge(
            "borealis_replication_slots",
            "Replication slots on the instance, by whether a consumer is attached.",
            extra=["active"],
        )
        slot_retained = gauge(
            "borealis_replication_slot_retained_bytes",
            "WAL held back by the most-lagging replication slot (OldestReplicationSlotLag; "
            "the slots' files share this WAL, so it is also ReplicationSlotDiskUsage).",
        )
        commit_wait = gauge(
            "borealis_sync_replication_commit_wait_seconds",
            "Estimated wait of a commit for its synchronous standbys (the storage quorum): "
            "the N-th fastest standby flush lag, N from synchronous_standby_names; 0 without "
            "synchronous standbys and on readers.",
        )

        return cls(
            lag_s=lag_s,
            lag_b=lag_b,
            standby=standby,
            replica_s=replica_s,
            replica_b=replica_b,
            apply_b=apply_b,
            paused=paused,
            streaming=streaming,
            stage_s=stage_s,
            stage_b=stage_b,
            slots=slots,
            slot_retained=slot_retained,
            commit_wait=commit_wait,
        )

    def all(self) -> tuple[GaugeMetricFamily, ...]:
        return tuple(getattr(self, f.name) for f in fields(self))


class ReplicationSource:
    name = "replication"
    os_metrics = False

    def poll(self, conn: psycopg.Connection[Any], version_num: int) -> ReplicationSnapshot:
        senders = fetch_all(conn, query_for("replication_senders", version_num) or "")
        row = fetch_one(conn, query_for("replication_state", version_num) or "")
        if row is None:
            raise psycopg.DataError(f"{self.name}: the state query returned no row")
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
            receiver=Receiver(
                apply_bytes=row["apply_bytes"] or 0.0,
                apply_seconds=row["apply_seconds"] or 0.0,
                receiver_status=row["receiver_status"],
                replay_paused=bool(row["replay_paused"]),
                replay_lsn=row["replay_lsn"] or 0.0,
                transit_seconds=row["transit_seconds"],
            )
            if row["in_recovery"]
            else None,
            state=ReplicationState(
                slots_active=row["slots_active"],
                slots_inactive=row["slots_inactive"],
                slot_retained_bytes=row["slot_retained_bytes"],
                synchronous_standby_names=row["synchronous_standby_names"],
            ),
        )

    def families(self, polls: Sequence[InstancePoll]) -> Iterable[Metric]:
        f = _Families.fresh()
        by_writer: dict[str, dict[str, Downstream]] = {}
        for poll in polls:
            snap: ReplicationSnapshot | None = poll.results.get(self.name)
            if snap is None:
                continue
            if snap.receiver is None:
                by_writer.setdefault(poll.target.cluster, {}).update(
                    {d.name: d for d in snap.downstream}
                )
            _add_upstream_side(f, poll, snap)
        for poll in polls:
            snap = poll.results.get(self.name)
            if snap is None or snap.receiver is None:
                continue
            seen = by_writer.get(poll.target.cluster, {}).get(poll.target.db_instance)
            _add_reader_side(f, poll, snap.receiver, seen)
        yield from f.all()


def _add_upstream_side(f: _Families, poll: InstancePoll, snap: ReplicationSnapshot) -> None:
    """Slots, the commit wait, and every downstream of this instance by stage."""
    if snap.state is not None:
        f.slots.add_metric([*poll.labels, "true"], snap.state.slots_active)
        f.slots.add_metric([*poll.labels, "false"], snap.state.slots_inactive)
        f.slot_retained.add_metric(poll.labels, snap.state.slot_retained_bytes)
        wait = 0.0
        if snap.receiver is None:
            wait = commit_wait_seconds(snap.downstream, snap.state.synchronous_standby_names)
        f.commit_wait.add_metric(poll.labels, wait)
    for d in snap.downstream:
        f.standby.add_metric([*poll.labels, d.name, d.state, d.sync_state], 1)
        for stage, seconds in (
            ("write", d.write_seconds),
            ("flush", d.flush_seconds),
            ("replay", d.replay_seconds),
        ):
            if stage == "replay" and d.replay_bytes is None:
                continue  # pg_receivewal never replays: its replay lag means nothing
            f.lag_s.add_metric([*poll.labels, d.name, stage], seconds)
        for stage, lag in (
            ("sent", d.sent_bytes),
            ("write", d.write_bytes),
            ("flush", d.flush_bytes),
            ("replay", d.replay_bytes),
        ):
            if lag is not None:
                f.lag_b.add_metric([*poll.labels, d.name, stage], max(0.0, lag))


def _add_reader_side(
    f: _Families, poll: InstancePoll, receiver: Receiver, seen: Downstream | None
) -> None:
    """A reader's lag (AuroraReplicaLag) and its split into ship and apply."""
    if seen is not None and seen.replay_bytes is not None:
        # The writer's replay_lag only moves when replay progresses; a stuck reader
        # keeps the last value, so the reader's own estimate bounds it from below.
        total_s = max(seen.replay_seconds, receiver.apply_seconds)
        total_b = max(0.0, seen.replay_bytes)
        ship_s = min(seen.flush_seconds, total_s)
        ship_b = min(max(0.0, seen.flush_bytes or 0.0), total_b)
    else:
        total_s = receiver.apply_seconds
        total_b = max(0.0, receiver.apply_bytes)
        ship_s = min(receiver.transit_seconds or 0.0, total_s)
        ship_b = 0.0  # what the writer has not sent is only visible on the writer
    f.replica_s.add_metric(poll.labels, total_s)
    f.replica_b.add_metric(poll.labels, total_b)
    f.stage_s.add_metric([*poll.labels, "ship"], ship_s)
    f.stage_s.add_metric([*poll.labels, "apply"], total_s - ship_s)
    f.stage_b.add_metric([*poll.labels, "ship"], ship_b)
    f.stage_b.add_metric([*poll.labels, "apply"], total_b - ship_b)
    f.apply_b.add_metric(poll.labels, max(0.0, receiver.apply_bytes))
    f.paused.add_metric(poll.labels, 1 if receiver.replay_paused else 0)
    f.streaming.add_metric(poll.labels, 1 if receiver.receiver_status == "streaming" else 0)
