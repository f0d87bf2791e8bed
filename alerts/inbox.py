"""The webhook's stores: every notification Alertmanager delivers (the inbox the UI shows)
and the alarm history (one CloudWatch-style ``StateUpdate`` per alarm state change).

Both are journals (core.journal: append-only SQLite with a retention) under
``<state>/alerts/``. A state change is recorded once per alert (its fingerprint): a firing
alert re-sent by Alertmanager (group_interval, repeat_interval, another receiver) is not a
second change. RDS event notifications (alertname ``RDSEvent``) go into the inbox only.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from alerts.subscriptions import EVENT_ALERTNAME
from alerts.webhook_model import WebhookAlert, WebhookPayload
from core.journal import Journal, JournalTable

INBOX_TABLE = JournalTable(
    name="notifications",
    time_column="received_at",
    columns=(
        ("receiver", "text not null"),
        ("status", "text not null"),
        ("group_key", "text not null"),
        ("alert_count", "integer not null"),
        ("payload", "text not null"),
    ),
)
HISTORY_TABLE = JournalTable(
    name="alarm_history",
    time_column="timestamp",
    columns=(
        ("alarm_name", "text not null"),
        ("fingerprint", "text not null"),
        ("old_state", "text not null"),
        ("new_state", "text not null"),
        ("summary", "text not null"),
        ("data", "text not null"),
    ),
)
# Alertmanager's status -> CloudWatch's alarm state.
STATE = {"firing": "ALARM", "resolved": "OK"}
DEFAULT_RETENTION_DAYS = 14.0


@dataclass(frozen=True)
class StateChange:
    timestamp: datetime
    alarm_name: str
    fingerprint: str
    old_state: str
    new_state: str
    summary: str
    data: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """DescribeAlarmHistory's AlarmHistoryItem shape."""
        return {
            "AlarmName": self.alarm_name,
            "AlarmType": "MetricAlarm",
            "Timestamp": self.timestamp.isoformat(),
            "HistoryItemType": "StateUpdate",
            "HistorySummary": self.summary,
            "HistoryData": json.dumps(self.data, sort_keys=True),
        }


def alert_key(alert: WebhookAlert) -> str:
    """The alert's identity: Alertmanager's fingerprint, or its sorted labels without one."""
    if alert.fingerprint:
        return alert.fingerprint
    return json.dumps(sorted(alert.labels.items()))


class AlertInbox:
    """Notifications and alarm state changes, kept `retention_days`. Thread-safe."""

    def __init__(self, directory: Path, retention_days: float = DEFAULT_RETENTION_DAYS) -> None:
        retention = timedelta(days=retention_days)
        self.notifications = Journal(directory / "inbox.db", INBOX_TABLE, retention)
        self.history = Journal(directory / "alarm_history.db", HISTORY_TABLE, retention)
        self._lock = threading.Lock()

    def record(self, payload: WebhookPayload, received_at: datetime | None = None) -> int:
        """Store one notification; returns how many alarm state changes it made."""
        when = received_at or datetime.now(UTC)
        self.notifications.append(
            when,
            (
                payload.receiver,
                payload.status,
                payload.groupKey,
                len(payload.alerts),
                payload.model_dump_json(),
            ),
        )
        changes = 0
        with self._lock:
            for alert in payload.alerts:
                if self._record_change(alert, when):
                    changes += 1
        return changes

    def _record_change(self, alert: WebhookAlert, when: datetime) -> bool:
        if alert.labels.get("alertname") == EVENT_ALERTNAME:
            return False  # an RDS event notification, not an alarm: no state to change
        key = alert_key(alert)
        new_state = STATE[alert.status]
        previous = self.history.rows(where={"fingerprint": key})
        old_state = previous[-1][4] if previous else ("OK" if new_state == "ALARM" else "")
        if old_state == new_state or not old_state:
            return False  # a repeat, or a resolution of an alarm never seen firing
        name = alert.labels.get("alertname", "")
        data = {
            "version": "1.0",
            "oldState": {"stateValue": old_state},
            "newState": {
                "stateValue": new_state,
                "stateReason": alert.annotations.get("summary", ""),
                "timestamp": (alert.startsAt if new_state == "ALARM" else alert.endsAt),
            },
            "labels": dict(alert.labels),
        }
        self.history.append(
            when,
            (
                name,
                key,
                old_state,
                new_state,
                f"Alarm updated from {old_state} to {new_state}",
                json.dumps(data, sort_keys=True),
            ),
        )
        return True

    def list_notifications(self, since: datetime | None = None) -> list[dict[str, Any]]:
        """Notifications oldest first, each as Alertmanager sent it plus receivedAt."""
        result = []
        for row in self.notifications.rows(since=since):
            body = json.loads(row[5])
            body["receivedAt"] = row[0]
            result.append(body)
        return result

    def list_history(
        self, alarm_name: str | None = None, since: datetime | None = None
    ) -> list[StateChange]:
        where = {} if alarm_name is None else {"alarm_name": alarm_name}
        return [
            StateChange(
                timestamp=datetime.fromisoformat(row[0]),
                alarm_name=row[1],
                fingerprint=row[2],
                old_state=row[3],
                new_state=row[4],
                summary=row[5],
                data=json.loads(row[6]),
            )
            for row in self.history.rows(since=since, where=where)
        ]
