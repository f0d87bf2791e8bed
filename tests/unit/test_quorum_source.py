import pytest
from prometheus_client.core import Metric

from collector.sources.base import InstancePoll
from collector.sources.quorum import QuorumSnapshot, QuorumSource
from collector.syncrep import SyncPolicy, parse_standby_names
from collector.targets import Target


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        (
            'ANY 4 ("seg-a1","seg-a2","seg-b1","seg-b2","seg-c1","seg-c2")',
            SyncPolicy("any", 4, ("seg-a1", "seg-a2", "seg-b1", "seg-b2", "seg-c1", "seg-c2")),
        ),
        ("FIRST 2 (s1, s2, s3)", SyncPolicy("first", 2, ("s1", "s2", "s3"))),
        ("2 (s1, s2)", SyncPolicy("first", 2, ("s1", "s2"))),
        ("any 1 (*)", SyncPolicy("any", 1, ("*",))),
        ("s1, s2", SyncPolicy("first", 1, ("s1", "s2"))),
        ('"odd, name", "with ""quote"""', SyncPolicy("first", 1, ("odd, name", 'with "quote"'))),
        ('FIRST 1 ("a,b", c)', SyncPolicy("first", 1, ("a,b", "c"))),
    ],
)
def test_parses_every_form_of_synchronous_standby_names(setting: str, expected: SyncPolicy) -> None:
    assert parse_standby_names(setting) == expected


def test_empty_setting_means_no_synchronous_replication() -> None:
    assert parse_standby_names("") is None
    assert parse_standby_names("   ") is None


def test_names_match_case_insensitively_and_star_matches_all() -> None:
    assert SyncPolicy("any", 1, ("Seg-A1",)).matches("seg-a1")
    assert SyncPolicy("any", 1, ("*",)).matches("anything")
    assert not SyncPolicy("any", 1, ("seg-a1",)).matches("seg-a2")


def poll(snapshot: QuorumSnapshot | None) -> InstancePoll:
    return InstancePoll(
        target=Target("c", "w", "dbname=x", az="a"),
        at=0.0,
        wall_time=0.0,
        ok=True,
        role="writer",
        version_num=150000,
        results={"quorum": snapshot},
    )


def values(families: list[Metric], name: str) -> list[tuple[dict[str, str], float]]:
    family = next(f for f in families if f.name == name)
    return [(s.labels, s.value) for s in family.samples]


def test_quorum_lost_when_fewer_than_required_stream() -> None:
    policy = SyncPolicy("any", 4, tuple(f"seg-{n}" for n in range(6)))
    families = list(QuorumSource().families([poll(QuorumSnapshot(policy, 3))]))
    assert values(families, "borealis_sync_quorum_ok")[0][1] == 0
    assert values(families, "borealis_sync_quorum_available")[0][1] == 3
    assert values(families, "borealis_sync_quorum_members")[0][1] == 6
    labels, required = values(families, "borealis_sync_quorum_required")[0]
    assert (labels["method"], labels["role"], required) == ("any", "writer", 4)
    held = list(QuorumSource().families([poll(QuorumSnapshot(policy, 4))]))
    assert values(held, "borealis_sync_quorum_ok")[0][1] == 1


def test_nothing_reported_without_synchronous_replication() -> None:
    families = list(QuorumSource().families([poll(None)]))
    assert all(not f.samples for f in families)
