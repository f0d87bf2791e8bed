"""Prometheus for the stack: generated configuration, rule files, the service spec.

No `--web.enable-lifecycle`: it would let any local user POST /-/quit. The stack reloads
Prometheus with SIGHUP to the pid in its pid file (borealis/alarm_reload.py)."""

from __future__ import annotations

from pathlib import Path

import yaml

from alerts.loader import AlarmSet
from alerts.publish import rule_texts, tool_beside, write_rules
from alerts.store import AlarmStore
from borealis.services import ServiceSpec
from borealis.webconfig import client_basic_auth, write_web_config
from core.paths import StatePaths
from core.settings import RemoteWriteSettings, Settings
from core.webauth import internal_header


def remote_write(remote: RemoteWriteSettings) -> list[dict[str, object]]:
    """Prometheus' `remote_write` section from the settings (empty without a URL)."""
    if remote.url is None:
        return []
    entry: dict[str, object] = {
        "url": remote.url,
        "queue_config": {
            "capacity": remote.capacity,
            "max_shards": remote.max_shards,
            "max_samples_per_send": remote.max_samples_per_send,
            "batch_send_deadline": f"{round(remote.batch_send_deadline_s * 1000)}ms",
        },
    }
    if remote.basic_auth_username:
        entry["basic_auth"] = {
            "username": remote.basic_auth_username,
            "password_file": remote.basic_auth_password_file,
        }
    if remote.bearer_token_file:
        entry["authorization"] = {"type": "Bearer", "credentials_file": remote.bearer_token_file}
    if remote.headers:
        entry["headers"] = dict(remote.headers)
    return [entry]


def config(settings: Settings, rule_dir: Path) -> dict[str, object]:
    host = settings.listen_host
    interval = f"{settings.prometheus.scrape_interval_s:g}s"
    # The stack's collector, Prometheus itself and Alertmanager ask for it when auth is on.
    auth = client_basic_auth(settings)
    login: dict[str, object] = {} if auth is None else {"basic_auth": auth}
    document: dict[str, object] = {
        "global": {
            "scrape_interval": interval,
            "scrape_timeout": interval,
            "evaluation_interval": f"{settings.prometheus.evaluation_interval_s:g}s",
        },
        "rule_files": [str(rule_dir / "*.yml")],
        "alerting": {
            "alertmanagers": [
                {
                    "static_configs": [
                        {"targets": [f"{host}:{settings.ports.port('alertmanager')}"]}
                    ],
                    **login,
                }
            ]
        },
        "scrape_configs": [
            {
                "job_name": "borealis",
                "static_configs": [
                    {"targets": [f"{host}:{settings.ports.port('collector')}"]},
                ],
                **login,
            },
            {
                "job_name": "prometheus",
                "scrape_interval": "15s",
                "static_configs": [{"targets": [f"{host}:{settings.ports.port('prometheus')}"]}],
                **login,
            },
        ],
    }
    remote = remote_write(settings.prometheus.remote_write)
    if remote:
        document["remote_write"] = remote
    return document


def rule_dir(paths: StatePaths) -> Path:
    return paths.prometheus / "rules"


def config_path(paths: StatePaths) -> Path:
    return paths.prometheus / "prometheus.yml"


def write_alarm_rules(settings: Settings, paths: StatePaths, alarms: AlarmSet) -> None:
    """The rule files of `alarms` (pack and user) and the generated recordings, checked
    with promtool before they replace the old ones."""
    promtool = tool_beside(settings.prometheus.binary, "promtool")
    write_rules(rule_dir(paths), rule_texts(alarms), promtool).commit()


def prepare(settings: Settings, paths: StatePaths) -> Path:
    """Write prometheus.yml and the rule files (generated recordings, pack and user alarms
    compiled); return the config path."""
    write_alarm_rules(settings, paths, AlarmStore(paths.root).alarms())
    path = config_path(paths)
    path.write_text(yaml.safe_dump(config(settings, rule_dir(paths)), sort_keys=True))
    return path


def service(settings: Settings, paths: StatePaths) -> ServiceSpec:
    config_file = prepare(settings, paths)
    web_config = write_web_config(settings, paths.prometheus)
    host = settings.listen_host
    port = settings.ports.port("prometheus")
    return ServiceSpec(
        name="prometheus",
        argv=[
            settings.prometheus.binary,
            f"--config.file={config_file}",
            f"--storage.tsdb.path={paths.prometheus / 'data'}",
            f"--storage.tsdb.retention.time={settings.prometheus.retention}",
            f"--web.listen-address={host}:{port}",
            *([f"--web.config.file={web_config}"] if web_config else []),
        ],
        headers=internal_header(settings),
        url=f"http://{host}:{port}",
        health_path="/-/ready",
        log_file=paths.service_log("prometheus"),
        pid_file=paths.pid_file("prometheus"),
    )
