"""What the manager reports, as pure functions: storage events once per change, each member's
state, the cluster's health, and the status document."""

from __future__ import annotations

from dataclasses import replace

from cluster.decide import ClusterView, SegmentView
from cluster.runtime import Hold, InstanceRuntime, ManagerState, SegmentRuntime
from cluster.status import instance_state, is_healthy, segment_state, status_report
from cluster.storage_events import storage_events
from core.events import Event
from core.topology import InstanceState, Role, SegmentState, plan_topology
from tests.unit.test_decide import inst, view


def segs(streaming: int, held: int = 0) -> tuple[SegmentView, ...]:
    return tuple(
        SegmentView(f"seg-{n}", "az-a", True, n >= 6 - held, n < streaming) for n in range(6)
    )


def fresh_state(cluster: ClusterView) -> ManagerState:
    return ManagerState(
        instances={i.id: InstanceRuntime() for i in cluster.instances},
        segments={s.id: SegmentRuntime() for s in cluster.segments},
    )


def ids(events: list[Event]) -> list[tuple[str, str]]:
    return [(e.event_id, e.message) for e in events]


def cluster(streaming: int, held: int = 0, writer_alive: bool = True) -> ClusterView:
    return view(inst("w", Role.WRITER, alive=writer_alive), inst("r1"), segs=segs(streaming, held))


def test_a_lost_segment_is_reported_once_and_its_repair_once() -> None:
    state = fresh_state(cluster(6))
    assert storage_events(cluster(6), state, "c", settling=False) == []
    lost = storage_events(cluster(5), state, "c", settling=False)
    assert ids(lost) == [
        (
            "BOREALIS-EVENT-0001",
            "Storage segment seg-5 in az-a is unavailable; 5 of 6 segments remain.",
        )
    ]
    assert storage_events(cluster(5), state, "c", settling=False) == []
    repaired = storage_events(cluster(6), state, "c", settling=False)
    assert [e.event_id for e in repaired] == ["BOREALIS-EVENT-0002"]
    assert storage_events(cluster(6), state, "c", settling=False) == []


def test_the_write_quorum_is_lost_below_four_and_restored_once() -> None:
    state = fresh_state(cluster(6))
    storage_events(cluster(6), state, "c", settling=False)
    lost = storage_events(cluster(3), state, "c", settling=False)
    assert [e.event_id for e in lost].count("BOREALIS-EVENT-0001") == 3
    assert lost[-1].event_id == "BOREALIS-EVENT-0003"
    assert state.quorum_lost
    assert storage_events(cluster(3), state, "c", settling=False) == []
    back = storage_events(cluster(4), state, "c", settling=False)
    assert [e.event_id for e in back] == ["BOREALIS-EVENT-0002", "BOREALIS-EVENT-0004"]
    assert not state.quorum_lost


def test_while_the_volume_settles_only_held_segments_count_as_lost() -> None:
    state = fresh_state(cluster(6))
    storage_events(cluster(6), state, "c", settling=False)
    # right after a failover nothing streams yet; one segment is held by a fault
    settling = storage_events(cluster(0, held=1), state, "c", settling=True)
    assert [e.event_id for e in settling] == ["BOREALIS-EVENT-0001"]
    assert "5 of 6 segments remain" in settling[0].message
    assert not state.quorum_lost


def test_no_storage_events_while_the_writer_is_down() -> None:
    state = fresh_state(cluster(6))
    storage_events(cluster(6), state, "c", settling=False)
    assert storage_events(cluster(0, writer_alive=False), state, "c", settling=False) == []
    assert not state.quorum_lost


def test_instance_state_puts_faults_and_jobs_before_probes() -> None:
    healthy = inst("r1")
    assert instance_state(InstanceRuntime(), healthy) is InstanceState.AVAILABLE
    assert instance_state(InstanceRuntime(job="rejoining"), healthy) is InstanceState.REJOINING
    assert instance_state(InstanceRuntime(job="rebooting"), healthy) is InstanceState.REBOOTING
    assert instance_state(InstanceRuntime(job="starting"), healthy) is InstanceState.STARTING
    assert instance_state(InstanceRuntime(held=Hold.STOPPED), healthy) is InstanceState.STOPPED
    assert instance_state(InstanceRuntime(held=Hold.HUNG), healthy) is InstanceState.UNRESPONSIVE
    assert instance_state(InstanceRuntime(held=Hold.AZ_LOST), healthy) is InstanceState.FAILED
    dead = inst("r1", alive=False)
    assert instance_state(InstanceRuntime(), dead) is InstanceState.FAILED
    assert instance_state(InstanceRuntime(needs_rewind=True), dead) is InstanceState.REJOINING
    assert instance_state(InstanceRuntime(), inst("r1", age=None)) is InstanceState.STARTING
    assert instance_state(InstanceRuntime(), inst("r1", age=2.5)) is InstanceState.UNRESPONSIVE


def test_segment_state() -> None:
    up, down = SegmentView("s", "a", True, False, True), SegmentView("s", "a", False, False, False)
    assert segment_state(SegmentRuntime(), up) is SegmentState.AVAILABLE
    assert segment_state(SegmentRuntime(), replace(up, streaming=False)) is SegmentState.STARTING
    assert segment_state(SegmentRuntime(), down) is SegmentState.FAILED
    assert segment_state(SegmentRuntime(held=Hold.STOPPED), down) is SegmentState.STOPPED
    assert segment_state(SegmentRuntime(held=Hold.AZ_LOST), down) is SegmentState.FAILED


def test_health_needs_the_writer_the_readers_and_the_write_quorum() -> None:
    good = cluster(6)
    state = fresh_state(good)
    assert is_healthy(good, state)
    assert not is_healthy(cluster(3), state)
    assert not is_healthy(cluster(6, writer_alive=False), state)
    sick_reader = view(inst("w", Role.WRITER), inst("r1", alive=False), segs=segs(6))
    assert not is_healthy(sick_reader, state)
    state.instances["r1"].held = Hold.STOPPED  # a reader stopped on purpose does not count
    assert is_healthy(sick_reader, state)


def test_status_report_lists_members_and_storage() -> None:
    topology = plan_topology("c", "eu-west-1", readers=1, first_port=5000)
    writer, reader = (spec.id for spec in topology.instances)
    seen = view(inst(writer, Role.WRITER), inst(reader, age=None), segs=segs(4, held=1))
    seen = replace(
        seen,
        writer_id=writer,
        segments=tuple(
            replace(s, id=spec.id) for s, spec in zip(seen.segments, topology.segments, strict=True)
        ),
    )
    state = fresh_state(seen)
    state.segments[topology.segments[5].id].held = Hold.STOPPED
    pids = {writer: 11, reader: None}
    report = status_report(
        topology,
        seen,
        state,
        instance_pid=pids.get,
        segment_pid=lambda seg: 7,
        failovers=2,
    )
    assert report["writer"] == writer
    assert report["failovers"] == 2
    assert [(i["id"], i["role"], i["state"], i["pid"]) for i in report["instances"]] == [
        (writer, "writer", "available", 11),
        (reader, "reader", "starting", None),
    ]
    assert [s["state"] for s in report["segments"]] == ["available"] * 4 + ["starting", "stopped"]
    assert report["segments"][5]["fault"] == "stopped"
    assert report["storage"] == {
        "segments_available": 4,
        "write_quorum": 4,
        "read_quorum": 3,
        "write_quorum_ok": True,
        "commits_waiting": 0,
    }
