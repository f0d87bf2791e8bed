from cluster.decide import (
    Action,
    ClusterView,
    InstanceView,
    SegmentView,
    decide,
    failover_candidates,
    has_read_quorum,
)
from cluster.observe import InstanceObservation
from core.topology import Role


def obs(instance_id: str, lsn: int, in_recovery: bool = True) -> InstanceObservation:
    return InstanceObservation(
        instance_id=instance_id,
        at=0.0,
        in_recovery=in_recovery,
        current_lsn=None if in_recovery else lsn,
        timeline=1,
        receive_lsn=lsn if in_recovery else None,
        replay_lsn=lsn if in_recovery else None,
        replay_paused=False,
        receiver_status="streaming" if in_recovery else None,
        commits_waiting_on_quorum=0,
        downstream=(),
    )


def inst(  # noqa: PLR0917 - a compact table of test instances
    instance_id: str,
    role: Role = Role.READER,
    tier: int = 1,
    lsn: int = 100,
    alive: bool = True,
    age: float | None = 0.1,
    held: bool = False,
    az: str = "a",
    stopped: bool = False,
    busy: bool = False,
) -> InstanceView:
    return InstanceView(
        id=instance_id,
        az=az,
        tier=tier,
        role=role,
        process_alive=alive,
        observation=obs(instance_id, lsn, in_recovery=role is Role.READER)
        if age is not None
        else None,
        observation_age=age,
        held=held or stopped or busy,
        needs_rewind=False,
        started_age=60.0,
        stopped=stopped,
        busy=busy,
    )


def segments(alive: int = 6, held: int = 0) -> tuple[SegmentView, ...]:
    out = []
    for n in range(6):
        out.append(SegmentView(f"seg-{n}", "a", n < alive, n >= 6 - held, n < alive))
    return tuple(out)


def view(*instances: InstanceView, segs: tuple[SegmentView, ...] | None = None) -> ClusterView:
    return ClusterView(
        writer_id="w",
        instances=instances,
        segments=segments() if segs is None else segs,
        unresponsive_after=3.0,
        start_grace=10.0,
    )


def test_healthy_cluster_needs_nothing() -> None:
    assert decide(view(inst("w", Role.WRITER), inst("r1"), inst("r2"))) == []


def test_dead_writer_fails_over_to_lowest_tier_first() -> None:
    decisions = decide(
        view(inst("w", Role.WRITER, alive=False), inst("r1", tier=2, lsn=900), inst("r2", tier=0))
    )
    assert [d.action for d in decisions] == [Action.FAILOVER]
    assert decisions[0].target == "r2"
    assert decisions[0].candidates == ("r2", "r1")
    assert "writer w is down" in decisions[0].reason
    assert "promoting r2 (tier 0" in decisions[0].reason


def test_same_tier_prefers_most_advanced_wal() -> None:
    v = view(inst("w", Role.WRITER, alive=False), inst("r1", lsn=100), inst("r2", lsn=500))
    assert failover_candidates(v) == ("r2", "r1")


def test_requested_target_goes_first() -> None:
    v = view(inst("w", Role.WRITER), inst("r1", tier=0), inst("r2", tier=5))
    assert failover_candidates(v, target="r2") == ("r2", "r1")


def test_unhealthy_readers_are_not_candidates() -> None:
    v = view(
        inst("w", Role.WRITER, alive=False),
        inst("r1", tier=0, age=5.0),  # not answering
        inst("r2", tier=1, held=True),  # stopped by a fault
        inst("r3", tier=2, alive=False),
    )
    assert failover_candidates(v) == ()
    decisions = decide(v)
    assert decisions[0].action is Action.RESTART_WRITER
    assert "no healthy reader" in decisions[0].reason


def test_unresponsive_writer_fails_over_only_after_the_threshold() -> None:
    brief_stall = view(inst("w", Role.WRITER, age=2.5), inst("r1"))
    assert decide(brief_stall) == []
    long_stall = view(inst("w", Role.WRITER, age=3.5), inst("r1"))
    decision = decide(long_stall)[0]
    assert decision.action is Action.FAILOVER
    assert "not answered health checks for 3.5 s" in decision.reason


def test_writer_stopped_on_purpose_is_left_alone() -> None:
    assert decide(view(inst("w", Role.WRITER, alive=False, stopped=True), inst("r1"))) == []


def test_a_rebooting_writer_is_never_failed_over() -> None:
    assert decide(view(inst("w", Role.WRITER, age=30.0, busy=True), inst("r1"))) == []


def test_writer_cut_off_by_a_lost_az_fails_over_or_waits() -> None:
    lost = inst("w", Role.WRITER, alive=False, held=True)
    assert decide(view(lost, inst("r1")))[0].action is Action.FAILOVER
    # Nobody to take over: it cannot be restarted while its AZ is gone, so nothing is done.
    assert decide(view(lost, inst("r1", held=True))) == []


def test_hung_writer_fails_over_after_the_threshold() -> None:
    hung = inst("w", Role.WRITER, age=3.5, held=True)
    assert decide(view(hung, inst("r1")))[0].action is Action.FAILOVER


def test_dead_reader_is_restarted_and_segments_repaired() -> None:
    decisions = decide(
        view(inst("w", Role.WRITER), inst("r1", alive=False), segs=segments(alive=5))
    )
    assert [(d.action, d.target) for d in decisions] == [
        (Action.RESTART_READER, "r1"),
        (Action.RESTART_SEGMENT, "seg-5"),
    ]


def test_segments_wait_for_a_writer_and_held_segments_stay_down() -> None:
    no_writer = decide(view(inst("w", Role.WRITER, alive=False), segs=segments(alive=3)))
    assert all(d.action is not Action.RESTART_SEGMENT for d in no_writer)
    held = decide(view(inst("w", Role.WRITER), segs=segments(alive=4, held=2)))
    assert held == []


def test_read_quorum_needs_three_readable_segments() -> None:
    assert has_read_quorum(view(inst("w", Role.WRITER), segs=segments(held=3)))
    assert not has_read_quorum(view(inst("w", Role.WRITER), segs=segments(held=4)))
