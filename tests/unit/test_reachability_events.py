"""The manager's reachability events: an instance whose process runs but does not answer."""

from __future__ import annotations

from cluster.reachability import REPORT_AFTER_S, reachability_events
from cluster.runtime import InstanceRuntime, ManagerState
from core.topology import Role
from tests.unit.test_decide import inst, view


def ids(events: list) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    return [(e.event_id, e.source_identifier) for e in events]


def test_a_silent_instance_is_reported_once_then_reachable_again_once() -> None:
    state = ManagerState(instances={"w": InstanceRuntime(), "r1": InstanceRuntime()})
    writer = inst("w", Role.WRITER)
    assert reachability_events(view(writer, inst("r1", age=1.0)), state, 100.0) == []
    # Hung: its last answer grows old.
    assert reachability_events(view(writer, inst("r1", age=REPORT_AFTER_S - 1)), state, 104) == []
    hung = reachability_events(view(writer, inst("r1", age=REPORT_AFTER_S + 1)), state, 106)
    assert ids(hung) == [("BOREALIS-EVENT-0152", "r1")]
    assert "no answer to the manager's probes for 6 s" in hung[0].message
    assert reachability_events(view(writer, inst("r1", age=30)), state, 130) == []  # once
    back = reachability_events(view(writer, inst("r1", age=0.2)), state, 131)
    assert ids(back) == [("BOREALIS-EVENT-0153", "r1")]
    assert back[0].message == "The DB instance is reachable again after 31 s."
    assert reachability_events(view(writer, inst("r1", age=0.2)), state, 132) == []


def test_a_dead_or_starting_instance_is_not_called_unreachable() -> None:
    state = ManagerState(instances={"w": InstanceRuntime(), "r1": InstanceRuntime()})
    writer = inst("w", Role.WRITER)
    # Stopped or crashed: other events say so (0087, failover); never answered yet: starting.
    assert reachability_events(view(writer, inst("r1", alive=False, age=60)), state, 1) == []
    assert reachability_events(view(writer, inst("r1", age=None)), state, 2) == []
    state.instances["r1"].job = "rebooting"
    assert reachability_events(view(writer, inst("r1", age=60)), state, 3) == []
