"""The storage volume as events: segments lost and repaired, the write quorum lost and
restored (BOREALIS-EVENT-0001..0004). The manager calls `storage_events` once per cycle and
stores what it returns."""

from __future__ import annotations

from cluster.decide import ClusterView
from cluster.runtime import ManagerState
from core.events import Event, make_event
from core.topology import WRITE_QUORUM


def storage_events(
    view: ClusterView, state: ManagerState, cluster_id: str, *, settling: bool
) -> list[Event]:
    """Storage events: a segment lost (0001) or repaired (0002), the write quorum lost (0003)
    or restored (0004), each once per change (the flags that remember what was reported live
    in `state`). While `settling` (right after a failover the volume is being re-attached to
    the new writer) only segments held by a fault count as lost. Nothing while the writer is
    down or silent: then no segment can stream."""
    writer_view = view.writer
    if not writer_view.process_alive or writer_view.observation is None:
        return []
    events: list[Event] = []
    available = sum(1 for s in view.segments if s.streaming)
    remaining = sum(1 for s in view.segments if s.streaming or (settling and not s.held))
    for seg in view.segments:
        runtime = state.segments[seg.id]
        if seg.streaming:
            if runtime.lost_reported:
                events.append(
                    make_event("BOREALIS-EVENT-0002", cluster_id, segment=seg.id, az=seg.az)
                )
                runtime.lost_reported = False
            runtime.was_streaming = True
            continue
        gone = seg.held or (runtime.was_streaming and not settling)
        if gone and not runtime.lost_reported:
            events.append(
                make_event(
                    "BOREALIS-EVENT-0001",
                    cluster_id,
                    segment=seg.id,
                    az=seg.az,
                    available=str(remaining),
                )
            )
            runtime.lost_reported = True
        if not settling:
            runtime.was_streaming = False
    if settling:
        return events
    lost = available < WRITE_QUORUM
    if lost and not state.quorum_lost:
        state.quorum_lost = True
        events.append(make_event("BOREALIS-EVENT-0003", cluster_id, available=str(available)))
    elif not lost and state.quorum_lost:
        state.quorum_lost = False
        events.append(make_event("BOREALIS-EVENT-0004", cluster_id, available=str(available)))
    return events
