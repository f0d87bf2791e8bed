"""One cycle's `ClusterView`: what the probers last saw, which processes run, and what the
manager remembers (faults, jobs), put together for `cluster.decide`, the endpoint routes and
the status report."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from cluster.decide import ClusterView, InstanceView, SegmentView
from cluster.observe import Prober
from cluster.runtime import Hold, InstanceRuntime, ManagerState
from core.topology import Topology

START_GRACE_S = 10.0  # how long a (re)started instance may take to answer its first probe


def build_view(
    topology: Topology,
    state: ManagerState,
    probers: Mapping[str, Prober],
    *,
    instance_alive: Callable[[str], bool],
    segment_alive: Callable[[str], bool],
    unresponsive_after: float,
) -> ClusterView:
    """Also keeps, in `state`, since when each reader's WAL receiver has been down."""
    now = time.monotonic()
    instances = []
    for spec in topology.instances:
        runtime = state.instances[spec.id]
        prober = probers.get(spec.id)
        observation = prober.latest if prober else None
        busy = runtime.job is not None
        if observation is None or observation.receiver_status == "streaming":
            runtime.receiver_down_since = None
        elif runtime.receiver_down_since is None:
            runtime.receiver_down_since = now
        instances.append(
            InstanceView(
                id=spec.id,
                az=spec.az,
                tier=spec.tier,
                role=topology.role_of(spec.id),
                process_alive=instance_alive(spec.id) or busy,
                observation=observation,
                observation_age=(now - observation.at) if observation else None,
                held=runtime.held is not None or busy,
                needs_rewind=runtime.needs_rewind,
                started_age=_waiting_age(runtime, prober, now),
                stopped=runtime.held is Hold.STOPPED,
                busy=busy,
                receiver_down_s=(now - runtime.receiver_down_since)
                if runtime.receiver_down_since is not None
                else 0.0,
            )
        )
    writer_obs = probers[topology.writer_id].latest if topology.writer_id in probers else None
    streaming = {
        d.name for d in (writer_obs.downstream if writer_obs else ()) if d.state == "streaming"
    }
    segments = tuple(
        SegmentView(
            id=seg.id,
            az=seg.az,
            process_alive=segment_alive(seg.id),
            held=state.segments[seg.id].held is not None,
            streaming=seg.id in streaming,
        )
        for seg in topology.segments
    )
    return ClusterView(
        writer_id=topology.writer_id,
        instances=tuple(instances),
        segments=segments,
        unresponsive_after=unresponsive_after,
        start_grace=START_GRACE_S,
    )


def _waiting_age(runtime: InstanceRuntime, prober: Prober | None, now: float) -> float | None:
    """Seconds since we (re)started it or last dropped its observation: how long it has
    had to answer a probe."""
    since = max(runtime.started_at or 0.0, (prober.waiting_since if prober else None) or 0.0)
    return now - since if since else None
