"""The stack's Alertmanager: its config written under the state directory (accepted by the
real amtool) delivers to this stack's webhook; Prometheus sends alerts to it; 127.0.0.1 only."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from borealis import alertmanager, prometheus
from core.settings import Ports, Settings
from tests.binaries import require_binary


def test_config_and_argv(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path / "state", ports=Ports(base=18100))
    paths = settings.state_paths()
    spec = alertmanager.service(settings, paths)
    config_file = tmp_path / "state" / "alertmanager" / "alertmanager.yml"
    document = yaml.safe_load(config_file.read_text())
    urls = [c["url"] for r in document["receivers"] for c in r.get("webhook_configs", [])]
    assert "http://127.0.0.1:18195/webhook" in urls
    assert "--web.listen-address=127.0.0.1:18193" in spec.argv
    assert "--cluster.listen-address=" in spec.argv
    assert f"--storage.path={tmp_path / 'state' / 'alertmanager' / 'data'}" in spec.argv
    assert spec.url == "http://127.0.0.1:18193"
    checked = subprocess.run(
        [require_binary("amtool"), "check-config", str(config_file)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_prometheus_sends_alerts_to_the_stacks_alertmanager(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path, ports=Ports(base=18100, alertmanager=18177))
    document = prometheus.config(settings, tmp_path)
    targets = document["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]  # type: ignore[index]
    assert targets == ["127.0.0.1:18177"]
