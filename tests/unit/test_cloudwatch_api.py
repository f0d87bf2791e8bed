"""The CloudWatch-compatible API without metrics: the alarm operations and the protocol's
errors, with boto3 (and raw requests where boto3 would refuse to send them) against the
real app served by waitress. The read side is in tests/integration/test_cloudwatch_api.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
import yaml
from botocore.exceptions import ClientError

from alerts.cloudwatch import CLUSTER_DIMENSION
from alerts.cloudwatch_api import run, start_service
from alerts.cloudwatch_api.expressions import evaluate
from alerts.cloudwatch_api.series import DIMENSION_LABELS, UNITS, catalogue
from core.httpapi import ApiError, HttpServer
from core.settings import Settings
from tests.conftest import PORT_BASE, cloudwatch_client, wait_for

TARGET = "GraniteServiceVersion20100801."
NOWHERE = "http://127.0.0.1:9"  # no Prometheus: the alarm side does not need one


@pytest.fixture
def api() -> Iterator[HttpServer]:
    server = start_service(port=0, prometheus_url=NOWHERE)
    yield server
    server.stop()


@pytest.fixture
def cloudwatch(api: HttpServer) -> Any:
    return cloudwatch_client(api.url)


def put_cpu_alarm(cloudwatch: Any, name: str, **extra: Any) -> None:
    request = {
        "AlarmName": name,
        "Namespace": "AWS/RDS",
        "MetricName": "CPUUtilization",
        "Dimensions": [{"Name": "DBInstanceIdentifier", "Value": "db1"}],
        "Statistic": "Average",
        "Period": 60,
        "EvaluationPeriods": 5,
        "DatapointsToAlarm": 3,
        "Threshold": 90.0,
        "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "notBreaching",
        "AlarmActions": ["default"],
        **extra,
    }
    cloudwatch.put_metric_alarm(**{k: v for k, v in request.items() if v is not None})


def code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def raw(api: HttpServer, operation: str, body: bytes) -> tuple[int, Message, Any]:
    request = urllib.request.Request(  # noqa: S310 (a local test server)
        f"{api.url}/",
        data=body,
        method="POST",
        headers={
            "X-Amz-Target": TARGET + operation,
            "Content-Type": "application/x-amz-json-1.0",
            "x-amzn-query-mode": "true",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.headers, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, json.loads(exc.read())


# --- alarms ----------------------------------------------------------------------------------


def test_put_describe_and_filter_alarms(cloudwatch: Any) -> None:
    put_cpu_alarm(cloudwatch, "cpu-high-db1")
    put_cpu_alarm(cloudwatch, "cpu-high-db2", ExtendedStatistic="p90", Statistic=None)
    put_cpu_alarm(cloudwatch, "lag", MetricName="AuroraReplicaLag", Threshold=1000.0)
    cloudwatch.put_composite_alarm(
        AlarmName="cpu-everywhere",
        AlarmRule='ALARM("cpu-high-db1") AND (ALARM(cpu-high-db2) OR NOT OK(lag))',
    )
    alarms = cloudwatch.describe_alarms()
    assert [a["AlarmName"] for a in alarms["MetricAlarms"]] == [
        "cpu-high-db1",
        "cpu-high-db2",
        "lag",
    ]
    assert alarms["CompositeAlarms"] == []  # only metric alarms unless AlarmTypes says so
    first = alarms["MetricAlarms"][0]
    assert first["StateValue"] == "INSUFFICIENT_DATA"
    assert first["DatapointsToAlarm"] == 3
    assert first["Threshold"] == 90.0
    assert first["AlarmArn"].endswith(":alarm:cpu-high-db1")
    assert first["Dimensions"] == [{"Name": "DBInstanceIdentifier", "Value": "db1"}]
    assert isinstance(first["AlarmConfigurationUpdatedTimestamp"], datetime)
    assert alarms["MetricAlarms"][1]["ExtendedStatistic"] == "p90"

    prefixed = cloudwatch.describe_alarms(AlarmNamePrefix="cpu-", AlarmTypes=["CompositeAlarm"])
    assert [a["AlarmName"] for a in prefixed["CompositeAlarms"]] == ["cpu-everywhere"]
    named = cloudwatch.describe_alarms(AlarmNames=["lag", "missing"])
    assert [a["AlarmName"] for a in named["MetricAlarms"]] == ["lag"]

    cloudwatch.set_alarm_state(AlarmName="lag", StateValue="ALARM", StateReason="test")
    in_alarm = cloudwatch.describe_alarms(StateValue="ALARM")
    assert [a["AlarmName"] for a in in_alarm["MetricAlarms"]] == ["lag"]
    assert in_alarm["MetricAlarms"][0]["StateReason"] == "test"


def test_describe_alarms_pages(cloudwatch: Any) -> None:
    for n in range(7):
        put_cpu_alarm(cloudwatch, f"a{n}")
    first = cloudwatch.describe_alarms(MaxRecords=3)
    assert [a["AlarmName"] for a in first["MetricAlarms"]] == ["a0", "a1", "a2"]
    pages = cloudwatch.get_paginator("describe_alarms").paginate(PaginationConfig={"PageSize": 3})
    names = [a["AlarmName"] for page in pages for a in page["MetricAlarms"]]
    assert names == [f"a{n}" for n in range(7)]


def test_alarm_history_records_changes_and_state_transitions(cloudwatch: Any) -> None:
    put_cpu_alarm(cloudwatch, "cpu")
    put_cpu_alarm(cloudwatch, "cpu", Threshold=80.0)  # an update keeps the state
    cloudwatch.set_alarm_state(
        AlarmName="cpu",
        StateValue="ALARM",
        StateReason="Testing the notification",
        StateReasonData=json.dumps({"version": "1.0", "queryDate": "now"}),
    )
    cloudwatch.set_alarm_state(AlarmName="cpu", StateValue="OK", StateReason="done")
    history = cloudwatch.describe_alarm_history(AlarmName="cpu")["AlarmHistoryItems"]
    assert [(h["HistoryItemType"], h["HistorySummary"]) for h in history] == [
        ("StateUpdate", "Alarm updated from ALARM to OK"),
        ("StateUpdate", "Alarm updated from INSUFFICIENT_DATA to ALARM"),
        ("ConfigurationUpdate", 'Alarm "cpu" updated'),
        ("ConfigurationUpdate", 'Alarm "cpu" created'),
    ]
    to_alarm = json.loads(history[1]["HistoryData"])
    assert to_alarm["oldState"]["stateValue"] == "INSUFFICIENT_DATA"
    assert to_alarm["newState"] == {
        "stateValue": "ALARM",
        "stateReason": "Testing the notification",
        "stateReasonData": {"version": "1.0", "queryDate": "now"},
    }
    updated = json.loads(history[2]["HistoryData"])
    assert updated["type"] == "Update"
    assert updated["originalAlarm"]["Threshold"] == 90.0
    assert updated["updatedAlarm"]["Threshold"] == 80.0
    states = cloudwatch.describe_alarm_history(
        AlarmName="cpu", HistoryItemType="StateUpdate", ScanBy="TimestampAscending"
    )["AlarmHistoryItems"]
    assert [h["HistorySummary"] for h in states] == [
        "Alarm updated from INSUFFICIENT_DATA to ALARM",
        "Alarm updated from ALARM to OK",
    ]
    future = datetime.now(UTC) + timedelta(hours=1)
    assert cloudwatch.describe_alarm_history(StartDate=future)["AlarmHistoryItems"] == []


def test_delete_alarms_all_or_nothing(cloudwatch: Any) -> None:
    put_cpu_alarm(cloudwatch, "one")
    put_cpu_alarm(cloudwatch, "two")
    with pytest.raises(ClientError) as exc:
        cloudwatch.delete_alarms(AlarmNames=["one", "nope"])
    assert code(exc) == "ResourceNotFound"
    assert len(cloudwatch.describe_alarms()["MetricAlarms"]) == 2
    cloudwatch.delete_alarms(AlarmNames=["one", "two"])
    assert cloudwatch.describe_alarms()["MetricAlarms"] == []
    deleted = cloudwatch.describe_alarm_history(AlarmName="one")["AlarmHistoryItems"][0]
    assert deleted["HistorySummary"] == 'Alarm "one" deleted'


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"Statistic": None}, "InvalidParameterCombination"),
        ({"ExtendedStatistic": "p90"}, "InvalidParameterCombination"),
        ({"Statistic": None, "ExtendedStatistic": "p200"}, "InvalidParameterValue"),
        ({"Period": 45}, "InvalidParameterValue"),
        ({"Period": None}, "MissingParameter"),
        ({"Threshold": None}, "MissingParameter"),
        ({"DatapointsToAlarm": 6}, "InvalidParameterValue"),
        ({"AlarmActions": [f"r{n}" for n in range(6)]}, "InvalidParameterValue"),
        ({"Unit": "Parsecs"}, "InvalidParameterValue"),
    ],
)
def test_put_metric_alarm_refuses_bad_definitions(
    cloudwatch: Any, change: dict[str, Any], expected: str
) -> None:
    with pytest.raises(ClientError) as exc:
        put_cpu_alarm(cloudwatch, "bad", **change)
    assert code(exc) == expected
    assert cloudwatch.describe_alarms()["MetricAlarms"] == []


@pytest.mark.parametrize(
    "rule", ['ALARM("a") AND', "ALARM(a) OK(b)", "(ALARM(a)", "ALARM(a))", "MAYBE(a)", "NOT"]
)
def test_put_composite_alarm_refuses_bad_rules(cloudwatch: Any, rule: str) -> None:
    with pytest.raises(ClientError) as exc:
        cloudwatch.put_composite_alarm(AlarmName="c", AlarmRule=rule)
    assert code(exc) in ("InvalidParameterValue", "ValidationError")


def test_set_alarm_state_errors(cloudwatch: Any) -> None:
    with pytest.raises(ClientError) as exc:
        cloudwatch.set_alarm_state(AlarmName="ghost", StateValue="ALARM", StateReason="x")
    assert code(exc) == "ResourceNotFound"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    put_cpu_alarm(cloudwatch, "cpu")
    with pytest.raises(ClientError) as exc:
        cloudwatch.set_alarm_state(
            AlarmName="cpu", StateValue="ALARM", StateReason="x", StateReasonData="{not json"
        )
    assert code(exc) == "InvalidFormat"
    assert cloudwatch.describe_alarms()["MetricAlarms"][0]["StateValue"] == "INSUFFICIENT_DATA"


# --- the protocol ----------------------------------------------------------------------------


def test_unknown_operation(api: HttpServer) -> None:
    status, headers, body = raw(api, "PutDashboard", b"{}")
    assert status == 400
    assert body["__type"] == "InvalidAction"
    assert headers["x-amzn-query-error"] == "InvalidAction;Sender"
    assert headers["Content-Type"] == "application/x-amz-json-1.0"


def test_wrong_types_missing_parameters_and_bad_json(api: HttpServer) -> None:
    status, headers, body = raw(
        api, "SetAlarmState", json.dumps({"AlarmName": "a", "StateValue": "PURPLE"}).encode()
    )
    assert (status, body["__type"]) == (400, "InvalidParameterValue")
    assert "StateValue" in body["message"]
    status, headers, body = raw(api, "DeleteAlarms", b"{}")
    assert (status, body["__type"]) == (400, "MissingParameter")
    assert headers["x-amzn-query-error"] == "MissingParameter;Sender"
    status, _, body = raw(
        api,
        "GetMetricStatistics",
        json.dumps(
            {
                "Namespace": "AWS/RDS",
                "MetricName": "CPUUtilization",
                "StartTime": 0,
                "EndTime": 60,
                "Period": "sixty",
                "Statistics": ["Average"],
            }
        ).encode(),
    )
    assert (status, body["__type"]) == (400, "InvalidParameterValue")
    assert "Period" in body["message"]
    status, _, body = raw(api, "DescribeAlarms", b"{not json")
    assert status == 400
    status, _, body = raw(api, "DescribeAlarms", b"[1, 2]")
    assert (status, body["__type"]) == (400, "InvalidParameterValue")


def test_metrics_store_down_is_an_internal_error_not_a_crash(cloudwatch: Any) -> None:
    with pytest.raises(ClientError) as exc:
        cloudwatch.list_metrics(Namespace="AWS/RDS")
    assert code(exc) == "InternalServiceError"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    put_cpu_alarm(cloudwatch, "still-serving")  # the service carries on


# --- metric math ----------------------------------------------------------------------------


def test_metric_math() -> None:
    a = {0: 1.0, 60: 2.0, 120: 4.0}
    b = {60: 0.0, 120: 2.0}
    assert evaluate("a + b * 2", {"a": a, "b": b}) == {60: 2.0, 120: 8.0}
    assert evaluate("a / b", {"a": a, "b": b}) == {120: 2.0}  # no datapoint for 2 / 0
    assert evaluate("-(a - 3)", {"a": a}) == {0: 2.0, 60: 1.0, 120: -1.0}
    assert evaluate("ABS(a - 3)", {"a": a}) == {0: 2.0, 60: 1.0, 120: 1.0}
    assert evaluate("AVG([a, b])", {"a": a, "b": b}) == {0: 1.0, 60: 1.0, 120: 3.0}
    assert evaluate("2 * 3 - 1", {}) == 5.0
    for bad in ("a +", "a b", "FOO(a)", "1 / 0", "(a"):
        with pytest.raises(ApiError):
            evaluate(bad, {"a": a})


# --- the AWS CLI ----------------------------------------------------------------------------

AWS = Path(sys.executable).with_name("aws")


@pytest.mark.skipif(not AWS.exists(), reason="awscli is a test dependency (pyproject.toml)")
def test_the_aws_cli_manages_alarms(api: HttpServer) -> None:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "borealis",
        "AWS_SECRET_ACCESS_KEY": "borealis",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }

    def aws(*args: str) -> subprocess.CompletedProcess[str]:
        command = [str(AWS), "cloudwatch", *args, "--endpoint-url", api.url, "--output", "json"]
        return subprocess.run(
            command, check=False, env=env, capture_output=True, text=True, timeout=60
        )

    made = aws(
        "put-metric-alarm",
        *("--alarm-name", "cli-cpu", "--namespace", "AWS/RDS", "--metric-name", "CPUUtilization"),
        *("--dimensions", "Name=DBInstanceIdentifier,Value=db1", "--statistic", "Average"),
        *("--period", "60", "--evaluation-periods", "3", "--datapoints-to-alarm", "2"),
        *("--threshold", "80", "--comparison-operator", "GreaterThanOrEqualToThreshold"),
    )
    assert made.returncode == 0, made.stderr
    assert aws("set-alarm-state", "--alarm-name", "cli-cpu", "--state-value", "ALARM",
               "--state-reason", "drill").returncode == 0  # fmt: skip
    described = json.loads(aws("describe-alarms", "--alarm-names", "cli-cpu").stdout)
    (alarm,) = described["MetricAlarms"]
    assert (alarm["StateValue"], alarm["DatapointsToAlarm"], alarm["Threshold"]) == (
        "ALARM",
        2,
        80.0,
    )
    missing = aws("delete-alarms", "--alarm-names", "nope")
    assert missing.returncode == 255
    assert "(ResourceNotFound)" in missing.stderr


# --- the series the API reads are the ones the recording rules write ------------------------


def test_every_series_the_api_reads_is_recorded_with_its_dimension_labels() -> None:
    rules_file = Path(__file__).parents[2] / "alerts/generated/cloudwatch-recording.yml"
    rules = yaml.safe_load(rules_file.read_text())["groups"][0]["rules"]
    recorded = {rule["record"]: rule["expr"] for rule in rules}
    for metric in catalogue().values():
        assert metric.unit in UNITS, metric.name
        for level, name in metric.samples.items():
            assert name in recorded, name
            labels = DIMENSION_LABELS.values() if level == "instance" else [CLUSTER_DIMENSION]
            for label in labels:
                assert f'"{label}"' in recorded[name], (name, label)
    assert catalogue()["CPUUtilization"].unit == "Percent"
    assert catalogue()["AuroraReplicaLag"].unit == "Milliseconds"
    assert set(catalogue()["VolumeBytesUsed"].samples) == {"cluster"}


# --- the service the supervisor starts -------------------------------------------------------


def test_run_serves_on_ports_cloudwatch_until_stopped(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path)
    settings = replace(
        settings, ports=replace(settings.ports, base=PORT_BASE + 680)
    )  # ports.cloudwatch at +774
    port = settings.ports.port("cloudwatch")
    stop = threading.Event()
    thread = threading.Thread(target=run, args=(settings, stop), daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:  # noqa: S310
            return bool(json.loads(response.read()) == {"status": "ok"})

    wait_for(healthy, 15, what="the cloudwatch service's /healthz")
    client = cloudwatch_client(url)
    assert client.describe_alarms()["MetricAlarms"] == []
    stop.set()
    thread.join(10)
    assert not thread.is_alive()
    again = start_service(port=port, prometheus_url=NOWHERE)  # the port is free again
    again.stop()


def test_an_anomaly_detection_alarm_is_kept_with_its_metrics(cloudwatch: Any) -> None:
    metric = {
        "Namespace": "AWS/RDS",
        "MetricName": "DBLoad",
        "Dimensions": [{"Name": "DBInstanceIdentifier", "Value": "db1"}],
    }
    cloudwatch.put_metric_alarm(
        AlarmName="load-anomaly",
        EvaluationPeriods=3,
        ComparisonOperator="GreaterThanUpperThreshold",
        ThresholdMetricId="band",
        Metrics=[
            {"Id": "m1", "MetricStat": {"Metric": metric, "Period": 60, "Stat": "Average"}},
            {"Id": "band", "Expression": "ANOMALY_DETECTION_BAND(m1, 2)"},
        ],
    )
    (alarm,) = cloudwatch.describe_alarms(AlarmNames=["load-anomaly"])["MetricAlarms"]
    assert alarm["ThresholdMetricId"] == "band"
    assert [m["Id"] for m in alarm["Metrics"]] == ["m1", "band"]
    assert alarm["Metrics"][0]["MetricStat"]["Metric"] == metric
    with pytest.raises(ClientError) as exc:  # a band operator needs the band's Id
        cloudwatch.put_metric_alarm(
            AlarmName="no-band",
            EvaluationPeriods=3,
            ComparisonOperator="LessThanLowerThreshold",
            Metrics=[{"Id": "m1", "MetricStat": {"Metric": metric, "Period": 60, "Stat": "p90"}}],
        )
    assert code(exc) == "MissingParameter"
