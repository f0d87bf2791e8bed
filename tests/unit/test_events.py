import sqlite3
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


def test_a_batch_stored_twice_is_listed_once(tmp_path: Path) -> None:
    """A collector killed after storing a batch and before saving its read position stores
    the batch again on restart: the store keeps one of each."""
    when = datetime.now(UTC) - timedelta(minutes=1)
    batch = [
        make_event("RDS-EVENT-0006", "demo-instance-1", when=when),
        make_event("BOREALIS-EVENT-0152", "demo-instance-2", when=when, error="timeout"),
        make_event(
            "BOREALIS-EVENT-0101",
            "demo-instance-1",
            when=when,
            origin="postgresql.json:42:1000:0badc0de",
            user="alice",
            host="10.0.0.7",
            database="app",
            reason="wrong password",
        ),
    ]
    store = EventStore(tmp_path / "events.db")
    assert [store.add(event) for event in batch] == [True, True, True]
    restarted = EventStore(tmp_path / "events.db")
    assert [restarted.add(event) for event in batch] == [False, False, False]
    assert [e.event_id for e in restarted.list()] == [
        "RDS-EVENT-0006",
        "BOREALIS-EVENT-0152",
        "BOREALIS-EVENT-0101",
    ]
    assert restarted.last_seq() == 3


def test_the_same_words_from_two_log_lines_are_two_events(tmp_path: Path) -> None:
    """Two failed logins in the same millisecond read the same; their lines are apart."""
    store = EventStore(tmp_path / "events.db")
    when = datetime.now(UTC) - timedelta(minutes=1)
    for offset in (1000, 1200):
        params = {"user": "a", "host": "h", "database": "d", "reason": "wrong password"}
        event = make_event(
            "BOREALIS-EVENT-0101", "i", when=when, origin=f"p.json:42:{offset}:1", **params
        )
        assert store.add(event)
    assert len(store.list()) == 2
    # Without an origin the time and message are the key: a later instant is a new event.
    assert store.add(make_event("RDS-EVENT-0006", "i", when=when))
    assert store.add(make_event("RDS-EVENT-0006", "i", when=when + timedelta(microseconds=1)))
    assert len(store.list()) == 4


def test_an_events_file_from_before_dedup_keys_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    with sqlite3.connect(path) as db:  # the schema Borealis wrote before dedup keys
        db.executescript(
            "create table events (seq integer primary key autoincrement, date text not null, "
            "event_id text not null, source_identifier text not null, source_type text not "
            "null, categories text not null, message text not null);"
            "create index events_date on events(date);"
        )
        db.execute(
            "insert into events(date, event_id, source_identifier, source_type, categories, "
            "message) values (?, 'RDS-EVENT-0006', 'old', 'db-instance', 'availability', "
            "'DB instance restarted.')",
            (datetime.now(UTC).isoformat(timespec="microseconds"),),
        )
    db.close()
    store = EventStore(path)
    assert [e.source_identifier for e in store.list()] == ["old"]
    event = make_event("RDS-EVENT-0006", "new")
    assert store.add(event)
    assert not store.add(event)
    assert [e.source_identifier for e in EventStore(path).list()] == ["old", "new"]
