"""The clients of the alerting side, over HTTP only: Alertmanager's API v2 (alerts,
silences), the Borealis webhook (notifications, alarm history) and the CloudWatch-compatible
API (alarms over AWS JSON 1.0, as boto3 speaks it)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from core.errors import BorealisError
from dashboards.data import DataUnavailable, _get_json, _reason

CLOUDWATCH_TARGET = "GraniteServiceVersion20100801."
CLOUDWATCH_CONTENT_TYPE = "application/x-amz-json-1.0"
SILENCE_AUTHOR = "borealis-ui"


class ApiRefused(BorealisError):
    """The API answered and refused the request: its own message, shown verbatim."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}" if code else message)
        self.code = code
        self.message = message


def _send(
    source: str, base_url: str, request: urllib.request.Request, timeout: float = 10.0
) -> Any:
    """The JSON answer (None for an empty body); an HTTP 4xx is ApiRefused with the API's
    message, anything else DataUnavailable."""
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            raw = response.read()
            return json.loads(raw) if raw.strip() else None
    except urllib.error.HTTPError as exc:
        text = exc.read().decode(errors="replace")
        if 400 <= exc.code < 500:
            try:
                body = json.loads(text)
            except ValueError:
                body = text.strip()
            if isinstance(body, dict):
                code = str(body.get("__type", body.get("code", ""))).rsplit("#", 1)[-1]
                message = str(body.get("message", body.get("Message", body.get("error", text))))
                raise ApiRefused(code, message) from None
            raise ApiRefused("", str(body)) from None
        raise DataUnavailable(source, base_url, _reason(exc)) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise DataUnavailable(source, base_url, _reason(exc)) from None


class AlertmanagerClient:
    SOURCE = "Alertmanager"

    def __init__(self, base_url: str, headers: Mapping[str, str] | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = dict(headers or {})  # e.g. Authorization when auth is on

    def _get(self, path: str) -> list[dict[str, Any]]:
        body = _get_json(self.SOURCE, self.base_url, self.base_url + path, headers=self.headers)
        if not isinstance(body, list):
            raise DataUnavailable(self.SOURCE, self.base_url, f"unexpected answer {body!r:.200}")
        return body

    def alerts(self) -> list[dict[str, Any]]:
        """Active alerts, silenced and inhibited ones included (their status says so)."""
        return self._get("/api/v2/alerts?active=true&silenced=true&inhibited=true")

    def silences(self) -> list[dict[str, Any]]:
        return self._get("/api/v2/silences")

    def create_silence(
        self, alarm_name: str, minutes: float, comment: str, now: datetime | None = None
    ) -> str:
        """A silence of the alert `alarm_name` for `minutes` from now; its id."""
        start = now or datetime.now(UTC)
        body = {
            "matchers": [{"name": "alertname", "value": alarm_name, "isRegex": False}],
            "startsAt": start.isoformat(),
            "endsAt": (start + timedelta(minutes=minutes)).isoformat(),
            "createdBy": SILENCE_AUTHOR,
            "comment": comment,
        }
        request = urllib.request.Request(  # noqa: S310 - our own URL
            self.base_url + "/api/v2/silences",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", **self.headers},
            method="POST",
        )
        answer = _send(self.SOURCE, self.base_url, request)
        return str((answer or {}).get("silenceID", ""))

    def expire_silence(self, silence_id: str) -> None:
        quoted = urllib.parse.quote(silence_id, safe="")
        request = urllib.request.Request(  # noqa: S310 - our own URL
            f"{self.base_url}/api/v2/silence/{quoted}", headers=self.headers, method="DELETE"
        )
        _send(self.SOURCE, self.base_url, request)


class WebhookClient:
    SOURCE = "the webhook"

    def __init__(self, base_url: str, headers: Mapping[str, str] | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = dict(headers or {})  # e.g. Authorization when auth is on

    def _get(self, path: str, key: str) -> list[dict[str, Any]]:
        body = _get_json(self.SOURCE, self.base_url, self.base_url + path, headers=self.headers)
        if not isinstance(body, dict) or not isinstance(body.get(key), list):
            raise DataUnavailable(self.SOURCE, self.base_url, f"unexpected answer {body!r:.200}")
        return list(body[key])

    def notifications(self, minutes: float) -> list[dict[str, Any]]:
        return self._get(f"/api/notifications?minutes={minutes:g}", "Notifications")

    def alarm_history(self, alarm_name: str, minutes: float) -> list[dict[str, Any]]:
        query = urllib.parse.urlencode({"AlarmName": alarm_name, "minutes": f"{minutes:g}"})
        return self._get(f"/api/alarm-history?{query}", "AlarmHistoryItems")


class CloudWatchClient:
    """The CloudWatch-compatible API; a refused call raises ApiRefused with the API's message."""

    SOURCE = "the CloudWatch API"

    def __init__(self, base_url: str, headers: Mapping[str, str] | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = dict(headers or {})  # e.g. Authorization when auth is on

    def call(self, operation: str, body: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(  # noqa: S310 - our own URL
            self.base_url + "/",
            data=json.dumps(body).encode(),
            headers={
                "X-Amz-Target": CLOUDWATCH_TARGET + operation,
                "Content-Type": CLOUDWATCH_CONTENT_TYPE,
                **self.headers,
            },
            method="POST",
        )
        answer = _send(self.SOURCE, self.base_url, request)
        return answer if isinstance(answer, dict) else {}

    def describe_alarms(self) -> list[dict[str, Any]]:
        """Every metric and composite alarm, following NextToken."""
        alarms: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            body: dict[str, Any] = {"AlarmTypes": ["MetricAlarm", "CompositeAlarm"]}
            if token:
                body["NextToken"] = token
            answer = self.call("DescribeAlarms", body)
            alarms += answer.get("MetricAlarms", []) + answer.get("CompositeAlarms", [])
            token = answer.get("NextToken")
            if not token:
                return alarms

    def alarm_history(self, alarm_name: str) -> list[dict[str, Any]]:
        answer = self.call(
            "DescribeAlarmHistory",
            {"AlarmName": alarm_name, "AlarmTypes": ["MetricAlarm", "CompositeAlarm"]},
        )
        return list(answer.get("AlarmHistoryItems", []))

    def put_metric_alarm(self, alarm: dict[str, Any]) -> None:
        self.call("PutMetricAlarm", alarm)

    def delete_alarm(self, alarm_name: str) -> None:
        self.call("DeleteAlarms", {"AlarmNames": [alarm_name]})

    def metric_data(
        self, metric_stat: dict[str, Any], start: float, end: float
    ) -> tuple[list[float], list[float]]:
        """(times, values) of one MetricStat over [start, end], oldest first."""
        answer = self.call(
            "GetMetricData",
            {
                "MetricDataQueries": [{"Id": "m1", "MetricStat": metric_stat}],
                "StartTime": start,
                "EndTime": end,
                "ScanBy": "TimestampAscending",
            },
        )
        results = answer.get("MetricDataResults", [])
        if not results:
            return [], []
        times = [_epoch(t) for t in results[0].get("Timestamps", [])]
        values = [float(v) for v in results[0].get("Values", [])]
        pairs = sorted(zip(times, values, strict=False))
        return [t for t, _ in pairs], [v for _, v in pairs]


def _epoch(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
