"""Alertmanager for the stack: its configuration (alerts.alertmanager, from the default
alarm pack, delivering to the Borealis webhook) written under the state directory, and the
service spec (127.0.0.1 only, no cluster listener); the routes of the event subscriptions
(<state>/alarms/subscriptions.yml) too. Reloads: borealis.alarm_reload.StackPublisher."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from alerts import alertmanager
from alerts.loader import AlarmSet
from alerts.publish import tool_beside, write_checked_file
from alerts.store import AlarmStore
from alerts.subscription_store import load_subscriptions, subscriptions_file
from alerts.webhook import webhook_url
from borealis.services import ServiceSpec
from borealis.webconfig import client_basic_auth, write_web_config
from core.errors import ConfigError
from core.paths import StatePaths
from core.settings import Settings
from core.webauth import internal_header
from core.yamlconf import load_located_file, plain


def directory(paths: StatePaths) -> Path:
    return paths.root / "alertmanager"


def load_receivers(path: Path) -> dict[str, dict[str, Any]]:
    """The receivers file: each receiver name maps to an Alertmanager receiver body whose
    keys are integrations (`email_configs: [...]`); a wrong entry names file and line."""
    document = load_located_file(path)
    if not isinstance(document.value, dict):
        raise ConfigError(f"{path}:{document.line}: expected receiver names mapping to bodies")
    receivers: dict[str, dict[str, Any]] = {}
    for name, body in document.value.items():
        integrations = body.value
        if not isinstance(integrations, dict) or not integrations:
            raise ConfigError(
                f"{path}:{body.line}: receiver {name!r} needs a mapping of integrations "
                "(email_configs, slack_configs, webhook_configs, ...)"
            )
        for key, value in integrations.items():
            if not key.endswith("_configs") or not isinstance(value.value, list):
                raise ConfigError(
                    f"{path}:{value.line}: receiver {name!r}: {key!r} must be an "
                    "integration list such as email_configs: [...]"
                )
        receivers[str(name)] = plain(body)
    return receivers


def config_path(paths: StatePaths) -> Path:
    return directory(paths) / "alertmanager.yml"


def config_text(settings: Settings, paths: StatePaths, alarms: AlarmSet) -> str:
    """alertmanager.yml for `alarms` (receivers named by their actions), the receivers
    file of the settings and the stack's event subscriptions."""
    receivers_file = settings.alertmanager.receivers_file
    receivers = load_receivers(Path(receivers_file)) if receivers_file else {}
    subscriptions = load_subscriptions(subscriptions_file(paths.root))
    document = alertmanager.config(webhook_url(settings), alarms, receivers, subscriptions)
    _authenticate_webhook(document, webhook_url(settings), client_basic_auth(settings))
    return yaml.safe_dump(document, sort_keys=True)


def write_config(settings: Settings, paths: StatePaths, alarms: AlarmSet) -> str | None:
    """Replace alertmanager.yml once amtool accepts the new one; returns the old text."""
    amtool = tool_beside(settings.alertmanager.binary, "amtool")
    return write_checked_file(config_path(paths), config_text(settings, paths, alarms), amtool)


def prepare(settings: Settings, paths: StatePaths) -> Path:
    """Write alertmanager.yml for the pack and user alarms; return its path."""
    (directory(paths) / "data").mkdir(parents=True, exist_ok=True)
    path = config_path(paths)
    path.write_text(config_text(settings, paths, AlarmStore(paths.root).alarms()))
    return path


def _authenticate_webhook(document: dict[str, Any], url: str, auth: dict[str, str] | None) -> None:
    """Every webhook config posting to the stack's own webhook sends `auth` (when on)."""
    if auth is None:
        return
    for receiver in document.get("receivers", []):
        for hook in receiver.get("webhook_configs", []):
            if hook.get("url") == url:
                hook.setdefault("http_config", {})["basic_auth"] = dict(auth)


def service(settings: Settings, paths: StatePaths) -> ServiceSpec:
    config_path = prepare(settings, paths)
    web_config = write_web_config(settings, directory(paths))
    host = settings.listen_host
    port = settings.ports.port("alertmanager")
    argv = alertmanager.argv(
        settings.alertmanager.binary, config_path, directory(paths) / "data", host, port
    )
    return ServiceSpec(
        name="alertmanager",
        argv=[*argv, *([f"--web.config.file={web_config}"] if web_config else [])],
        headers=internal_header(settings),
        url=f"http://{host}:{port}",
        health_path="/-/ready",
        log_file=paths.service_log("alertmanager"),
        pid_file=paths.pid_file("alertmanager"),
    )
