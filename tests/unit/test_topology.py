from pathlib import Path

from core.ids import is_resource_id
from core.topology import Role, Topology, plan_topology


def test_plan_spreads_instances_over_three_azs() -> None:
    topology = plan_topology("demo", "local-1", readers=5, first_port=5000)
    assert [i.az for i in topology.instances] == [
        "local-1a",
        "local-1b",
        "local-1c",
        "local-1a",
        "local-1b",
        "local-1c",
    ]
    assert topology.writer_id == "demo-instance-1"
    assert [i.port for i in topology.instances] == list(range(5000, 5006))


def test_readers_get_distinct_tiers_from_zero() -> None:
    topology = plan_topology("demo", "local-1", readers=3, first_port=5000)
    assert [r.tier for r in topology.readers] == [0, 1, 2]


def test_six_segments_two_per_az_and_quorum_of_four() -> None:
    topology = plan_topology("demo", "local-1", readers=1, first_port=5000)
    assert [s.id for s in topology.segments] == [
        "seg-a1",
        "seg-a2",
        "seg-b1",
        "seg-b2",
        "seg-c1",
        "seg-c2",
    ]
    assert topology.synchronous_standby_names() == (
        'ANY 4 ("seg-a1","seg-a2","seg-b1","seg-b2","seg-c1","seg-c2")'
    )
    assert topology.segments[0].slot == "seg_a1"


def test_resource_ids_look_like_dbi_resource_ids_and_survive_a_round_trip(tmp_path: Path) -> None:
    topology = plan_topology("demo", "local-1", readers=2, first_port=5000)
    assert all(is_resource_id(i.resource_id) for i in topology.instances)
    assert len({i.resource_id for i in topology.instances}) == 3
    topology.save(tmp_path / "t.json")
    loaded = Topology.load(tmp_path / "t.json")
    assert loaded == topology


def test_with_writer_swaps_roles() -> None:
    topology = plan_topology("demo", "local-1", readers=2, first_port=5000).with_writer(
        "demo-instance-3"
    )
    assert topology.role_of("demo-instance-3") is Role.WRITER
    assert topology.role_of("demo-instance-1") is Role.READER
    assert Role.WRITER.cloudwatch == "WRITER"


def test_resolve_az_accepts_short_names() -> None:
    topology = plan_topology("demo", "local-1", readers=1, first_port=5000)
    assert topology.resolve_az("b") == "local-1b"
    assert topology.resolve_az("local-1c") == "local-1c"
