"""The control-plane trail, like CloudTrail: who asked for what, when, and what came of it.

Every control-plane action (up, down, failover, reboot, fault; alarm changes later) becomes
one record in ``<state>/trail.db``. ``borealis trail --json`` prints them in CloudTrail's
record shape. The caller is the OS user on the other end of the control socket
(``SO_PEERCRED``), so the trail names whoever really asked, not whoever runs the stack.
"""

from __future__ import annotations

import json
import pwd
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from core.journal import Journal, JournalTable
from core.settings import RetentionSettings

RDS_SOURCE = "rds.amazonaws.com"
FIS_SOURCE = "fis.amazonaws.com"  # AWS Fault Injection Service: faults are its experiments
EVENT_VERSION = "1.08"


@dataclass(frozen=True)
class Caller:
    """An OS user as CloudTrail's userIdentity."""

    uid: int
    user_name: str
    pid: int | None = None

    @classmethod
    def from_uid(cls, uid: int, pid: int | None = None) -> Caller:
        try:
            name = pwd.getpwuid(uid).pw_name
        except KeyError:
            name = f"uid-{uid}"
        return cls(uid, name, pid)

    def identity(self) -> dict[str, Any]:
        identity: dict[str, Any] = {
            "type": "Root" if self.uid == 0 else "IAMUser",
            "principalId": str(self.uid),
            "userName": self.user_name,
            "uid": self.uid,
        }
        if self.pid is not None:
            identity["pid"] = self.pid
        return identity


@dataclass(frozen=True)
class TrailRecord:
    event_name: str
    caller: Caller
    request_parameters: dict[str, Any]
    response_elements: dict[str, Any] | None = None
    error_code: str | None = None
    error_message: str | None = None
    event_source: str = RDS_SOURCE
    user_agent: str = "borealis"
    region: str = "local-1"
    event_time: datetime = field(default_factory=lambda: datetime.now(UTC))
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def to_cloudtrail(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "eventVersion": EVENT_VERSION,
            "userIdentity": self.caller.identity(),
            "eventTime": self.event_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "eventSource": self.event_source,
            "eventName": self.event_name,
            "awsRegion": self.region,
            "sourceIPAddress": "localhost",
            "userAgent": self.user_agent,
            "requestParameters": self.request_parameters,
            "responseElements": self.response_elements,
            "requestID": self.request_id,
            "eventID": self.event_id,
            "readOnly": False,
            "eventType": "AwsApiCall",
            "managementEvent": True,
            "eventCategory": "Management",
        }
        if self.error_code is not None:
            record["errorCode"] = self.error_code
            record["errorMessage"] = self.error_message or ""
        return record


TRAIL_TABLE = JournalTable(
    name="trail",
    time_column="event_time",
    columns=(
        ("event_id", "text not null unique"),
        ("event_name", "text not null"),
        ("record", "text not null"),
    ),
)


class TrailStore:
    """Trail records in an SQLite file in the state directory, oldest first, kept for
    `retention_days` (setting ``retention.trail_days``)."""

    def __init__(self, path: Path, retention_days: float = RetentionSettings.trail_days) -> None:
        self.path = path
        self.journal = Journal(path, TRAIL_TABLE, timedelta(days=retention_days))

    def add(self, record: TrailRecord) -> None:
        self.journal.append(
            record.event_time,
            (
                record.event_id,
                record.event_name,
                json.dumps(record.to_cloudtrail(), sort_keys=True),
            ),
        )

    def records(
        self, since: datetime | None = None, event_name: str | None = None
    ) -> list[dict[str, Any]]:
        """CloudTrail records oldest first, optionally since a time and of one eventName."""
        where = {} if event_name is None else {"event_name": event_name}
        return [json.loads(row[3]) for row in self.journal.rows(since, where=where)]

    def recent(self, minutes: float) -> list[dict[str, Any]]:
        return self.records(datetime.now(UTC) - timedelta(minutes=minutes))

    def prune(self) -> int:
        """Delete the records older than the retention now; returns how many went."""
        return self.journal.prune()
