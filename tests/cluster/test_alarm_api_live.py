"""An alarm created through boto3 on the real stack fires as one from a file does: the
stack's cloudwatch service stores and compiles it, Prometheus evaluates it on the live
series, Alertmanager delivers it to the receiver its AlarmActions name, and DeleteAlarms
takes it away again."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest

from tests.conftest import Stack, cloudwatch_client, wait_for

pytestmark = pytest.mark.cluster
NAME = "BotoWriterUp"
RECEIVER = "boto-pager"


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310
        return json.load(response)


def test_a_boto3_alarm_fires_and_is_delivered_to_its_action(stack: Stack) -> None:
    services = stack.status()["services"]
    cloudwatch = cloudwatch_client(services["cloudwatch"], "x")
    writer = stack.writer()["id"]
    # Breaching while all is well: the writer is up (InstanceUp 1 >= 1).
    cloudwatch.put_metric_alarm(
        AlarmName=NAME,
        Namespace="Borealis",
        MetricName="InstanceUp",
        Dimensions=[{"Name": "DBInstanceIdentifier", "Value": writer}],
        Statistic="Minimum",
        Period=10,
        EvaluationPeriods=3,
        DatapointsToAlarm=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        AlarmActions=[f"arn:aws:sns:us-east-1:123456789012:{RECEIVER}"],
    )
    try:
        assert NAME in alerting_rules(services["prometheus"])

        def delivered() -> list[dict[str, Any]]:
            notes = get_json(services["webhook"] + "/api/notifications?minutes=10")
            return [
                alert
                for note in notes["Notifications"]
                if note["receiver"] == RECEIVER
                for alert in note["alerts"]
                if alert["labels"].get("alertname") == NAME and alert["status"] == "firing"
            ]

        wait_for(delivered, 90, what=f"{NAME} delivered to {RECEIVER}")

        def in_alarm() -> dict[str, Any] | None:
            found = cloudwatch.describe_alarms(AlarmNames=[NAME])["MetricAlarms"][0]
            return found if found["StateValue"] == "ALARM" else None

        state = wait_for(in_alarm, 60, what=f"{NAME} in ALARM in DescribeAlarms")
        assert state["StateReason"].startswith("Threshold Crossed: InstanceUp Minimum >= 1")
    finally:
        cloudwatch.delete_alarms(AlarmNames=[NAME])
    assert NAME not in alerting_rules(services["prometheus"])


def alerting_rules(prometheus: str) -> set[str]:
    groups = get_json(prometheus + "/api/v1/rules?type=alert")["data"]["groups"]
    return {rule["name"] for group in groups for rule in group["rules"]}
