"""The generated Alertmanager configuration: `amtool check-config` accepts it, and
`amtool config routes test` routes alerts to the receivers their alarms' actions name."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from alerts import alertmanager
from alerts.loader import load_pack, load_texts
from alerts.rules import receivers_label

AMTOOL = "/usr/bin/amtool"
WEBHOOK = "http://127.0.0.1:25496/alertmanager/webhook"
ALARMS = """\
MetricAlarms:
  - AlarmName: cpu
    Namespace: AWS/RDS
    MetricName: CPUUtilization
    Dimensions: [{Name: DBInstanceIdentifier, Value: "*"}]
    Statistic: Average
    Period: 60
    EvaluationPeriods: 3
    Threshold: 90
    ComparisonOperator: GreaterThanThreshold
    AlarmActions: [arn:aws:sns:eu-west-1:123456789012:oncall, audit]
    OKActions: [oncall]
    InsufficientDataActions: [data-team]
"""
EMAIL = {
    "email_configs": [
        {"to": "dba@example.com", "from": "borealis@example.com", "smarthost": "127.0.0.1:25"}
    ]
}


def amtool() -> str:
    path = shutil.which(AMTOOL)
    if path is None:
        pytest.fail(f"{AMTOOL} is missing: install the Debian package 'prometheus-alertmanager'")
    return path


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    alarms = load_texts([("a.yml", ALARMS)])
    config = alertmanager.config(WEBHOOK, alarms, {"audit": EMAIL})
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=True))
    return path


def routes(config_file: Path, *labels: str) -> list[str]:
    result = subprocess.run(
        [amtool(), "config", "routes", "test", f"--config.file={config_file}", *labels],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.split()[0].split(",")


def test_amtool_accepts_the_configuration(config_file: Path) -> None:
    result = subprocess.run(
        [amtool(), "check-config", str(config_file)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_the_default_pack_configuration_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(alertmanager.config(WEBHOOK, load_pack()), sort_keys=True))
    result = subprocess.run(
        [amtool(), "check-config", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_alerts_reach_the_webhook_and_the_receivers_their_actions_name(config_file: Path) -> None:
    # ALARM: the Borealis webhook, oncall (also told of OK: /ok), audit (firing only).
    assert routes(config_file, "alertname=cpu", "borealis_receivers=,oncall/ok,audit,") == [
        "borealis",
        "audit",
        "oncall/ok",
    ]
    assert routes(config_file, "alertname=cpu", "borealis_receivers=,data-team,") == [
        "borealis",
        "data-team",
    ]
    # No actions (or ActionsEnabled false): the Borealis webhook only.
    assert routes(config_file, "alertname=other") == ["borealis"]


def test_receivers_resolve_as_their_alarms_say(config_file: Path) -> None:
    config = yaml.safe_load(config_file.read_text())
    by_name = {r["name"]: r for r in config["receivers"]}
    assert by_name["borealis"]["webhook_configs"] == [
        {"url": WEBHOOK, "max_alerts": 0, "send_resolved": True}
    ]
    assert by_name["oncall/ok"]["webhook_configs"][0]["send_resolved"] is True
    assert by_name["oncall"]["webhook_configs"][0]["send_resolved"] is False
    assert by_name["audit"]["email_configs"][0]["to"] == "dba@example.com"
    assert by_name["audit"]["email_configs"][0]["send_resolved"] is False
    assert config["route"]["group_by"] == ["alertname", "dimension_DBClusterIdentifier"]


def test_the_alarm_labels_name_the_routes() -> None:
    alarm = load_texts([("a.yml", ALARMS)]).metric_alarms[0]
    assert receivers_label(alarm, "ALARM") == ",oncall/ok,audit,"
    assert receivers_label(alarm, "INSUFFICIENT_DATA") == ",data-team,"


def test_argv_keeps_alertmanager_off_the_network(tmp_path: Path) -> None:
    argv = alertmanager.argv(
        "/usr/bin/prometheus-alertmanager", tmp_path / "am.yml", tmp_path, "127.0.0.1", 25493
    )
    assert "--cluster.listen-address=" in argv
    assert "--web.listen-address=127.0.0.1:25493" in argv
