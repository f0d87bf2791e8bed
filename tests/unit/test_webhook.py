"""The Alertmanager webhook receiver: its payload model, the inbox and alarm history, the
HTTP app (served by the real waitress server), bad payloads included."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
import requests
from pydantic import ValidationError

from alerts.inbox import AlertInbox
from alerts.webhook import WEBHOOK_PATH, create_app, run
from alerts.webhook_model import WebhookPayload
from core.httpapi import HttpServer
from core.settings import Ports, Settings
from tests.conftest import PORT_BASE, wait_for


def alert(
    status: str, fingerprint: str = "f1", name: str = "BorealisInstanceDown"
) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {"alertname": name, "DBInstanceIdentifier": "borealis-reader-1"},
        "annotations": {"summary": "instance borealis-reader-1 is down"},
        "startsAt": "2026-12-03T08:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-12-03T08:01:00Z",
        "generatorURL": "http://127.0.0.1:9090/graph",
        "fingerprint": fingerprint,
    }


def payload(status: str, *alerts: dict[str, Any], receiver: str = "borealis") -> dict[str, Any]:
    return {
        "version": "4",
        "groupKey": '{}:{alertname="BorealisInstanceDown"}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": receiver,
        "groupLabels": {"alertname": "BorealisInstanceDown"},
        "commonLabels": {"alertname": "BorealisInstanceDown"},
        "commonAnnotations": {},
        "externalURL": "http://127.0.0.1:9093",
        "alerts": list(alerts) or [alert(status)],
    }


def test_model_reads_alertmanagers_payload() -> None:
    model = WebhookPayload.model_validate(payload("firing"))
    assert model.alerts[0].labels["alertname"] == "BorealisInstanceDown"
    assert model.status == "firing"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"version": "3"}, "version"),
        ({"status": "pending"}, "status"),
        ({"alerts": []}, "alerts"),
        ({"alerts": [{"status": "firing"}]}, "labels"),
        ({"receiver": ""}, "receiver"),
        ({"truncatedAlerts": -1}, "truncatedAlerts"),
    ],
)
def test_model_refuses_bad_payloads(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        WebhookPayload.model_validate({**payload("firing"), **change})
    assert field in str(raised.value)


def test_state_changes_are_recorded_once(tmp_path: Path) -> None:
    inbox = AlertInbox(tmp_path)
    firing = WebhookPayload.model_validate(payload("firing"))
    assert inbox.record(firing) == 1
    # Re-sent (repeat_interval) and delivered to a second receiver: no new change.
    assert inbox.record(firing) == 0
    assert inbox.record(WebhookPayload.model_validate(payload("firing", receiver="oncall"))) == 0
    assert inbox.record(WebhookPayload.model_validate(payload("resolved"))) == 1
    history = inbox.list_history("BorealisInstanceDown")
    assert [(h.old_state, h.new_state) for h in history] == [("OK", "ALARM"), ("ALARM", "OK")]
    item = history[0].to_json()
    assert item["HistoryItemType"] == "StateUpdate"
    assert item["HistorySummary"] == "Alarm updated from OK to ALARM"
    assert json.loads(item["HistoryData"])["newState"]["stateValue"] == "ALARM"
    assert len(inbox.list_notifications()) == 4
    assert inbox.list_history("OtherAlarm") == []


def test_a_resolution_never_seen_firing_is_no_change(tmp_path: Path) -> None:
    inbox = AlertInbox(tmp_path)
    assert inbox.record(WebhookPayload.model_validate(payload("resolved"))) == 0
    assert inbox.list_history() == []
    assert len(inbox.list_notifications()) == 1


def test_alerts_are_told_apart_by_fingerprint(tmp_path: Path) -> None:
    inbox = AlertInbox(tmp_path)
    both = payload("firing", alert("firing", "a"), alert("firing", "b"))
    assert inbox.record(WebhookPayload.model_validate(both)) == 2
    assert (
        inbox.record(WebhookPayload.model_validate(payload("resolved", alert("resolved", "a"))))
        == 1
    )
    states = {(h.fingerprint, h.new_state) for h in inbox.list_history()}
    assert states == {("a", "ALARM"), ("b", "ALARM"), ("a", "OK")}


@pytest.fixture
def served(tmp_path: Path) -> Any:
    server = HttpServer(create_app(AlertInbox(tmp_path)), name="webhook")
    server.start()
    yield server.url
    server.stop()


def test_http_stores_and_reads_back(served: str) -> None:
    answer = requests.post(served + WEBHOOK_PATH, json=payload("firing"), timeout=5)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"stored": 1, "stateChanges": 1}
    notes = requests.get(served + "/api/notifications", timeout=5).json()["Notifications"]
    assert [n["status"] for n in notes] == ["firing"]
    assert notes[0]["alerts"][0]["fingerprint"] == "f1"
    items = requests.get(
        served + "/api/alarm-history", params={"AlarmName": "BorealisInstanceDown"}, timeout=5
    ).json()["AlarmHistoryItems"]
    assert [i["HistorySummary"] for i in items] == ["Alarm updated from OK to ALARM"]


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[]", json.dumps({"version": "4"}).encode(), b'{"version": "4", "x": NaN}'],
)
def test_http_bad_payload_is_400_and_server_keeps_serving(served: str, body: bytes) -> None:
    answer = requests.post(
        served + WEBHOOK_PATH, data=body, headers={"Content-Type": "application/json"}, timeout=5
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]
    good = requests.post(served + WEBHOOK_PATH, json=payload("firing"), timeout=5)
    assert good.status_code == 200
    assert len(requests.get(served + "/api/notifications", timeout=5).json()["Notifications"]) == 1


def test_http_bad_query_is_400(served: str) -> None:
    answer = requests.get(served + "/api/notifications", params={"minutes": "-5"}, timeout=5)
    assert answer.status_code == 400
    assert "minutes" in answer.json()["error"]


def test_run_serves_on_ports_webhook_until_stopped(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path, ports=Ports(base=PORT_BASE + 600))
    stop = threading.Event()
    thread = threading.Thread(target=run, args=(settings, stop), daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{settings.ports.port('webhook')}"
    wait_for(
        lambda: requests.get(url + "/healthz", timeout=2).json() == {"status": "ok"},
        15,
        what="the webhook service's /healthz",
    )
    assert requests.post(url + WEBHOOK_PATH, json=payload("firing"), timeout=5).ok
    stop.set()
    thread.join(10)
    assert not thread.is_alive()
    # Stored under <state>/alerts/, and the port is free again.
    assert len(AlertInbox(tmp_path / "alerts").list_notifications()) == 1
    again = HttpServer(
        create_app(AlertInbox(tmp_path / "alerts")), port=settings.ports.port("webhook")
    )
    again.stop()
