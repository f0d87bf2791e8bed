"""Instances that stop answering the manager's probes while their process runs (hung, or
too overloaded to answer) as events: not reachable (BOREALIS-EVENT-0152) after
`REPORT_AFTER_S` of silence, reachable again (0153) at the next answer. The collector's own
detectors emit the same events for a targets file; for the mini-cluster the manager does,
since it already probes every instance each cycle. Once per change: the flag that remembers
what was reported lives in the instance's runtime record."""

from __future__ import annotations

from cluster.decide import ClusterView
from cluster.runtime import ManagerState
from cluster.status import UNRESPONSIVE_AFTER_S
from core.events import Event, make_event

REPORT_AFTER_S = 5.0  # longer than a slow probe on a loaded host, shorter than any alarm


def reachability_events(view: ClusterView, state: ManagerState, now: float) -> list[Event]:
    """`now` is time.monotonic(), the clock of the observation ages."""
    events: list[Event] = []
    for inst in view.instances:
        runtime = state.instances[inst.id]
        age = inst.observation_age
        if age is None:  # never answered since its (re)start: starting, not silent
            continue
        silent = inst.process_alive and age > REPORT_AFTER_S and runtime.job is None
        if silent and runtime.unreachable_since is None:
            runtime.unreachable_since = now - age
            error = f"no answer to the manager's probes for {age:.0f} s"
            events.append(make_event("BOREALIS-EVENT-0152", inst.id, error=error))
        answering = inst.process_alive and age <= UNRESPONSIVE_AFTER_S
        if answering and runtime.unreachable_since is not None:
            seconds = f"{now - age - runtime.unreachable_since:.0f}"
            events.append(make_event("BOREALIS-EVENT-0153", inst.id, seconds=seconds))
            runtime.unreachable_since = None
    return events
