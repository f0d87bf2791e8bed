"""The Overview's data shaping: topology by AZ, segments, endpoints, key numbers, alerts."""

from __future__ import annotations

from pathlib import Path

from collector.targets import targets_from_state
from core.credentials import Credentials
from core.paths import StatePaths
from core.topology import plan_topology
from dashboards.data import Series
from dashboards.overview_model import (
    KEY_NUMBERS,
    alert_rows,
    alerts_for,
    by_instance,
    endpoint_rows,
    key_number_rows,
    segments,
    topology,
)
from dashboards.pages.overview import topology_cards

AZS = ["local-1a", "local-1b", "local-1c"]


def standby(name: str, state: str = "streaming", sync: str = "quorum") -> Series:
    return Series({"standby": name, "state": state, "sync_state": sync}, (1.0,), (1.0,))


def target(
    name: str, role: str, az: str, up: bool = True, tier: int | None = 1
) -> dict[str, object]:
    return {"db_instance": name, "role": role, "az": az, "up": up, "tier": tier}


def test_segments_are_healthy_lagging_or_down_and_always_six() -> None:
    seen = [
        standby("seg-a1"),
        standby("seg-a2", state="catchup", sync="potential"),
        standby("seg-b1"),
        standby("seg-c1"),
        standby("seg-c2"),
        standby("c1-instance-2", sync="async"),  # a reader: not a segment
    ]
    found = {s.id: s for s in segments(seen, AZS)}
    assert sorted(found) == ["seg-a1", "seg-a2", "seg-b1", "seg-b2", "seg-c1", "seg-c2"]
    assert found["seg-a1"].health == "healthy"
    assert found["seg-a2"].health == "lagging"
    assert found["seg-a2"].detail == "catchup, potential"
    assert found["seg-b2"].health == "down"
    assert found["seg-b2"].az == "local-1b"
    assert found["seg-c2"].az == "local-1c"


def test_topology_groups_by_az_writer_first_then_tier() -> None:
    targets = [
        target("i-3", "reader", "local-1a", tier=2),
        target("i-1", "writer", "local-1a", tier=1),
        target("i-4", "reader", "local-1a", tier=0),
        target("i-2", "reader", "local-1b"),
    ]
    columns = topology(targets, segments([standby("seg-b1")], AZS))
    assert [c.az for c in columns] == AZS
    assert [t["db_instance"] for t in columns[0].instances] == ["i-1", "i-4", "i-3"]
    assert [s.id for s in columns[1].segments] == ["seg-b1", "seg-b2"]
    assert columns[2].instances == []


def test_endpoints_point_at_the_writer_and_the_readers_up() -> None:
    targets = [
        target("i-1", "writer", "local-1a"),
        target("i-2", "reader", "local-1b"),
        target("i-3", "reader", "local-1c", up=False),
    ]
    endpoints = (("writer", "127.0.0.1:1"), ("reader", "127.0.0.1:2"))
    rows = endpoint_rows(endpoints, targets)
    assert rows[0] == {
        "Endpoint": "cluster (writer) endpoint",
        "Address": "127.0.0.1:1",
        "Points to": "i-1",
    }
    assert rows[1]["Points to"] == "i-2"
    # No reader up: the reader endpoint falls back to the writer, as Aurora's does.
    alone = endpoint_rows(endpoints, [targets[0], {**targets[1], "up": False}])
    assert alone[1]["Points to"] == "i-1"


def test_key_numbers_one_row_per_instance_dash_for_missing() -> None:
    cpu, lag = KEY_NUMBERS[0].column, "Replica lag (ms)"
    values = {
        cpu: by_instance([Series({"db_instance": "i-1"}, (1.0, 2.0), (10.0, 12.345))]),
        lag: {"i-2": 3.21},
    }
    rows = key_number_rows(["i-1", "i-2"], values)
    assert rows[0]["Instance"] == "i-1"
    assert rows[0][cpu] == "12.3"
    assert rows[0][lag] == "-"
    assert rows[1][lag] == "3.2"
    assert set(rows[0]) == {"Instance", *(n.column for n in KEY_NUMBERS)}
    assert all("(" in n.column or n.column == "Connections" for n in KEY_NUMBERS)


def test_alert_rows_say_silenced_and_inhibited() -> None:
    def alert(name: str, starts: str, **status: object) -> dict[str, object]:
        return {
            "labels": {"alertname": name, "severity": "critical", "db_instance": "i-1"},
            "annotations": {"summary": f"{name} fires"},
            "startsAt": starts,
            "status": {"state": "active", "silencedBy": [], "inhibitedBy": [], **status},
        }

    rows = alert_rows(
        [
            alert("Old", "2026-12-03T10:00:00Z"),
            alert("Quiet", "2026-12-03T10:05:00Z", state="suppressed", silencedBy=["s1"]),
            alert("Muted", "2026-12-03T10:03:00Z", state="suppressed", inhibitedBy=["x"]),
        ]
    )
    assert [(r["Alarm"], r["State"]) for r in rows] == [
        ("Quiet", "silenced"),
        ("Muted", "inhibited"),
        ("Old", "firing"),
    ]
    assert rows[2]["Labels"] == "db_instance=i-1"
    assert rows[2]["Since"] == "2026-12-03 10:00:00"
    assert rows[2]["Summary"] == "Old fires"


def test_the_collectors_targets_carry_each_instances_tier(tmp_path: Path) -> None:
    """The tier the Overview shows comes from the topology, through the collector's targets."""
    paths = StatePaths(tmp_path)
    topology = plan_topology("c1", "local-1", readers=2, first_port=15000)
    topology.save(paths.topology)
    Credentials.generate().save(paths.secrets)
    tiers = {t.db_instance: t.tier for t in targets_from_state(paths)}
    assert tiers == {i.id: i.tier for i in topology.instances}
    assert sorted(tiers.values()) == [0, 1, 1]


def test_the_instance_filter_keeps_its_alerts_and_those_of_no_one_instance() -> None:
    alerts = [
        {"labels": {"alertname": "Lag", "db_instance": "i-2"}},
        {"labels": {"alertname": "Cpu", "db_instance": "i-1"}},
        {"labels": {"alertname": "CollectorDown"}},
    ]
    names = [a["labels"]["alertname"] for a in alerts_for(alerts, "i-1")]
    assert names == ["Cpu", "CollectorDown"]
    assert alerts_for(alerts, None) == alerts


def card_classes(cards: list[object]) -> dict[str, str]:
    """Instance name -> its card's classes, from the rendered topology."""
    out = {}
    for column in cards:
        for card in column.children[1:]:  # type: ignore[attr-defined]
            out[card.children[0].children] = card.className
    return out


def test_the_topology_highlights_the_chosen_instance_and_keeps_the_others() -> None:
    targets = [target("i-1", "writer", AZS[0]), target("i-2", "reader", AZS[1])]
    chosen = card_classes(topology_cards(targets, [], "i-2"))
    assert chosen["i-2"].split()[-1] == "chosen"
    assert chosen["i-1"].split()[-1] == "dimmed"
    every = card_classes(topology_cards(targets, []))
    assert not any({"chosen", "dimmed"} & set(c.split()) for c in every.values())
