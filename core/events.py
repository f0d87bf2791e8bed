"""RDS-style events: the real event IDs and messages, stored in SQLite.

The catalogue carries AWS's own IDs, categories and message text (Aurora User Guide, "Amazon
RDS event categories and event messages for Aurora"). Storage-volume events have no AWS
equivalent (Aurora does not publish per-segment events), so they use Borealis' own
``BOREALIS-EVENT-*`` IDs, kept apart so nobody mistakes them for AWS ones.
"""

from __future__ import annotations

import builtins
import enum
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from core.journal import Journal, JournalTable, stamp
from core.settings import RetentionSettings


class SourceType(enum.StrEnum):
    DB_INSTANCE = "db-instance"
    DB_CLUSTER = "db-cluster"


@dataclass(frozen=True)
class EventType:
    event_id: str
    category: str
    source_type: SourceType
    message: str  # str.format template


def _types(*items: EventType) -> dict[str, EventType]:
    return {item.event_id: item for item in items}


_I = SourceType.DB_INSTANCE
_C = SourceType.DB_CLUSTER

CATALOG: dict[str, EventType] = _types(
    # DB cluster events, category failover.
    EventType(
        "RDS-EVENT-0069",
        "failover",
        _C,
        "Cluster failover failed, check the health of your cluster instances and try again.",
    ),
    EventType("RDS-EVENT-0070", "failover", _C, "Promoting previous primary again: {name}."),
    EventType("RDS-EVENT-0071", "failover", _C, "Completed failover to DB instance: {name}."),
    EventType("RDS-EVENT-0072", "failover", _C, "Started same AZ failover to DB instance: {name}."),
    EventType(
        "RDS-EVENT-0073", "failover", _C, "Started cross AZ failover to DB instance: {name}."
    ),
    EventType("RDS-EVENT-0170", "creation", _C, "DB cluster created."),
    EventType("RDS-EVENT-0150", "notification", _C, "DB cluster stopped."),
    EventType("RDS-EVENT-0151", "notification", _C, "DB cluster started."),
    # DB instance events.
    EventType("RDS-EVENT-0004", "availability", _I, "DB instance shutdown."),
    EventType("RDS-EVENT-0006", "availability", _I, "DB instance restarted."),
    EventType("RDS-EVENT-0005", "creation", _I, "DB instance created."),
    EventType("RDS-EVENT-0087", "notification", _I, "DB instance stopped."),
    EventType("RDS-EVENT-0088", "notification", _I, "DB instance started."),
    EventType(
        "RDS-EVENT-0020",
        "recovery",
        _I,
        "Recovery of the DB instance has started. Recovery time will vary with the amount of "
        "data to be recovered.",
    ),
    EventType("RDS-EVENT-0021", "recovery", _I, "Recovery of the DB instance is complete."),
    EventType("RDS-EVENT-0045", "read replica", _I, "Replication has stopped."),
    EventType("RDS-EVENT-0046", "read replica", _I, "Replication for the Read Replica resumed."),
    EventType("RDS-EVENT-0057", "read replica", _I, "Replication streaming has been terminated."),
    # Storage volume (Borealis' own; Aurora has no per-segment events).
    EventType(
        "BOREALIS-EVENT-0001",
        "storage",
        _C,
        "Storage segment {segment} in {az} is unavailable; {available} of 6 segments remain.",
    ),
    EventType(
        "BOREALIS-EVENT-0002",
        "storage",
        _C,
        "Storage segment {segment} in {az} was repaired and is catching up.",
    ),
    EventType(
        "BOREALIS-EVENT-0003",
        "storage",
        _C,
        "Storage write quorum lost: {available} of 6 segments available, 4 needed; "
        "commits are waiting.",
    ),
    EventType(
        "BOREALIS-EVENT-0004",
        "storage",
        _C,
        "Storage write quorum restored: {available} of 6 segments available.",
    ),
    # Logs and audit (Borealis' own; AWS has no IDs for these): from each instance's jsonlog
    # and pgaudit records, see collector/logs. xx2 IDs sum up what the rate limit held back.
    EventType(
        "BOREALIS-EVENT-0101",
        "security",
        _I,
        "Authentication failed for user {user} from {host} to database {database}: {reason}.",
    ),
    EventType(
        "BOREALIS-EVENT-0102",
        "security",
        _I,
        "{count} more authentication failures in {seconds} s were not listed one by one "
        "(users: {users}; hosts: {hosts}).",
    ),
    EventType(
        "BOREALIS-EVENT-0111",
        "audit",
        _I,
        "DDL by {user} in database {database}: {what}. Statement: {statement}",
    ),
    EventType(
        "BOREALIS-EVENT-0112",
        "audit",
        _I,
        "{count} more DDL statements in {seconds} s were not listed one by one (users: {users}).",
    ),
    EventType(
        "BOREALIS-EVENT-0121",
        "audit",
        _I,
        "Role or privilege change by {user} in database {database}: {what}. Statement: {statement}",
    ),
    EventType(
        "BOREALIS-EVENT-0122",
        "audit",
        _I,
        "{count} more role or privilege changes in {seconds} s were not listed one by one "
        "(users: {users}).",
    ),
    EventType(
        "BOREALIS-EVENT-0131",
        "failure",
        _I,
        "FATAL {sqlstate} in a {backend} session (user {user}, database {database}): {message}",
    ),
    EventType(
        "BOREALIS-EVENT-0132",
        "failure",
        _I,
        "{count} more FATAL errors in {seconds} s were not listed one by one (SQLSTATE: {codes}).",
    ),
    EventType("BOREALIS-EVENT-0141", "failure", _I, "PANIC {sqlstate} in {backend}: {message}"),
    EventType(
        "BOREALIS-EVENT-0142",
        "failure",
        _I,
        "{count} more PANIC lines in {seconds} s were not listed one by one.",
    ),
    # Detectors (Borealis' own where AWS has no ID): seen from the instances themselves.
    EventType(
        "BOREALIS-EVENT-0151", "failover", _I, "The DB instance is now a reader; it was the writer."
    ),
    EventType(
        "BOREALIS-EVENT-0152", "availability", _I, "The DB instance is not reachable: {error}"
    ),
    EventType(
        "BOREALIS-EVENT-0153",
        "availability",
        _I,
        "The DB instance is reachable again after {seconds} s.",
    ),
    # The supervisor (Borealis' own): a monitoring service died and was started again.
    EventType(
        "BOREALIS-EVENT-0161",
        "notification",
        _C,
        "The {service} service exited ({code}) and was restarted.",
    ),
)


