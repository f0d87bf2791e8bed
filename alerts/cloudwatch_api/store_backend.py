"""The real `AlarmBackend`: alarms in the alarm store (alerts/store.py), so a PutMetricAlarm
becomes a Prometheus rule on the running stack, and states read from Prometheus.

- Put/Delete: validated by the loader with the pack (AWS ValidationError with its reason,
  nothing changed), compiled and reloaded by the store's publisher.
- DescribeAlarms: pack and user alarms; StateValue from ``alarm:state`` (0 OK,
  1 INSUFFICIENT_DATA, 2 ALARM, the worst series), StateUpdatedTimestamp from the webhook's
  alarm history where it has one.
- DescribeAlarmHistory: the store's ConfigurationUpdate (and SetAlarmState) items and the
  webhook's StateUpdate items.
- SetAlarmState: the state holds until the alarm's next evaluation (one period, 10 to 60 s)
  and, as on AWS, triggers the actions: an alert posted to Alertmanager's /api/v2/alerts
  with the alarm's receivers, so they get the notification.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import has_request_context, request
from pydantic import ValidationError

from alerts.cloudwatch_api.alarm_models import PutCompositeAlarmRequest
from alerts.cloudwatch_api.alarms import ARN_PREFIX, AlarmRequest, not_found
from alerts.cloudwatch_api.series import PrometheusReader
from alerts.compile import STATE
from alerts.inbox import AlertInbox
from alerts.model import CompositeAlarm, MetricAlarm
from alerts.rules import RECEIVERS_LABEL, condition_text, receivers_label
from alerts.store import Actor, Alarm, AlarmNotFound, AlarmStore, every_alarm, kind_of
from core.errors import ConfigError
from core.httpapi import ApiError
from core.trail import Caller

log = logging.getLogger(__name__)
STATES = {0: "OK", 1: "INSUFFICIENT_DATA", 2: "ALARM"}
SET_STATE_LABEL = "borealis_set_state"  # marks the alerts SetAlarmState posts
HOLD_MIN_S, HOLD_MAX_S = 10, 60
NOTIFY_FOR_S = 300  # a SetAlarmState ALARM stays firing in Alertmanager this long at most


def api_actor() -> Actor:
    """The API's caller: the SigV4 access key (or this service's OS user) and the client's
    User-Agent (boto3, aws-cli)."""
    caller = Caller.from_uid(os.getuid(), os.getpid())
    if not has_request_context():
        return Actor(caller, "borealis-cloudwatch")
    authorization = request.headers.get("Authorization", "")
    _, found, rest = authorization.partition("Credential=")
    if found and rest.split("/", 1)[0]:
        caller = Caller(caller.uid, rest.split("/", 1)[0], caller.pid)
    return Actor(caller, request.headers.get("User-Agent", "unknown"))


def _validation(message: str) -> ApiError:
    return ApiError(400, "ValidationError", message)


def to_alarm(put: AlarmRequest) -> Alarm:
    """The request as an alarm definition (the loader's model), or a ValidationError."""
    data = put.model_dump(mode="json", exclude_none=True)
    model: type[Alarm] = (
        CompositeAlarm if isinstance(put, PutCompositeAlarmRequest) else MetricAlarm
    )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        raise _validation(f"{where}: {message}" if where else message) from None


@dataclass
class _Override:
    state: str
    reason: str
    reason_data: str | None
    at: float
    until: float


class StoreAlarmBackend:
    def __init__(
        self,
        store: AlarmStore,
        prometheus_url: str,
        alertmanager_url: str,
        inbox: AlertInbox | None = None,
        actor: Callable[[], Actor] = api_actor,
    ) -> None:
        self.store = store
        self.reader = PrometheusReader(prometheus_url, timeout=10)
        self.alertmanager_url = alertmanager_url.rstrip("/")
        self.inbox = inbox
        self.actor = actor
        self._overrides: dict[str, _Override] = {}
        self._lock = threading.Lock()

    # --- changes -------------------------------------------------------------------------

    def put(self, alarm: AlarmRequest) -> None:
        definition = to_alarm(alarm)
        for existing in self.store.user_alarms():
            if existing.AlarmName == definition.AlarmName and kind_of(existing) != kind_of(
                definition
            ):
                raise ApiError(
                    400,
                    "InvalidParameterCombination",
                    f"An alarm of another type is named {definition.AlarmName}.",
                )
        try:
            self.store.put(definition, self.actor())
        except ConfigError as exc:
            raise _validation(str(exc)) from None

    def delete(self, names: list[str]) -> None:
        try:
            self.store.delete(names, self.actor())
        except AlarmNotFound as exc:
            raise not_found(exc.names) from None
        except ConfigError as exc:
            raise _validation(str(exc)) from None

    # --- states --------------------------------------------------------------------------

    def _evaluated(self) -> dict[str, int]:
        try:
            results = self.reader.instant(f"max by (alarm_name) ({STATE})")
        except ApiError as exc:
            log.warning("alarm states unavailable: %s", exc)
            return {}
        return {
            r["metric"].get("alarm_name", ""): int(float(r["value"][1]))
            for r in results
            if r["value"][1] in ("0", "1", "2")
        }

    def _last_changes(self) -> dict[str, float]:
        if self.inbox is None:
            return {}
        return {
            change.alarm_name: change.timestamp.timestamp() for change in self.inbox.list_history()
        }

    @staticmethod
    def _reason(alarm: Alarm, state: str) -> str:
        if isinstance(alarm, CompositeAlarm):
            truth = "true" if state == "ALARM" else "false"
            return f"Alarm rule {alarm.AlarmRule} is {truth}"
        condition = condition_text(alarm)
        if state == "ALARM":
            return f"Threshold Crossed: {condition}"
        if state == "OK":
            return f"Threshold not crossed: {condition}"
        return f"Insufficient Data: {condition}"

    def describe(self) -> list[dict[str, Any]]:
        evaluated = self._evaluated()
        changes = self._last_changes()
        configured: dict[str, float] = {}
        for item in self.store.history():
            if item["HistoryItemType"] == "ConfigurationUpdate":
                configured[item["AlarmName"]] = item["Timestamp"]
        now = time.time()
        shapes = []
        alarms = self.store.alarms()
        for alarm in every_alarm(alarms):
            name = alarm.AlarmName
            value = evaluated.get(name)
            state = STATES[value] if value is not None else "INSUFFICIENT_DATA"
            reason = (
                self._reason(alarm, state) if value is not None else "Unchecked: not evaluated yet"
            )
            reason_data: str | None = None
            updated = changes.get(name, configured.get(name, 0.0))
            with self._lock:
                override = self._overrides.get(name)
            if override is not None and override.until > now:
                state, reason, reason_data = override.state, override.reason, override.reason_data
                updated = override.at
            shape = alarm.model_dump(
                mode="json", exclude_none=True, exclude={"severity", "runbook", "Tags"}
            )
            shape.update(
                AlarmArn=ARN_PREFIX + name,
                AlarmConfigurationUpdatedTimestamp=configured.get(name, 0.0),
                StateValue=state,
                StateReason=reason,
                StateUpdatedTimestamp=updated,
                StateTransitionedTimestamp=updated,
                AlarmType=kind_of(alarm),
            )
            if reason_data is not None:
                shape["StateReasonData"] = reason_data
            shapes.append(shape)
        return shapes

    def set_state(self, name: str, state: str, reason: str, reason_data: str | None) -> None:
        alarms = self.store.alarms()
        alarm = next((a for a in every_alarm(alarms) if a.AlarmName == name), None)
        if alarm is None:
            raise not_found([name])
        old = next((a["StateValue"] for a in self.describe() if a["AlarmName"] == name), "")
        period = alarm.period_s if isinstance(alarm, MetricAlarm) else HOLD_MIN_S
        now = time.time()
        with self._lock:
            self._overrides[name] = _Override(
                state, reason, reason_data, now, now + min(max(period, HOLD_MIN_S), HOLD_MAX_S)
            )
        new_state: dict[str, Any] = {"stateValue": state, "stateReason": reason}
        if reason_data is not None:
            new_state["stateReasonData"] = json.loads(reason_data)
        data = {
            "version": "1.0",
            "oldState": {"stateValue": old},
            "newState": new_state,
        }
        self.store.record(
            name, kind_of(alarm), "StateUpdate", f"Alarm updated from {old} to {state}", data
        )
        self._notify(alarm, state, reason)

    def _notify(self, alarm: Alarm, state: str, reason: str) -> None:
        """Tell Alertmanager, so the alarm's actions run: ALARM fires the alarm's alert, OK
        resolves it, INSUFFICIENT_DATA fires its INSUFFICIENT_DATA variant (when it has
        receivers) and resolves the ALARM one."""
        now = datetime.now(UTC)
        later = (now + timedelta(seconds=NOTIFY_FOR_S)).isoformat()

        def alert(alarm_state: str, ends: str) -> dict[str, Any]:
            labels = {
                "alertname": alarm.AlarmName,
                "alarm_state": alarm_state,
                "severity": str(alarm.severity),
                SET_STATE_LABEL: "true",
            }
            receivers = receivers_label(alarm, alarm_state)
            if receivers:
                labels[RECEIVERS_LABEL] = receivers
            return {
                "labels": labels,
                "annotations": {
                    "summary": f"{alarm.AlarmName}: {reason}",
                    "description": reason,
                    "runbook": alarm.runbook or "No runbook given for this alarm.",
                },
                "startsAt": now.isoformat(),
                "endsAt": ends,
            }

        alerts = [alert("ALARM", later if state == "ALARM" else now.isoformat())]
        if state == "INSUFFICIENT_DATA" and alarm.receivers("INSUFFICIENT_DATA"):
            alerts.append(alert("INSUFFICIENT_DATA", later))
        body = json.dumps(alerts).encode()
        post = urllib.request.Request(  # noqa: S310 - the stack's Alertmanager
            f"{self.alertmanager_url}/api/v2/alerts",
            data=body,
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(post, timeout=10):  # noqa: S310
                pass
        except (urllib.error.URLError, OSError) as exc:
            raise ApiError(
                500,
                "InternalServiceError",
                f"The state is set, but Alertmanager could not be told: {exc}",
            ) from None

    # --- history -------------------------------------------------------------------------

    def history(self) -> list[dict[str, Any]]:
        items = list(self.store.history())
        if self.inbox is not None:
            alarms = self.store.alarms()
            composites = {a.AlarmName for a in alarms.composites}
            for change in self.inbox.list_history():
                if change.data.get("labels", {}).get(SET_STATE_LABEL):
                    continue  # recorded by SetAlarmState itself
                item = change.to_json()
                item["Timestamp"] = change.timestamp.timestamp()
                if change.alarm_name in composites:
                    item["AlarmType"] = "CompositeAlarm"
                items.append(item)
        return sorted(items, key=lambda i: float(i["Timestamp"]))
