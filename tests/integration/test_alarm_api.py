"""Alarms through the CloudWatch API with boto3, against a real Prometheus and Alertmanager:
PutMetricAlarm becomes a rule group, DeleteAlarms removes it, a malformed alarm is an AWS
ValidationError that changes nothing, states come from Prometheus, SetAlarmState runs the
alarm's actions through Alertmanager to the receivers, and every change is in the history
and the trail."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from alerts.cloudwatch_api import start_service
from borealis.alarm_reload import cloudwatch_backend
from core.trail import TrailStore
from tests.conftest import cloudwatch_client, wait_for
from tests.integration.alarmstack import AlarmStack, start_alarm_stack

DB1 = [{"Name": "DBInstanceIdentifier", "Value": "db1"}]
PAGER = "arn:aws:sns:us-east-1:123456789012:pager"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AlarmStack]:
    yield from start_alarm_stack(tmp_path_factory.mktemp("alarmapi"))


@pytest.fixture(scope="module")
def cloudwatch(stack: AlarmStack) -> Iterator[Any]:
    server = start_service(
        port=0,
        prometheus_url=stack.url("prometheus"),
        alarms=cloudwatch_backend(stack.settings),
    )
    yield cloudwatch_client(server.url, "alice-key")
    server.stop()


def put(cloudwatch: Any, name: str, **changes: Any) -> None:
    fields: dict[str, Any] = {
        "AlarmName": name,
        "Namespace": "AWS/RDS",
        "MetricName": "CPUUtilization",
        "Dimensions": DB1,
        "Statistic": "Average",
        "Period": 60,
        "EvaluationPeriods": 2,
        "Threshold": 80.0,
        "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "notBreaching",
        "AlarmActions": [PAGER],
        **changes,
    }
    cloudwatch.put_metric_alarm(**fields)


def described(cloudwatch: Any, name: str) -> dict[str, Any] | None:
    found = cloudwatch.describe_alarms(AlarmNames=[name], AlarmTypes=["MetricAlarm"])
    alarms = found["MetricAlarms"]
    return alarms[0] if alarms else None


def code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def test_put_is_a_rule_and_delete_removes_it(cloudwatch: Any, stack: AlarmStack) -> None:
    put(cloudwatch, "api-cpu")
    assert "api-cpu" in stack.alarm_rules()
    assert {"pager", "pager/ok"} <= stack.am_receivers()
    alarm = described(cloudwatch, "api-cpu")
    assert alarm is not None
    assert alarm["Threshold"] == 80.0 and alarm["AlarmActions"] == [PAGER]
    history = cloudwatch.describe_alarm_history(
        AlarmName="api-cpu", HistoryItemType="ConfigurationUpdate"
    )["AlarmHistoryItems"]
    assert [h["HistorySummary"] for h in history] == ['Alarm "api-cpu" created']
    assert json.loads(history[0]["HistoryData"])["createdAlarm"]["MetricName"] == "CPUUtilization"

    cloudwatch.delete_alarms(AlarmNames=["api-cpu"])
    assert "api-cpu" not in stack.alarm_rules()
    assert described(cloudwatch, "api-cpu") is None
    history = cloudwatch.describe_alarm_history(AlarmName="api-cpu", ScanBy="TimestampAscending")[
        "AlarmHistoryItems"
    ]
    assert [h["HistorySummary"] for h in history][-1] == 'Alarm "api-cpu" deleted'
    trail = TrailStore(stack.settings.state_paths().trail_db).records()
    mine = [r for r in trail if "api-cpu" in json.dumps(r["requestParameters"])]
    assert [r["eventName"] for r in mine] == ["PutMetricAlarm", "DeleteAlarms"]
    assert mine[0]["userIdentity"]["userName"] == "alice-key"
    assert mine[0]["userAgent"].startswith("Boto3/")
    assert mine[0]["eventSource"] == "monitoring.amazonaws.com"


def test_a_malformed_alarm_is_a_validation_error_and_changes_nothing(
    cloudwatch: Any, stack: AlarmStack
) -> None:
    store_file = stack.state_dir / "alarms" / "user.yml"
    before_file = store_file.read_text() if store_file.exists() else None
    before_rules = stack.rules()
    with pytest.raises(ClientError) as unknown_metric:
        put(cloudwatch, "api-bad", MetricName="NoSuchMetric")
    assert code(unknown_metric) == "ValidationError"
    assert "NoSuchMetric" in str(unknown_metric.value)
    with pytest.raises(ClientError) as pack:
        put(cloudwatch, "AuroraDeadlocks")
    assert code(pack) == "ValidationError"
    assert "defined in alerts/alarms/activity.yml" in str(pack.value)
    with pytest.raises(ClientError) as pack_delete:
        cloudwatch.delete_alarms(AlarmNames=["AuroraDeadlocks"])
    assert code(pack_delete) == "ValidationError"
    with pytest.raises(ClientError) as missing:
        cloudwatch.delete_alarms(AlarmNames=["api-never-made"])
    assert code(missing) == "ResourceNotFound"
    after_file = store_file.read_text() if store_file.exists() else None
    assert after_file == before_file
    assert stack.rules() == before_rules
    assert described(cloudwatch, "AuroraDeadlocks") is not None  # the pack is listed


def test_states_come_from_prometheus(cloudwatch: Any, stack: AlarmStack) -> None:
    """An alarm naming its instance in full is evaluated from the start: no datapoints and
    notBreaching is OK, as on CloudWatch."""
    put(cloudwatch, "api-state")

    def evaluated() -> dict[str, Any] | None:
        alarm = described(cloudwatch, "api-state")
        return alarm if alarm is not None and alarm["StateValue"] == "OK" else None

    alarm = wait_for(evaluated, 60, what="api-state evaluated OK")
    assert alarm["StateReason"].startswith("Threshold not crossed: CPUUtilization Average > 80")
    prometheus = stack.get("prometheus", '/api/v1/query?query=alarm:state{alarm_name="api-state"}')
    assert prometheus["data"]["result"][0]["value"][1] == "0"
    cloudwatch.delete_alarms(AlarmNames=["api-state"])


def test_set_alarm_state_notifies_the_alarms_receivers(cloudwatch: Any, stack: AlarmStack) -> None:
    put(cloudwatch, "api-drill", AlarmActions=["drill-pager"])
    cloudwatch.set_alarm_state(
        AlarmName="api-drill", StateValue="ALARM", StateReason="testing the pager"
    )
    alarm = described(cloudwatch, "api-drill")
    assert alarm is not None
    assert (alarm["StateValue"], alarm["StateReason"]) == ("ALARM", "testing the pager")

    def delivered() -> list[dict[str, Any]]:
        return [
            n
            for n in stack.inbox.list_notifications()
            if n["receiver"] == "drill-pager"
            and any(a["labels"]["alertname"] == "api-drill" for a in n["alerts"])
        ]

    notice = wait_for(delivered, 30, what="the drill delivered to drill-pager")[0]
    assert not any(a["status"]["inhibitedBy"] for a in stack.alerts())
    assert notice["alerts"][0]["annotations"]["description"] == "testing the pager"
    history = cloudwatch.describe_alarm_history(
        AlarmName="api-drill", HistoryItemType="StateUpdate"
    )
    items = history["AlarmHistoryItems"]
    assert len(items) == 1  # the webhook's record of the same alert is not a second one
    assert json.loads(items[0]["HistoryData"])["newState"]["stateValue"] == "ALARM"
    cloudwatch.set_alarm_state(AlarmName="api-drill", StateValue="OK", StateReason="done")
    cloudwatch.delete_alarms(AlarmNames=["api-drill"])
    with pytest.raises(ClientError) as gone:
        cloudwatch.set_alarm_state(AlarmName="api-drill", StateValue="OK", StateReason="x")
    assert code(gone) == "ResourceNotFound"
