from prometheus_client.core import Metric

from collector.sources.base import InstancePoll
from collector.sources.replication import (
    Downstream,
    Receiver,
    ReplicationSnapshot,
    ReplicationSource,
)
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
