"""The `remote_write` section Borealis writes into prometheus.yml, from the settings; promtool
accepts the whole generated config."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from borealis import prometheus
from core.paths import StatePaths
from core.settings import load_settings
from tests.binaries import require_binary


def test_no_url_no_remote_write(tmp_path: Path) -> None:
    settings = load_settings(environ={}, overrides={"state_dir": str(tmp_path)})
    assert "remote_write" not in prometheus.config(settings, tmp_path)


def test_basic_auth_headers_and_queue_settings(tmp_path: Path) -> None:
    config = tmp_path / "borealis.yaml"
    config.write_text("prometheus:\n  remote_write:\n    headers: {X-Scope-OrgID: tenant-1}\n")
    settings = load_settings(
        config_file=config,
        environ={
            "BOREALIS_PROMETHEUS__REMOTE_WRITE__URL": "https://mimir.example/api/v1/push",
            "BOREALIS_PROMETHEUS__REMOTE_WRITE__BASIC_AUTH_USERNAME": "tenant-1",
            "BOREALIS_PROMETHEUS__REMOTE_WRITE__BASIC_AUTH_PASSWORD_FILE": "/etc/b/pw",
            "BOREALIS_PROMETHEUS__REMOTE_WRITE__MAX_SHARDS": "8",
            "BOREALIS_PROMETHEUS__REMOTE_WRITE__BATCH_SEND_DEADLINE_S": "2.5",
        },
        overrides={"state_dir": str(tmp_path)},
    )
    (entry,) = prometheus.config(settings, tmp_path)["remote_write"]  # type: ignore[misc]
    assert entry == {
        "url": "https://mimir.example/api/v1/push",
        "basic_auth": {"username": "tenant-1", "password_file": "/etc/b/pw"},
        "headers": {"X-Scope-OrgID": "tenant-1"},
        "queue_config": {
            "capacity": 10000,
            "max_shards": 8,
            "max_samples_per_send": 2000,
            "batch_send_deadline": "2500ms",  # Prometheus durations take no fractions
        },
    }


def test_promtool_accepts_the_generated_config_with_remote_write(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("t\n")
    settings = load_settings(
        environ={},
        overrides={
            "state_dir": str(tmp_path / "state"),
            "prometheus.remote_write.url": "http://127.0.0.1:9/api/v1/write",
            "prometheus.remote_write.bearer_token_file": str(token),
            "prometheus.remote_write.batch_send_deadline_s": 0.25,
        },
    )
    path = prometheus.prepare(settings, StatePaths(settings.state_dir))
    assert yaml.safe_load(path.read_text())["remote_write"][0]["authorization"]["type"] == (
        "Bearer"
    )
    done = subprocess.run(
        [require_binary("promtool"), "check", "config", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
