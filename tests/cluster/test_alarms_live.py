"""The default alarm pack in the stack's real Prometheus: every rule evaluates on the real
series, a healthy cluster is OK, and a stopped reader fires BorealisInstanceDown within
seconds and resolves when it is back."""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

import pytest

from alerts.loader import load_pack
from tests.cluster.helpers import a_reader, fault, healthy
from tests.conftest import Stack, wait_for

pytestmark = pytest.mark.cluster


def alarm_groups(stack: Stack) -> list[dict[str, Any]]:
    url = stack.status()["services"]["prometheus"] + "/api/v1/rules"
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310
        groups = json.load(response)["data"]["groups"]
    return [g for g in groups if g["name"].startswith("alarm:")]


def states(stack: Stack, alarm: str) -> dict[str, float]:
    result = stack.prometheus(f'alarm:state{{alarm_name="{alarm}"}}')
    return {
        r["metric"].get("dimension_DBInstanceIdentifier")
        or r["metric"].get("dimension_DBClusterIdentifier", ""): float(r["value"][1])
        for r in result
    }


def test_every_alarm_rule_evaluates_on_the_real_series(stack: Stack) -> None:
    names = {a.AlarmName for a in load_pack().metric_alarms}

    def evaluated() -> list[dict[str, Any]] | None:
        groups = alarm_groups(stack)
        done = all(r["lastEvaluation"] > "2000" for g in groups for r in g["rules"])
        alerts = {r["name"] for g in groups for r in g["rules"] if r["type"] == "alerting"}
        return groups if done and alerts == names else None

    groups = wait_for(evaluated, 60, what="every alarm rule evaluated")
    unhealthy = [
        f"{g['name']}: {r.get('lastError')}"
        for g in groups
        for r in g["rules"]
        if r["health"] != "ok"
    ]
    assert not unhealthy
    instances = {i["id"] for i in stack.status()["instances"]}
    wait_for(
        lambda: set(states(stack, "BorealisInstanceDown")) == instances,
        60,
        what="an InstanceDown state per instance",
    )
    # The shared stack may come from a test that stopped an instance: an alarm returns to OK
    # once its datapoints clear, so wait for that rather than read one moment.
    wait_for(
        lambda: set(states(stack, "BorealisInstanceDown").values()) == {0.0},
        180,
        what="BorealisInstanceDown OK for every instance",
    )
    wait_for(
        lambda: set(states(stack, "BorealisStorageQuorumLost").values()) == {0.0},
        180,
        what="BorealisStorageQuorumLost OK",
    )
    # Two 10-second periods after Prometheus' first scrape of the collector.
    wait_for(lambda: states(stack, "BorealisCollectorDown") == {"": 0.0}, 60, what="collector OK")


def test_a_stopped_reader_fires_instance_down_and_resolves(stack: Stack) -> None:
    healthy(stack)
    reader = a_reader(stack)["id"]
    firing = (
        'ALERTS{alertname="BorealisInstanceDown", alertstate="firing", '
        f'dimension_DBInstanceIdentifier="{reader}"}}'
    )
    started = time.monotonic()
    fault(stack, "stop-instance", reader)
    try:
        wait_for(lambda: stack.prometheus(firing), 30, interval=0.5, what="InstanceDown firing")
        fired_after = time.monotonic() - started
    finally:
        fault(stack, "start-instance", reader)
    wait_for(lambda: not stack.prometheus(firing), 60, interval=0.5, what="InstanceDown resolved")
    assert fired_after < 30
    print(f"BorealisInstanceDown fired {fired_after:.1f} s after stop-instance")
