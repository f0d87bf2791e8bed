"""The Borealis webhook receiver: Alertmanager posts notifications here (POST /webhook);
they go into the inbox and the alarm history (alerts.inbox), read back as JSON:

- ``GET /api/notifications?minutes=60``: ``{"Notifications": [payload + receivedAt, ...]}``
- ``GET /api/alarm-history?AlarmName=X&minutes=60``: ``{"AlarmHistoryItems": [...]}``
  (DescribeAlarmHistory's item shape)
- ``GET /api/event-forwarder``: the event forwarder's progress and failures
  (alerts.event_forwarder: RDS event subscriptions delivered through Alertmanager)
- ``GET /healthz``

Served on ``ports.webhook`` by the ``webhook`` service (Flask + pydantic + waitress, the
core.httpapi stack); a malformed payload is a 400 in Borealis' JSON error shape.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from pydantic import Field

from alerts.event_forwarder import POSITION_FILE, EventForwarder
from alerts.inbox import AlertInbox
from alerts.subscription_store import subscriptions_file
from alerts.webhook_model import WebhookPayload
from core.events import EventStore
from core.httpapi import HttpServer, JsonErrors, RequestModel, api_app, json_model, query_model
from core.settings import Settings
from core.waiting import until_stopped
from core.webauth import internal_header, service_users

log = logging.getLogger(__name__)
MAX_MINUTES = 60 * 24 * 14
WEBHOOK_PATH = "/webhook"


class WindowQuery(RequestModel):
    minutes: float = Field(60, gt=0, le=MAX_MINUTES)


class HistoryQuery(WindowQuery):
    AlarmName: str | None = Field(None, min_length=1, max_length=255)


def _since(minutes: float) -> datetime:
    return datetime.now(UTC) - timedelta(minutes=minutes)


def create_app(inbox: AlertInbox, forwarder: EventForwarder | None = None) -> Flask:
    app = api_app("webhook", JsonErrors())

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {"status": "ok"}

    @app.post(WEBHOOK_PATH)
    def receive() -> dict[str, Any]:
        payload = json_model(WebhookPayload)
        changes = inbox.record(payload)
        return {"stored": len(payload.alerts), "stateChanges": changes}

    @app.get("/api/notifications")
    def notifications() -> dict[str, Any]:
        query = query_model(WindowQuery)
        return {"Notifications": inbox.list_notifications(since=_since(query.minutes))}

    @app.get("/api/alarm-history")
    def history() -> dict[str, Any]:
        query = query_model(HistoryQuery)
        items = inbox.list_history(query.AlarmName, since=_since(query.minutes))
        return {"AlarmHistoryItems": [item.to_json() for item in items]}

    @app.get("/api/event-forwarder")
    def event_forwarder() -> dict[str, Any]:
        return {
            "Running": forwarder is not None,
            **(forwarder.stats.to_json() if forwarder else {}),
        }

    return app


def webhook_url(settings: Settings) -> str:
    """Where Alertmanager posts: the webhook service of this stack."""
    return f"http://{settings.listen_host}:{settings.ports.port('webhook')}{WEBHOOK_PATH}"


def event_forwarder(settings: Settings) -> EventForwarder:
    """The forwarder of this stack: its events, subscriptions and Alertmanager."""
    paths = settings.state_paths()
    return EventForwarder(
        EventStore(paths.events_db, settings.retention.events_days),
        subscriptions_file(paths.root),
        paths.root / "alerts" / POSITION_FILE,
        f"http://{settings.listen_host}:{settings.ports.port('alertmanager')}",
        settings.cluster_id,
        headers=internal_header(settings),
    )


def run(settings: Settings, stop: threading.Event) -> None:
    """The `webhook` service until `stop` is set, its stores under `<state>/alerts/`, with
    the event forwarder as a thread."""
    inbox = AlertInbox(settings.state_paths().root / "alerts", settings.retention.events_days)
    forwarder = event_forwarder(settings)
    server = HttpServer(
        create_app(inbox, forwarder),
        host=settings.listen_host,
        port=settings.ports.port("webhook"),
        name="webhook",
        setting="ports.webhook",
        users=service_users(settings),
    )
    server.start()
    forwarder.start()
    log.info("Alertmanager webhook on %s%s", server.url, WEBHOOK_PATH)
    try:
        until_stopped(stop)
    finally:
        forwarder.stop()
        server.stop()
