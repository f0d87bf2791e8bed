"""What the cluster manager remembers about each member between cycles: faults that hold it, a
background job in progress, restart counts, and the cluster-wide flags (failing over, quorum
lost). Plain mutable records, owned by the manager's thread."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from core.topology import InstanceState

STORAGE_SETTLE_S = 5.0  # how long segments may take to re-attach after a failover


class Hold(enum.StrEnum):
    """Why a fault holds an instance or segment (it is not healed while held)."""

    STOPPED = "stopped"  # stop-instance / stop-segment
    HUNG = "hung"  # hang-instance (SIGSTOP)
    AZ_LOST = "az-lost"  # lose-az


@dataclass
class InstanceRuntime:
    state: InstanceState = InstanceState.STARTING
    started_at: float | None = None
    needs_rewind: bool = False
    held: Hold | None = None
    job: str | None = None  # a background job in progress ("rejoining", "rebooting", ...)
    restart_failures: int = 0
    delay_ms: int = 0  # delay-replica
    receiver_down_since: float | None = None
    unreachable_since: float | None = None  # reported not reachable (time.monotonic())


@dataclass
class SegmentRuntime:
    held: Hold | None = None
    started_at: float | None = None
    quick_exits: int = 0
    was_streaming: bool = False
    lost_reported: bool = False


@dataclass
class ManagerState:
    instances: dict[str, InstanceRuntime] = field(default_factory=dict)
    segments: dict[str, SegmentRuntime] = field(default_factory=dict)
    quorum_lost: bool = False
    failing_over: bool = False
    failover_retry_at: float = 0.0  # after a failed failover, wait before trying again
    storage_settle_until: float = 0.0  # the volume is being re-attached to a new writer