@dataclass(frozen=True)
class Event:
    event_id: str
    source_identifier: str
    source_type: SourceType
    categories: tuple[str, ...]
    message: str
    date: datetime
    # What tells a replay of this event from a new one (e.g. the log file, inode and byte
    # offset of the line it came from); "" for its time and message. Never shown.
    origin: str = ""

    def dedup_key(self) -> str:
        """The key the store holds once: a collector that stored a batch of events and died
        before saving its read position stores the same batch again on restart."""
        what = self.origin or f"{stamp(self.date)}\x1f{self.message}"
        text = "\x1f".join((self.event_id, self.source_identifier, what))
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]

    def to_api(self) -> dict[str, Any]:
        """The DescribeEvents shape, plus the EventId that SNS/EventBridge payloads carry."""
        return {
            "EventId": self.event_id,
            "SourceIdentifier": self.source_identifier,
            "SourceType": self.source_type.value,
            "EventCategories": list(self.categories),
            "Message": self.message,
            "Date": self.date.astimezone(UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
        }


def make_event(
    event_id: str, source: str, when: datetime | None = None, *, origin: str = "", **params: str
) -> Event:
    kind = CATALOG[event_id]
    return Event(
        event_id=event_id,
        source_identifier=source,
        source_type=kind.source_type,
        categories=(kind.category,),
        message=kind.message.format(**params),
        date=when or datetime.now(UTC),
        origin=origin,
    )


def _event(row: tuple[Any, ...]) -> Event:
    """An event from its stored row: (date, event_id, source, source_type, categories, message)."""
    return Event(
        event_id=row[1],
        source_identifier=row[2],
        source_type=SourceType(row[3]),
        categories=tuple(row[4].split(",")),
        message=row[5],
        date=datetime.fromisoformat(row[0]),
    )


EVENTS_TABLE = JournalTable(
    name="events",
    time_column="date",
    columns=(
        ("event_id", "text not null"),
        ("source_identifier", "text not null"),
        ("source_type", "text not null"),
        ("categories", "text not null"),
        ("message", "text not null"),
        ("dedup_key", "text"),  # Event.dedup_key(); NULL in rows stored before it existed
    ),
    unique_column="dedup_key",
)


class EventStore:
    """Events in an SQLite file shared by the manager, the collector and the CLI, kept for
    `retention_days` (setting ``retention.events_days``)."""

    def __init__(self, path: Path, retention_days: float = RetentionSettings.events_days) -> None:
        self.path = path
        self.journal = Journal(path, EVENTS_TABLE, timedelta(days=retention_days))

    def add(self, event: Event) -> bool:
        """Store the event; False when it was stored before (same dedup key): a replay."""
        return self.journal.append(
            event.date,
            (
                event.event_id,
                event.source_identifier,
                event.source_type.value,
                ",".join(event.categories),
                event.message,
                event.dedup_key(),
            ),
        )

    def list(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        source_identifier: str | None = None,
    ) -> list[Event]:
        """Events oldest first, optionally within [since, until) and from one source."""
        where = {} if source_identifier is None else {"source_identifier": source_identifier}
        return [_event(row) for row in self.journal.rows(since, until, where)]

    def after(self, seq: int, limit: int = 500) -> builtins.list[tuple[int, Event]]:
        """Up to `limit` events stored after the one numbered `seq`, in the order they were
        stored, each with its number: what a follower (the event forwarder) reads next."""
        return [(int(row[0]), _event(row[1:])) for row in self.journal.rows_after(seq, limit)]

    def last_seq(self) -> int:
        """The number of the newest event stored (0 when none ever was)."""
        return self.journal.last_seq()

    def prune(self) -> int:
        """Delete the events older than the retention now; returns how many went."""
        return self.journal.prune()
