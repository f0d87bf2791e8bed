"""Prometheus for the stack: generated configuration, rule files, the service spec."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from alerts.generate import GENERATED
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


def prepare(settings: Settings, paths: StatePaths) -> Path:
    """Write prometheus.yml and copy the generated rule files; return the config path."""
    root = paths.prometheus
    rule_dir = root / "rules"
    rule_dir.mkdir(parents=True, exist_ok=True)
    for old in rule_dir.glob("*.yml"):
        old.unlink()
    for rule_file in GENERATED.glob("*.yml"):
        shutil.copy(rule_file, rule_dir / rule_file.name)
    path = root / "prometheus.yml"
    path.write_text(yaml.safe_dump(config(settings, rule_dir), sort_keys=True))
    return path


def service(settings: Settings, paths: StatePaths) -> ServiceSpec:
    config_path = prepare(settings, paths)
    web_config = write_web_config(settings, paths.prometheus)
    host = settings.listen_host
    port = settings.ports.port("prometheus")
    return ServiceSpec(
        name="prometheus",
        argv=[
            settings.prometheus.binary,
            f"--config.file={config_path}",
            f"--storage.tsdb.path={paths.prometheus / 'data'}",
            f"--storage.tsdb.retention.time={settings.prometheus.retention}",
            f"--web.listen-address={host}:{port}",
            "--web.enable-lifecycle",  # /-/reload, /-/quit: behind basic auth when on
            *([f"--web.config.file={web_config}"] if web_config else []),
        ],
        headers=internal_header(settings),
        url=f"http://{host}:{port}",
        health_path="/-/ready",
        log_file=paths.service_log("prometheus"),
        pid_file=paths.pid_file("prometheus"),
    )
