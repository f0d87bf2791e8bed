"""What the cluster looks like from outside: each member's state, the storage quorum, and
whether the whole is healthy. Pure functions of one `ClusterView` and the manager's records;
the manager serves them (`borealis status`, the control socket, the supervisor's readiness)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cluster.decide import ClusterView, InstanceView, SegmentView
from cluster.runtime import Hold, InstanceRuntime, ManagerState, SegmentRuntime
from core.topology import READ_QUORUM, WRITE_QUORUM, InstanceState, Role, SegmentState, Topology

UNRESPONSIVE_AFTER_S = 2.0  # an instance whose last answer is older looks unresponsive


def instance_state(runtime: InstanceRuntime, view: InstanceView) -> InstanceState:
    if runtime.job == "rejoining":
        return InstanceState.REJOINING
    if runtime.job == "rebooting":
        return InstanceState.REBOOTING
    if runtime.job is not None:
        return InstanceState.STARTING
    if runtime.held is Hold.STOPPED:
        return InstanceState.STOPPED
    if runtime.held is Hold.HUNG:
        return InstanceState.UNRESPONSIVE
    if runtime.held is Hold.AZ_LOST:
        return InstanceState.FAILED
    if not view.process_alive:
        return InstanceState.REJOINING if runtime.needs_rewind else InstanceState.FAILED
    if view.observation_age is None:
        return InstanceState.STARTING
    if view.observation_age > UNRESPONSIVE_AFTER_S:
        return InstanceState.UNRESPONSIVE
    return InstanceState.AVAILABLE


def segment_state(runtime: SegmentRuntime, view: SegmentView) -> SegmentState:
    if runtime.held is Hold.STOPPED:
        return SegmentState.STOPPED
    if runtime.held is not None:
        return SegmentState.FAILED
    if view.streaming:
        return SegmentState.AVAILABLE
    if view.process_alive:
        return SegmentState.STARTING
    return SegmentState.FAILED


def status_report(
    topology: Topology,
    view: ClusterView,
    state: ManagerState,
    *,
    instance_pid: Callable[[str], int | None],
    segment_pid: Callable[[str], int | None],
    failovers: int,
) -> dict[str, Any]:
    """The document `borealis status --json` prints."""
    instances = []
    for spec in topology.instances:
        iv = view.instance(spec.id)
        runtime = state.instances[spec.id]
        obs = iv.observation
        instances.append(
            {
                "id": spec.id,
                "resource_id": spec.resource_id,
                "role": topology.role_of(spec.id).value,
                "az": spec.az,
                "tier": spec.tier,
                "port": spec.port,
                "pid": instance_pid(spec.id),
                "state": instance_state(runtime, iv).value,
                "fault": runtime.held.value if runtime.held else None,
                "replay_paused": bool(obs and obs.in_recovery and obs.replay_paused),
                "replica_delay_ms": runtime.delay_ms,
            }
        )
    segments = []
    for seg_view in view.segments:
        runtime_seg = state.segments[seg_view.id]
        segments.append(
            {
                "id": seg_view.id,
                "az": seg_view.az,
                "state": segment_state(runtime_seg, seg_view).value,
                "pid": segment_pid(seg_view.id),
                "fault": runtime_seg.held.value if runtime_seg.held else None,
            }
        )
    streaming = sum(1 for s in view.segments if s.streaming)
    writer_obs = view.writer.observation
    return {
        "cluster_id": topology.cluster_id,
        "cluster_resource_id": topology.cluster_resource_id,
        "writer": topology.writer_id,
        "instances": instances,
        "segments": segments,
        "storage": {
            "segments_available": streaming,
            "write_quorum": WRITE_QUORUM,
            "read_quorum": READ_QUORUM,
            "write_quorum_ok": streaming >= WRITE_QUORUM,
            "commits_waiting": writer_obs.commits_waiting_on_quorum if writer_obs else 0,
        },
        "failovers": failovers,
    }


def is_healthy(view: ClusterView, state: ManagerState) -> bool:
    """The writer answers, every reader not held by a fault is healthy, the write quorum holds."""
    writer = view.writer
    return (
        writer.process_alive
        and writer.observation is not None
        and (writer.observation_age or 99) < UNRESPONSIVE_AFTER_S
        and all(
            i.healthy_reader or state.instances[i.id].held
            for i in view.instances
            if i.role is Role.READER
        )
        and sum(1 for s in view.segments if s.streaming) >= WRITE_QUORUM
    )
