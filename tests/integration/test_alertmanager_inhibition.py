"""A real Alertmanager with the generated configuration: the inhibition rules mute what a
failover, a lost quorum and a down instance explain, and nothing else."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from alerts import alertmanager
from alerts.loader import load_pack
from tests.conftest import INTEGRATION_PORTS, wait_for
from testsupport.waiting import answers_200

BINARY = "/usr/bin/prometheus-alertmanager"
PORT = INTEGRATION_PORTS + 800
URL = f"http://127.0.0.1:{PORT}"
CLUSTER = "dimension_DBClusterIdentifier"
INSTANCE = "dimension_DBInstanceIdentifier"


def request(path: str, body: object | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(  # noqa: S310 - our own Alertmanager on loopback
        URL + path, data=data, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=5) as response:  # noqa: S310
        text = response.read()
    return json.loads(text) if text else None


def ready() -> bool:
    return answers_200(URL + "/-/ready", timeout=1)


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    if shutil.which(BINARY) is None:
        pytest.fail(f"{BINARY} is missing: install the Debian package 'prometheus-alertmanager'")
    root = tmp_path_factory.mktemp("alertmanager")
    config = root / "alertmanager.yml"
    webhook = f"http://127.0.0.1:{PORT + 1}/webhook"  # nothing listens: delivery is not tested
    config.write_text(yaml.safe_dump(alertmanager.config(webhook, load_pack()), sort_keys=True))
    argv = alertmanager.argv(BINARY, config, root / "data", "127.0.0.1", PORT)
    with (root / "log").open("w") as log:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(ready, timeout=30, what="Alertmanager ready")
        yield
    finally:
        process.terminate()
        process.wait(timeout=10)


def alert(name: str, **labels: str) -> dict[str, object]:
    return {"labels": {"alertname": name, "alarm_state": "ALARM", **labels}}


def inhibited(names: set[str]) -> dict[str, bool]:
    """alertname+instance -> inhibited, once all `names` are known to Alertmanager."""

    def states() -> dict[str, bool] | None:
        found = {
            f"{a['labels']['alertname']}@{a['labels'].get(INSTANCE, '')}": bool(
                a["status"]["inhibitedBy"]
            )
            for a in request("/api/v2/alerts")
        }
        return found if names <= set(found) else None

    return wait_for(states, timeout=15, what=f"alerts {sorted(names)}")


def test_failover_mutes_the_per_instance_alarms_it_explains(running: None) -> None:
    request(
        "/api/v2/alerts",
        [
            alert("BorealisWriterFailover", **{CLUSTER: "f1"}),
            alert("AuroraWriterDown", **{CLUSTER: "f1", "dimension_Role": "WRITER"}),
            alert("BorealisInstanceDown", **{CLUSTER: "f1", INSTANCE: "f1-a"}),
            alert("AuroraCPUUtilizationHigh", **{CLUSTER: "other", INSTANCE: "o-a"}),
        ],
    )
    states = inhibited(
        {
            "BorealisWriterFailover@",
            "AuroraWriterDown@",
            "BorealisInstanceDown@f1-a",
            "AuroraCPUUtilizationHigh@o-a",
        }
    )
    assert states["BorealisWriterFailover@"] is False
    assert states["AuroraWriterDown@"] is True
    assert states["BorealisInstanceDown@f1-a"] is True
    assert states["AuroraCPUUtilizationHigh@o-a"] is False  # another cluster


def test_quorum_lost_mutes_degraded_and_instance_down_mutes_its_alarms(running: None) -> None:
    request(
        "/api/v2/alerts",
        [
            alert("BorealisStorageQuorumLost", **{CLUSTER: "q1"}),
            alert("BorealisStorageQuorumDegraded", **{CLUSTER: "q1"}),
            alert("BorealisInstanceDown", **{CLUSTER: "q2", INSTANCE: "q2-a"}),
            alert("AuroraDeadlocks", **{CLUSTER: "q2", INSTANCE: "q2-a"}),
            alert("AuroraDatabaseConnectionsHigh", **{CLUSTER: "q2", INSTANCE: "q2-b"}),
        ],
    )
    states = inhibited(
        {
            "BorealisStorageQuorumDegraded@",
            "BorealisInstanceDown@q2-a",
            "AuroraDeadlocks@q2-a",
            "AuroraDatabaseConnectionsHigh@q2-b",
        }
    )
    assert states["BorealisStorageQuorumDegraded@"] is True
    assert states["BorealisInstanceDown@q2-a"] is False
    assert states["AuroraDeadlocks@q2-a"] is True
    assert states["AuroraDatabaseConnectionsHigh@q2-b"] is False  # another instance


def test_alertmanager_listens_on_loopback_only(running: None) -> None:
    status = request("/api/v2/status")
    assert status["cluster"]["status"] == "disabled"
    assert Path(BINARY).exists()
