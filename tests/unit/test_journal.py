"""The append-only journal behind the event store and the trail: order, filters, retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.errors import ConfigError
from core.events import EventStore, make_event
from core.journal import Journal, JournalTable
from core.settings import load_settings
from core.trail import Caller, TrailRecord, TrailStore

TABLE = JournalTable("notes", "at", (("kind", "text not null"), ("body", "text not null")))
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_rows_come_back_oldest_first_within_the_window_and_filters(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.db", TABLE, timedelta(days=1), clock=Clock(NOW))
    journal.append(NOW - timedelta(minutes=1), ("b", "second"))
    journal.append(NOW - timedelta(minutes=2), ("a", "first"))
    journal.append(NOW - timedelta(minutes=1), ("a", "third"))  # same time: insertion order
    assert [r[2] for r in journal.rows()] == ["first", "second", "third"]
    assert [r[2] for r in journal.rows(where={"kind": "a"})] == ["first", "third"]
    assert [r[2] for r in journal.rows(since=NOW - timedelta(seconds=90))] == ["second", "third"]
    assert [r[2] for r in journal.rows(until=NOW - timedelta(seconds=90))] == ["first"]
    with pytest.raises(ValueError, match="no column 'nope'"):
        journal.rows(where={"nope": "x"})
    with pytest.raises(ValueError, match="takes 2 values"):
        journal.append(NOW, ("only-one",))


def test_prune_drops_exactly_what_is_older_than_the_retention(tmp_path: Path) -> None:
    clock = Clock(NOW)
    journal = Journal(tmp_path / "j.db", TABLE, timedelta(days=14), clock=clock)
    edge = NOW - timedelta(days=14)
    ages = {
        "old": edge - timedelta(days=3),
        "just-too-old": edge - timedelta(microseconds=1),
        "at-the-edge": edge,
        "young": NOW - timedelta(days=1),
    }
    for body, when in ages.items():
        journal.append(when, ("k", body))
    assert journal.prune() == 2
    assert [r[2] for r in journal.rows()] == ["at-the-edge", "young"]
    clock.now = NOW + timedelta(days=13)  # "young" is now exactly 14 days old: kept
    assert journal.prune() == 1
    assert [r[2] for r in journal.rows()] == ["young"]
    assert journal.prune() == 0


def test_opening_prunes_and_appending_prunes_periodically(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    clock = Clock(NOW)
    hourly = Journal(path, TABLE, timedelta(days=10), clock=clock, prune_every_s=3600)
    hourly.append(NOW - timedelta(days=5), ("k", "five-days"))
    hourly.append(NOW - timedelta(days=1), ("k", "one-day"))
    clock.now = NOW + timedelta(days=6)  # "five-days" is now 11 days old
    hourly.append(clock.now, ("k", "six-days-on"))
    assert hourly.count() == 3  # no prune due yet on this append: the cheap path
    # Opening prunes.
    assert Journal(path, TABLE, timedelta(days=10), clock=clock).count() == 2
    # With a prune due on every append, the next append drops what aged out.
    eager = Journal(path, TABLE, timedelta(days=10), clock=clock, prune_every_s=0)
    clock.now = NOW + timedelta(days=9, hours=12)  # "one-day" is now 10.5 days old
    eager.append(clock.now, ("k", "later"))
    assert [r[2] for r in eager.rows()] == ["six-days-on", "later"]


def test_a_journal_refuses_a_retention_that_is_not_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="must be positive"):
        Journal(tmp_path / "j.db", TABLE, timedelta(0))


def test_event_store_prunes_events_older_than_its_retention_on_open(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    store = EventStore(path)  # default 14 days
    now = datetime.now(UTC)
    store.add(make_event("RDS-EVENT-0006", "old", when=now - timedelta(days=15)))
    store.add(make_event("RDS-EVENT-0006", "kept", when=now - timedelta(days=13)))
    store.add(make_event("RDS-EVENT-0004", "other", when=now - timedelta(days=1)))
    assert store.prune() == 1
    assert [e.source_identifier for e in store.list()] == ["kept", "other"]
    assert [e.event_id for e in store.list(source_identifier="other")] == ["RDS-EVENT-0004"]
    assert [e.source_identifier for e in EventStore(path, retention_days=2).list()] == ["other"]


def test_trail_store_keeps_ninety_days_by_default(tmp_path: Path) -> None:
    path = tmp_path / "trail.db"
    store = TrailStore(path)
    now = datetime.now(UTC)
    caller = Caller(uid=1000, user_name="ops")
    for name, age in (("RebootDBInstance", 91), ("FailoverDBCluster", 89), ("StartDBCluster", 0)):
        store.add(TrailRecord(name, caller, {}, event_time=now - timedelta(days=age)))
    reopened = TrailStore(path)
    assert [r["eventName"] for r in reopened.records()] == [
        "FailoverDBCluster",
        "StartDBCluster",
    ]
    assert [r["eventName"] for r in reopened.records(event_name="StartDBCluster")] == [
        "StartDBCluster"
    ]
    assert [r["eventName"] for r in TrailStore(path, retention_days=1).records()] == [
        "StartDBCluster"
    ]


def test_retention_settings_default_and_read_from_file_and_environment(tmp_path: Path) -> None:
    defaults = load_settings(environ={}).retention
    assert (defaults.events_days, defaults.trail_days) == (14.0, 90.0)
    config = tmp_path / "borealis.yaml"
    config.write_text("retention:\n  events_days: 3\n  trail_days: 30.5\n")
    loaded = load_settings(config, environ={"BOREALIS_RETENTION__EVENTS_DAYS": "7"}).retention
    assert (loaded.events_days, loaded.trail_days) == (7.0, 30.5)


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("retention:\n  events_days: 0\n", "retention.events_days must be a number of days"),
        ("retention:\n  trail_days: -1\n", "retention.trail_days must be a number of days"),
        ("retention:\n  trail_days: .nan\n", "retention.trail_days must be a number of days"),
        ("retention:\n  events_days: 1e9\n", "at most 36500"),
        ("retention:\n  events_days: two weeks\n", r"borealis.yaml:2: retention.events_days"),
        ("retention:\n  keep_forever: true\n", r"borealis.yaml:2: unknown setting"),
    ],
)
def test_bad_retention_settings_are_refused_with_a_clear_error(
    tmp_path: Path, yaml_text: str, message: str
) -> None:
    config = tmp_path / "borealis.yaml"
    config.write_text(yaml_text)
    with pytest.raises(ConfigError, match=message):
        load_settings(config, environ={})
