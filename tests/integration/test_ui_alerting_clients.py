"""The UI's alerting clients against the real CloudWatch API and webhook apps (served by
waitress in this process) and a dead port: paging, refusals in the API's words, history."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from alerts.cloudwatch_api.app import start_service
from alerts.inbox import AlertInbox
from alerts.webhook import create_app as webhook_app
from alerts.webhook_model import WebhookPayload
from core.httpapi import HttpServer
from dashboards.alerting_data import (
    AlertmanagerClient,
    ApiRefused,
    CloudWatchClient,
    WebhookClient,
)
from dashboards.data import DataUnavailable
from dashboards.pages.alerts.model import alarm_request, history_rows

DEAD = "http://127.0.0.1:1"


@pytest.fixture
def cloudwatch() -> Iterator[CloudWatchClient]:
    server = start_service(port=0, prometheus_url=DEAD)
    try:
        yield CloudWatchClient(server.url)
    finally:
        server.stop()


@pytest.fixture
def webhook(tmp_path: Path) -> Iterator[tuple[WebhookClient, AlertInbox]]:
    inbox = AlertInbox(tmp_path / "alerts", 14)
    server = HttpServer(webhook_app(inbox), port=0, name="webhook")
    server.start()
    try:
        yield WebhookClient(server.url), inbox
    finally:
        server.stop()


def form(name: str, **changes: str) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": "AWS/RDS",
        "metric": "CPUUtilization",
        "dimensions": "DBInstanceIdentifier=i-1",
        "statistic": "Average",
        "period": "60",
        "evaluation-periods": "3",
        "operator": "GreaterThanThreshold",
        "threshold": "80",
        **changes,
    }


def test_alarms_are_put_listed_past_a_page_and_deleted(cloudwatch: CloudWatchClient) -> None:
    # 55 alarms: DescribeAlarms pages at 50, the client follows NextToken.
    for n in range(55):
        cloudwatch.put_metric_alarm(alarm_request(form(f"A{n:02d}")))
    names = [a["AlarmName"] for a in cloudwatch.describe_alarms()]
    assert names == [f"A{n:02d}" for n in range(55)]
    cloudwatch.put_metric_alarm(alarm_request(form("A00", threshold="50")))
    changed = [a for a in cloudwatch.describe_alarms() if a["AlarmName"] == "A00"]
    assert [a["Threshold"] for a in changed] == [50.0]
    history = history_rows(cloudwatch.alarm_history("A00"), [])
    assert [r["Summary"] for r in history] == ['Alarm "A00" updated', 'Alarm "A00" created']
    cloudwatch.delete_alarm("A00")
    assert "A00" not in [a["AlarmName"] for a in cloudwatch.describe_alarms()]


@pytest.mark.parametrize(
    ("changes", "code", "text"),
    [
        ({"period": "7"}, "InvalidParameterValue", "Period must be 1, 5, 10, 20, 30"),
        ({"threshold": ""}, "MissingParameter", "The parameter Threshold must be specified."),
        ({"threshold": "high"}, "InvalidParameterValue", "Threshold"),
    ],
)
def test_a_refused_alarm_carries_the_apis_code_and_message(
    cloudwatch: CloudWatchClient, changes: dict[str, str], code: str, text: str
) -> None:
    with pytest.raises(ApiRefused) as refused:
        cloudwatch.put_metric_alarm(alarm_request(form("Bad", **changes)))
    assert refused.value.code == code
    assert text in refused.value.message
    assert cloudwatch.describe_alarms() == []


def test_deleting_a_missing_alarm_is_refused(cloudwatch: CloudWatchClient) -> None:
    with pytest.raises(ApiRefused, match="ResourceNotFound: Alarm\\(s\\) not found: Nope"):
        cloudwatch.delete_alarm("Nope")


def test_the_webhook_inbox_and_history(webhook: tuple[WebhookClient, AlertInbox]) -> None:
    client, inbox = webhook
    alert = {
        "status": "firing",
        "labels": {"alertname": "WriterCPUHigh"},
        "annotations": {"summary": "CPU high"},
        "fingerprint": "f1",
    }
    inbox.record(
        WebhookPayload.model_validate(
            {
                "version": "4",
                "groupKey": "g",
                "status": "firing",
                "receiver": "borealis",
                "groupLabels": {"alertname": "WriterCPUHigh"},
                "alerts": [alert],
            }
        )
    )
    notes = client.notifications(60)
    assert [(n["receiver"], n["status"]) for n in notes] == [("borealis", "firing")]
    items = client.alarm_history("WriterCPUHigh", 60)
    assert [i["HistoryItemType"] for i in items] == ["StateUpdate"]
    assert client.alarm_history("Other", 60) == []


@pytest.mark.parametrize(
    ("call", "source"),
    [
        (lambda: CloudWatchClient(DEAD).describe_alarms(), "the CloudWatch API"),
        (lambda: WebhookClient(DEAD).notifications(60), "the webhook"),
        (lambda: AlertmanagerClient(DEAD).alerts(), "Alertmanager"),
        (lambda: AlertmanagerClient(DEAD).create_silence("X", 5, "why"), "Alertmanager"),
    ],
)
def test_a_dead_source_is_unavailable_by_name(call: Any, source: str) -> None:
    with pytest.raises(DataUnavailable) as down:
        call()
    assert str(down.value) == f"{source} unavailable at {DEAD}: [Errno 111] Connection refused"
