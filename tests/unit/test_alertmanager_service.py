"""The stack's Alertmanager: its config written under the state directory (accepted by the
real amtool) delivers to this stack's webhook; Prometheus sends alerts to it; 127.0.0.1 only."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from borealis import alertmanager, prometheus
from core.errors import ConfigError
from core.settings import AlertmanagerSettings, Ports, Settings
from tests.binaries import require_binary
from tests.conftest import PORT_BASE, child_env


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


RECEIVERS = """\
dba-email:
  email_configs:
    - to: dba@example.com
      from: borealis@example.com
      smarthost: smtp.example.com:587
      auth_username: borealis@example.com
      auth_password_file: /etc/borealis/smtp-password
oncall-slack:
  slack_configs:
    - api_url_file: /etc/borealis/slack-webhook-url
      channel: "#db-oncall"
"""


def test_a_receivers_file_configures_email_and_slack(tmp_path: Path) -> None:
    receivers = tmp_path / "receivers.yaml"
    receivers.write_text(RECEIVERS)
    settings = Settings(
        state_dir=tmp_path / "state",
        alertmanager=AlertmanagerSettings(receivers_file=str(receivers)),
    )
    config_file = alertmanager.prepare(settings, settings.state_paths())
    document = yaml.safe_load(config_file.read_text())
    by_name = {r["name"]: r for r in document["receivers"]}
    assert by_name["dba-email"]["email_configs"][0]["to"] == "dba@example.com"
    assert by_name["oncall-slack/ok"]["slack_configs"][0]["send_resolved"] is True
    checked = subprocess.run(
        [require_binary("amtool"), "check-config", str(config_file)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize(
    ("text", "where", "reason"),
    [
        ("- a\n- b\n", ":1:", "receiver names"),
        ("ok:\n  email_configs: []\nbad: 3\n", ":3:", "'bad' needs a mapping"),
        ("bad:\n  to: x@example.com\n", ":2:", "'to' must be an integration list"),
        ("bad: [unclosed\n", ":2", ""),
    ],
)
def test_a_bad_receivers_file_names_file_and_line(
    tmp_path: Path, text: str, where: str, reason: str
) -> None:
    receivers = tmp_path / "receivers.yaml"
    receivers.write_text(text)
    with pytest.raises(ConfigError) as raised:
        alertmanager.load_receivers(receivers)
    assert f"{receivers}{where}" in str(raised.value)
    assert reason in str(raised.value)


def test_up_refuses_a_bad_receivers_file_before_it_starts_anything(tmp_path: Path) -> None:
    receivers = tmp_path / "receivers.yaml"
    receivers.write_text("bad: 3\n")
    done = subprocess.run(
        [sys.executable, "-m", "borealis", "up", "--state-dir", str(tmp_path / "state")],
        env=child_env(
            {
                "BOREALIS_ALERTMANAGER__RECEIVERS_FILE": str(receivers),
                "BOREALIS_PORTS__BASE": str(PORT_BASE + 500),
            }
        ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert f"{receivers}:1: receiver 'bad' needs a mapping" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "state" / "alertmanager").exists()
