"""Deciding what the cluster needs, apart from doing it (Patroni's ha.py vs postmaster.py).

`decide()` is a pure function of a frozen `ClusterView`; each `Decision` carries a
plain-English reason that the manager logs, shows as an event and tests assert on.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from cluster.observe import InstanceObservation
from core.topology import READ_QUORUM, WRITE_QUORUM, Role


class Action(enum.StrEnum):
    FAILOVER = "failover"
    RESTART_WRITER = "restart-writer"
    RESTART_READER = "restart-reader"
    REJOIN_READER = "rejoin-reader"
    RESYNC_READER = "resync-reader"
    RESTART_SEGMENT = "restart-segment"


@dataclass(frozen=True)
class InstanceView:
    id: str
    az: str
    tier: int
    role: Role
    process_alive: bool
    observation: InstanceObservation | None
    observation_age: float | None  # seconds since the last successful probe
    held: bool  # stopped, hung or cut off on purpose (a fault), or busy: not healed
    needs_rewind: bool  # a former writer, or a reader that went past the writer's timeline
    started_age: float | None  # seconds since we (re)started it or last dropped its observation
    stopped: bool = False  # stopped on purpose (stop-instance): waits for start-instance
    busy: bool = False  # a reboot or a heal job is working on it right now
    receiver_down_s: float = 0.0  # a reader: how long its WAL receiver has not been streaming

    @property
    def healthy_reader(self) -> bool:
        return (
            self.role is Role.READER
            and self.process_alive
            and not self.held
            and not self.needs_rewind
            and self.observation is not None
            and self.observation.in_recovery
            and self.observation_age is not None
            and self.observation_age < 2.0
        )


@dataclass(frozen=True)
class SegmentView:
    id: str
    az: str
    process_alive: bool
    held: bool
    streaming: bool  # listed by the writer's pg_stat_replication as streaming


@dataclass(frozen=True)
class ClusterView:
    writer_id: str
    instances: tuple[InstanceView, ...]
    segments: tuple[SegmentView, ...]
    unresponsive_after: float
    start_grace: float
    resync_after: float = 15.0  # a reader not streaming from a healthy writer this long

    def instance(self, instance_id: str) -> InstanceView:
        return next(i for i in self.instances if i.id == instance_id)

    @property
    def writer(self) -> InstanceView:
        return self.instance(self.writer_id)


@dataclass(frozen=True)
class Decision:
    action: Action
    target: str
    reason: str
    candidates: tuple[str, ...] = ()


def failover_candidates(view: ClusterView, target: str | None = None) -> tuple[str, ...]:
    """Healthy readers in promotion order: lowest tier first, then the most advanced WAL.

    A requested target goes first when it is a healthy reader.
    """
    readers = [i for i in view.instances if i.healthy_reader]
    readers.sort(
        key=lambda i: (
            i.tier,
            -(i.observation.wal_position if i.observation else 0),
            i.id,
        )
    )
    order = [i.id for i in readers]
    if target is not None and target in order:
        order.remove(target)
        order.insert(0, target)
    return tuple(order)


def _writer_decision(view: ClusterView) -> Decision | None:
    writer = view.writer
    if writer.busy:
        return None  # being rebooted: a reboot never fails over
    if writer.stopped and not writer.process_alive:
        return None  # stopped on purpose: wait for start-instance, as Aurora waits for a start
    cause: str | None = None
    if not writer.process_alive:
        cause = f"writer {writer.id} is down (its postmaster exited)"
    elif writer.observation_age is None:
        if writer.started_age is not None and writer.started_age > view.unresponsive_after + 5:
            cause = f"writer {writer.id} has not answered since it started"
    elif writer.observation_age > view.unresponsive_after:
        cause = (
            f"writer {writer.id} has not answered health checks for "
            f"{writer.observation_age:.1f} s (limit {view.unresponsive_after:.1f} s)"
        )
    if cause is None:
        return None
    candidates = failover_candidates(view)
    if candidates:
        best = view.instance(candidates[0])
        return Decision(
            Action.FAILOVER,
            candidates[0],
            f"{cause}; promoting {best.id} (tier {best.tier}, {best.az})",
            candidates,
        )
    if not writer.process_alive and not writer.held:
        return Decision(
            Action.RESTART_WRITER, writer.id, f"{cause} and no healthy reader can take over"
        )
    return None  # cut off (a lost AZ) with nobody to take over: wait until it returns


def decide(view: ClusterView) -> list[Decision]:
    decisions: list[Decision] = []
    writer_decision = _writer_decision(view)
    if writer_decision is not None:
        decisions.append(writer_decision)
        if writer_decision.action is Action.FAILOVER:
            return decisions  # healing waits until the new writer is in place

    for inst in view.instances:
        if inst.role is not Role.READER or inst.held or inst.process_alive:
            continue
        if inst.needs_rewind:
            decisions.append(
                Decision(
                    Action.REJOIN_READER,
                    inst.id,
                    f"{inst.id} must rejoin the writer's timeline; rewinding and restarting "
                    "it as a reader",
                )
            )
        else:
            decisions.append(
                Decision(Action.RESTART_READER, inst.id, f"reader {inst.id} is down; restarting it")
            )

    writer = view.writer
    writer_fine = (
        writer.process_alive
        and not writer.busy
        and writer.observation_age is not None
        and writer.observation_age < 2.0
    )
    for inst in view.instances:
        if (
            writer_fine
            and inst.role is Role.READER
            and inst.process_alive
            and not inst.held
            and inst.receiver_down_s > view.resync_after
            and (inst.started_age or 0) > view.resync_after
        ):
            decisions.append(
                Decision(
                    Action.RESYNC_READER,
                    inst.id,
                    f"reader {inst.id} has not streamed from the writer for "
                    f"{inst.receiver_down_s:.0f} s; rejoining it",
                )
            )

    if view.writer.process_alive:
        for seg in view.segments:
            if not seg.held and not seg.process_alive:
                decisions.append(
                    Decision(
                        Action.RESTART_SEGMENT,
                        seg.id,
                        f"storage segment {seg.id} ({seg.az}) is down; repairing it",
                    )
                )
    return decisions


def streaming_segments(view: ClusterView) -> int:
    return sum(1 for s in view.segments if s.streaming)


def has_write_quorum(view: ClusterView) -> bool:
    return streaming_segments(view) >= WRITE_QUORUM


def readable_segments(view: ClusterView) -> list[str]:
    """Segments whose files can be read. A receiver that exited because the writer died
    still has its data; only a segment cut off by a fault (stopped, lost AZ) does not."""
    return [s.id for s in view.segments if not s.held]


def has_read_quorum(view: ClusterView) -> bool:
    return len(readable_segments(view)) >= READ_QUORUM
