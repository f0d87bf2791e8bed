"""Alertmanager for the stack: its configuration (alerts.alertmanager, from the default
alarm pack, delivering to the Borealis webhook) written under the state directory, and the
service spec (127.0.0.1 only, no cluster listener)."""

from __future__ import annotations

from pathlib import Path

import yaml

from alerts import alertmanager
from alerts.loader import load_pack
from alerts.webhook import webhook_url
from borealis.services import ServiceSpec
from core.paths import StatePaths
from core.settings import Settings


def directory(paths: StatePaths) -> Path:
    return paths.root / "alertmanager"


def prepare(settings: Settings, paths: StatePaths) -> Path:
    """Write alertmanager.yml; return its path."""
    root = directory(paths)
    (root / "data").mkdir(parents=True, exist_ok=True)
    path = root / "alertmanager.yml"
    document = alertmanager.config(webhook_url(settings), load_pack())
    path.write_text(yaml.safe_dump(document, sort_keys=True))
    return path


def service(settings: Settings, paths: StatePaths) -> ServiceSpec:
    config_path = prepare(settings, paths)
    host = settings.listen_host
    port = settings.ports.port("alertmanager")
    return ServiceSpec(
        name="alertmanager",
        argv=alertmanager.argv(
            settings.alertmanager.binary, config_path, directory(paths) / "data", host, port
        ),
        url=f"http://{host}:{port}",
        health_path="/-/ready",
        log_file=paths.service_log("alertmanager"),
        pid_file=paths.pid_file("alertmanager"),
    )
