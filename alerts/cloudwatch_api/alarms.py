"""Where alarms live behind the API: the `AlarmBackend` protocol and an in-memory backend.

The real backend (alarm definitions compiled to Prometheus rules, reloaded) plugs in by
implementing the same five calls. Alarms are handed over as the request models; they come
back in DescribeAlarms' shapes (MetricAlarm, CompositeAlarm), and every change leaves an
AlarmHistoryItem (ConfigurationUpdate, StateUpdate) as CloudWatch records it."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from alerts.cloudwatch_api.alarm_models import PutCompositeAlarmRequest, PutMetricAlarmRequest
from core.httpapi import ApiError

ARN_PREFIX = "arn:aws:cloudwatch:local:000000000000:alarm:"
AlarmRequest = PutMetricAlarmRequest | PutCompositeAlarmRequest


def not_found(names: list[str]) -> ApiError:
    return ApiError(404, "ResourceNotFound", f"Alarm(s) not found: {', '.join(names)}")


class AlarmBackend(Protocol):
    def put(self, alarm: AlarmRequest) -> None:
        """Create or replace the alarm named `alarm.AlarmName`."""

    def describe(self) -> list[dict[str, Any]]:
        """Every alarm, in DescribeAlarms' MetricAlarm or CompositeAlarm shape, with
        `AlarmType` added ("MetricAlarm" or "CompositeAlarm"), by name."""

    def delete(self, names: list[str]) -> None:
        """Delete all of `names`, or none (ResourceNotFound) when one does not exist."""

    def set_state(self, name: str, state: str, reason: str, reason_data: str | None) -> None:
        """Set the alarm's state until its next evaluation (ResourceNotFound if unknown)."""

    def history(self) -> list[dict[str, Any]]:
        """Every AlarmHistoryItem, oldest first."""


@dataclass
class _Alarm:
    kind: str
    config: dict[str, Any]
    state: str = "INSUFFICIENT_DATA"
    reason: str = "Unchecked: Initial alarm creation"
    reason_data: str | None = None
    updated: float = field(default_factory=time.time)
    state_updated: float = field(default_factory=time.time)

    def shape(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            **self.config,
            "AlarmArn": ARN_PREFIX + self.config["AlarmName"],
            "AlarmConfigurationUpdatedTimestamp": self.updated,
            "StateValue": self.state,
            "StateReason": self.reason,
            "StateUpdatedTimestamp": self.state_updated,
            "StateTransitionedTimestamp": self.state_updated,
            "AlarmType": self.kind,
        }
        if self.reason_data is not None:
            out["StateReasonData"] = self.reason_data
        return out


def _config(alarm: AlarmRequest) -> dict[str, Any]:
    return alarm.model_dump(exclude_none=True, exclude={"Tags"})


class MemoryAlarmBackend:
    """Alarms held in memory (until the compile-and-reload backend lands)."""

    def __init__(self) -> None:
        self._alarms: dict[str, _Alarm] = {}
        self._history: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def _record(self, alarm: _Alarm, item_type: str, summary: str, data: dict[str, Any]) -> None:
        self._history.append(
            {
                "AlarmName": alarm.config["AlarmName"],
                "AlarmType": alarm.kind,
                "Timestamp": time.time(),
                "HistoryItemType": item_type,
                "HistorySummary": summary,
                "HistoryData": json.dumps(data),
            }
        )

    def put(self, alarm: AlarmRequest) -> None:
        kind = "CompositeAlarm" if isinstance(alarm, PutCompositeAlarmRequest) else "MetricAlarm"
        with self._lock:
            old = self._alarms.get(alarm.AlarmName)
            if old is not None and old.kind != kind:
                raise ApiError(
                    400,
                    "InvalidParameterCombination",
                    f"An alarm of another type is named {alarm.AlarmName}.",
                )
            new = _Alarm(kind, _config(alarm))
            if old is not None:  # an update keeps the state, as on AWS
                new.state, new.reason = old.state, old.reason
                new.reason_data, new.state_updated = old.reason_data, old.state_updated
            self._alarms[alarm.AlarmName] = new
            if old is None:
                data = {"type": "Create", "version": "1.0", "createdAlarm": new.config}
                self._record(new, "ConfigurationUpdate", f'Alarm "{alarm.AlarmName}" created', data)
            else:
                data = {
                    "type": "Update",
                    "version": "1.0",
                    "originalAlarm": old.config,
                    "updatedAlarm": new.config,
                }
                self._record(new, "ConfigurationUpdate", f'Alarm "{alarm.AlarmName}" updated', data)

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [self._alarms[name].shape() for name in sorted(self._alarms)]

    def delete(self, names: list[str]) -> None:
        with self._lock:
            missing = [name for name in names if name not in self._alarms]
            if missing:
                raise not_found(missing)
            for name in dict.fromkeys(names):
                alarm = self._alarms.pop(name)
                data = {"type": "Delete", "version": "1.0", "deletedAlarm": alarm.config}
                self._record(alarm, "ConfigurationUpdate", f'Alarm "{name}" deleted', data)

    def set_state(self, name: str, state: str, reason: str, reason_data: str | None) -> None:
        with self._lock:
            alarm = self._alarms.get(name)
            if alarm is None:
                raise not_found([name])
            old_state, old_reason = alarm.state, alarm.reason
            alarm.state, alarm.reason, alarm.reason_data = state, reason, reason_data
            alarm.state_updated = time.time()
            new_state: dict[str, Any] = {"stateValue": state, "stateReason": reason}
            if reason_data is not None:
                new_state["stateReasonData"] = json.loads(reason_data)
            data = {
                "version": "1.0",
                "oldState": {"stateValue": old_state, "stateReason": old_reason},
                "newState": new_state,
            }
            summary = f"Alarm updated from {old_state} to {state}"
            self._record(alarm, "StateUpdate", summary, data)

    def history(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._history)
