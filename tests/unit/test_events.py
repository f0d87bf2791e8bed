from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.events import CATALOG, EventStore, make_event


def test_failover_events_carry_aws_ids_and_messages() -> None:
    started = make_event("RDS-EVENT-0073", "demo", name="demo-instance-2")
    assert started.message == "Started cross AZ failover to DB instance: demo-instance-2."
    assert started.categories == ("failover",)
    assert make_event("RDS-EVENT-0071", "demo", name="x").message == (
        "Completed failover to DB instance: x."
    )
    assert CATALOG["RDS-EVENT-0006"].message == "DB instance restarted."
    assert CATALOG["RDS-EVENT-0004"].message == "DB instance shutdown."
    assert CATALOG["RDS-EVENT-0069"].message.startswith("Cluster failover failed")


def test_api_shape_matches_describe_events() -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    api = make_event("RDS-EVENT-0006", "demo-instance-1", when=when).to_api()
    assert api == {
        "EventId": "RDS-EVENT-0006",
        "SourceIdentifier": "demo-instance-1",
        "SourceType": "db-instance",
        "EventCategories": ["availability"],
        "Message": "DB instance restarted.",
        "Date": "2026-01-02T03:04:05.678Z",
    }


def test_store_lists_oldest_first_within_a_window(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "events.db")
    now = datetime.now(UTC)
    store.add(make_event("RDS-EVENT-0071", "c", when=now - timedelta(minutes=5), name="b"))
    store.add(make_event("RDS-EVENT-0073", "c", when=now - timedelta(minutes=10), name="b"))
    store.add(make_event("RDS-EVENT-0006", "i", when=now - timedelta(hours=3)))
    recent = store.list(since=now - timedelta(hours=1))
    assert [e.event_id for e in recent] == ["RDS-EVENT-0073", "RDS-EVENT-0071"]
    assert len(EventStore(tmp_path / "events.db").list()) == 3


def test_unknown_event_id_is_a_programming_error() -> None:
    with pytest.raises(KeyError):
        make_event("RDS-EVENT-9999", "x")
