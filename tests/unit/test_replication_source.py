import pytest
from prometheus_client.core import Metric

from collector.sources.base import InstancePoll
from collector.sources.replication import (
    Downstream,
    Receiver,
    ReplicationSnapshot,
    ReplicationSource,
    ReplicationState,
    commit_wait_seconds,
)
from collector.syncrep import required_count
from collector.targets import Target


def poll(instance: str, role: str, snapshot: ReplicationSnapshot) -> InstancePoll:
    return InstancePoll(
        target=Target("c", instance, "dbname=x", az="a"),
        at=0.0,
        wall_time=0.0,
        ok=True,
        role=role,
        version_num=150000,
        results={"replication": snapshot},
    )


def downstream(name: str, replay_s: float, replay_b: float | None) -> Downstream:
    return Downstream(name, "streaming", "async", 0.0, 0.0, 0.0, replay_b, 0.001, 0.002, replay_s)


def receiver(apply_s: float, apply_b: float = 0.0) -> Receiver:
    return Receiver(apply_b, apply_s, "streaming", False, 1000.0)


def values(families: list[Metric], name: str) -> dict[tuple[str, ...], float]:
    family = next(f for f in families if f.name == name)
    return {tuple(s.labels[k] for k in sorted(s.labels)): s.value for s in family.samples}


def test_reader_lag_comes_from_the_writers_measurement() -> None:
    writer = poll("w", "writer", ReplicationSnapshot((downstream("r1", 0.04, 4096.0),), None))
    reader = poll("r1", "reader", ReplicationSnapshot((), receiver(0.0)))
    families = list(ReplicationSource().families([writer, reader]))
    lag = values(families, "borealis_replica_lag_seconds")
    assert lag == {("a", "c", "r1", "reader"): 0.04}
    assert values(families, "borealis_replica_lag_bytes") == {("a", "c", "r1", "reader"): 4096.0}


def test_a_stuck_reader_is_never_reported_below_its_own_estimate() -> None:
    writer = poll("w", "writer", ReplicationSnapshot((downstream("r1", 0.01, 8192.0),), None))
    reader = poll("r1", "reader", ReplicationSnapshot((), receiver(12.5, 8192.0)))
    lag = values(
        list(ReplicationSource().families([writer, reader])), "borealis_replica_lag_seconds"
    )
    assert lag == {("a", "c", "r1", "reader"): 12.5}


def test_without_a_visible_writer_the_reader_estimates_itself() -> None:
    reader = poll("r1", "reader", ReplicationSnapshot((), receiver(3.0, 100.0)))
    families = list(ReplicationSource().families([reader]))
    assert values(families, "borealis_replica_lag_seconds") == {("a", "c", "r1", "reader"): 3.0}


def test_storage_segments_have_no_replay_stage() -> None:
    writer = poll("w", "writer", ReplicationSnapshot((downstream("seg-a1", 55.0, None),), None))
    families = list(ReplicationSource().families([writer]))
    stages = {k[-2] for k in values(families, "borealis_replication_lag_seconds")}
    assert stages == {"write", "flush"}


def quorum_member(name: str, flush_s: float, sync_state: str = "quorum") -> Downstream:
    return Downstream(name, "streaming", sync_state, 0.0, 0.0, 0.0, None, flush_s, flush_s, 0.0)


@pytest.mark.parametrize(
    ("names", "count"),
    [
        ("", 0),
        ("  ", 0),
        ("*", 1),
        ("r1, r2", 1),
        ("FIRST 2 (r1, r2, r3)", 2),
        ("2 (r1, r2)", 2),
        ("ANY 4 (seg_a1,seg_a2,seg_b1,seg_b2,seg_c1,seg_c2)", 4),
        ('any 3 ("s-1", s2, s3)', 3),
    ],
)
def test_synchronous_count(names: str, count: int) -> None:
    assert required_count(names) == count


def test_a_quorum_commit_waits_for_the_nth_fastest_flush() -> None:
    segments = [quorum_member(f"seg{i}", lag) for i, lag in enumerate([5, 1, 4, 2, 6, 3])]
    assert commit_wait_seconds(segments, "ANY 4 (seg0,seg1,seg2,seg3,seg4,seg5)") == 4
    # Two segments gone: the 4th fastest of the remaining four is the slowest of them.
    assert commit_wait_seconds(segments[:4], "ANY 4 (...)") == 5
    # Asynchronous standbys never hold a commit.
    assert commit_wait_seconds([quorum_member("r1", 9, "async")], "ANY 1 (r1)") == 0
    assert commit_wait_seconds(segments, "") == 0


def test_lag_is_split_into_ship_and_apply_that_add_up() -> None:
    writer_view = Downstream(
        "r1", "streaming", "async", 0.0, 100.0, 1000.0, 5000.0, 0.001, 0.003, 0.010
    )
    writer = poll(
        "w",
        "writer",
        ReplicationSnapshot((writer_view,), None, ReplicationState(1, 0, 5000.0, "")),
    )
    reader = poll("r1", "reader", ReplicationSnapshot((), receiver(0.0, 4000.0)))
    families = list(ReplicationSource().families([writer, reader]))
    seconds = values(families, "borealis_replica_stage_lag_seconds")
    assert seconds[("a", "c", "r1", "reader", "ship")] == pytest.approx(0.003)
    assert seconds[("a", "c", "r1", "reader", "apply")] == pytest.approx(0.007)
    lag_bytes = values(families, "borealis_replica_stage_lag_bytes")
    assert lag_bytes[("a", "c", "r1", "reader", "ship")] == 1000.0
    assert lag_bytes[("a", "c", "r1", "reader", "apply")] == 4000.0
    assert values(families, "borealis_replication_slot_retained_bytes") == {
        ("a", "c", "w", "writer"): 5000.0
    }


def test_without_the_writer_ship_lag_is_the_transit_time() -> None:
    alone = Receiver(300.0, 2.0, "streaming", False, 1000.0, transit_seconds=0.25)
    families = list(
        ReplicationSource().families([poll("r1", "reader", ReplicationSnapshot((), alone))])
    )
    seconds = values(families, "borealis_replica_stage_lag_seconds")
    assert seconds == {
        ("a", "c", "r1", "reader", "ship"): 0.25,
        ("a", "c", "r1", "reader", "apply"): 1.75,
    }
