"""The alarm half of a stack, without a cluster: the real Prometheus and Alertmanager started
from the specs `borealis up` uses (pid files, generated configs), and the webhook in-process.
Tests of alarm changes (store, reload, CloudWatch API, CLI) run against it."""

from __future__ import annotations

import json
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, Response

from alerts.inbox import AlertInbox
from alerts.webhook import create_app as webhook_app
from borealis import alertmanager, prometheus
from borealis.alarm_reload import RuleKey, rule_key
from borealis.services import Service
from core.httpapi import HttpServer
from core.settings import Settings, load_settings
from tests.binaries import require_binary
from tests.conftest import INTEGRATION_PORTS

PORT_BASE = INTEGRATION_PORTS + 900  # Prometheus +90, Alertmanager +93, API +94, webhook +95


@dataclass
class AlarmStack:
    settings: Settings
    state_dir: Path
    inbox: AlertInbox

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.settings.ports.port(name)}"

    def get(self, name: str, path: str) -> Any:
        with urllib.request.urlopen(self.url(name) + path, timeout=10) as response:  # noqa: S310
            return json.loads(response.read())

    def rule_groups(self) -> set[str]:
        data = self.get("prometheus", "/api/v1/rules")["data"]
        return {group["name"] for group in data["groups"]}

    def rules(self) -> Counter[RuleKey]:
        """Every rule Prometheus runs: group, name and labels."""
        data = self.get("prometheus", "/api/v1/rules")["data"]
        return Counter(rule_key(g["name"], rule) for g in data["groups"] for rule in g["rules"])

    def alarm_rules(self) -> set[str]:
        """The alarms Prometheus evaluates: their alerting rules' names."""
        data = self.get("prometheus", "/api/v1/rules")["data"]
        return {
            rule["name"]
            for group in data["groups"]
            if group["name"].startswith("alarm:")
            for rule in group["rules"]
            if rule["type"] == "alerting"
        }

    def alerts(self) -> list[dict[str, Any]]:
        return list(self.get("alertmanager", "/api/v2/alerts"))

    def am_receivers(self) -> set[str]:
        return {r["name"] for r in self.get("alertmanager", "/api/v2/receivers")}


def settings_for(state_dir: Path) -> Settings:
    return load_settings(
        environ={},
        overrides={"state_dir": str(state_dir), "ports.base": PORT_BASE, "workload": False},
    )


def quiet_collector() -> Flask:
    """An empty /metrics where the collector would be: its job is up, so the pack's
    BorealisCollectorDown does not fire (and mute every other alert)."""
    app = Flask("collector-stand-in")

    @app.get("/metrics")
    def metrics() -> Response:
        return Response("", content_type="text/plain; version=0.0.4")

    return app


def start_alarm_stack(state_dir: Path) -> Iterator[AlarmStack]:
    require_binary("prometheus")
    require_binary("prometheus-alertmanager")
    require_binary("promtool")
    require_binary("amtool")
    settings = settings_for(state_dir)
    paths = settings.state_paths()
    paths.run.mkdir(parents=True, exist_ok=True)
    inbox = AlertInbox(paths.root / "alerts")
    hook = HttpServer(webhook_app(inbox), port=settings.ports.port("webhook"), name="webhook-test")
    hook.start()
    collector = HttpServer(
        quiet_collector(), port=settings.ports.port("collector"), name="collector-test"
    )
    collector.start()
    services = [
        Service(prometheus.service(settings, paths)),
        Service(alertmanager.service(settings, paths)),
    ]
    try:
        for service in services:
            service.start()
        for service in services:
            assert service.wait_healthy(60), service.spec.log_file.read_text()[-2000:]
        yield AlarmStack(settings, state_dir, inbox)
    finally:
        for service in services:
            service.stop()
        hook.stop()
        collector.stop()
