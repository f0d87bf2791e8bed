"""The CloudWatch-compatible API fuzzed with bad shapes, types and sizes: valid requests of
every operation, mutated, against a real (empty) Prometheus, so the read operations reach the
metric store: a 2xx or an AWS-shaped 4xx ({"__type", "message"}), never a 5xx."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from hypothesis import given
from hypothesis import strategies as st

from alerts.cloudwatch_api.app import TARGET_PREFIX, create_app
from tests.binaries import require_binary
from tests.conftest import INTEGRATION_PORTS
from tests.integration.promproc import PrometheusProcess
from tests.unit.fuzz import fuzz
from tests.unit.fuzz.requests import AWS_ERROR_KEYS, HEADER_TEXT, Call, answer, bodies

PORT = INTEGRATION_PORTS + 880
NOW = time.time()
METRIC = {
    "Namespace": "AWS/RDS",
    "MetricName": "CPUUtilization",
    "Dimensions": [{"Name": "DBInstanceIdentifier", "Value": "db1"}],
}
VALID = {
    "ListMetrics": {"Namespace": "AWS/RDS", "MetricName": "CPUUtilization", "Dimensions": []},
    "GetMetricStatistics": {
        **METRIC,
        "StartTime": NOW - 3600,
        "EndTime": NOW,
        "Period": 60,
        "Statistics": ["Average", "Maximum"],
    },
    "GetMetricData": {
        "MetricDataQueries": [
            {"Id": "cpu", "MetricStat": {"Metric": METRIC, "Period": 60, "Stat": "Average"}},
            {"Id": "double", "Expression": "cpu * 2", "Label": "twice"},
        ],
        "StartTime": NOW - 3600,
        "EndTime": NOW,
        "MaxDatapoints": 100,
    },
    "PutMetricAlarm": {
        "AlarmName": "fuzzed",
        **METRIC,
        "Statistic": "Average",
        "Period": 60,
        "EvaluationPeriods": 5,
        "DatapointsToAlarm": 3,
        "Threshold": 90.0,
        "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "notBreaching",
        "AlarmActions": ["default"],
        "Tags": [{"Key": "team", "Value": "db"}],
    },
    "PutCompositeAlarm": {"AlarmName": "both", "AlarmRule": 'ALARM("fuzzed") OR OK("x")'},
    "DescribeAlarms": {"AlarmNames": ["fuzzed"], "StateValue": "OK", "MaxRecords": 10},
    "DescribeAlarmHistory": {"AlarmName": "fuzzed", "StartDate": NOW - 60, "EndDate": NOW},
    "SetAlarmState": {"AlarmName": "fuzzed", "StateValue": "ALARM", "StateReason": "drill"},
    "DeleteAlarms": {"AlarmNames": ["fuzzed"]},
}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    require_binary("prometheus")
    config = {"global": {"scrape_interval": "15s"}, "scrape_configs": []}
    root = Path(tmp_path_factory.mktemp("fuzz-prometheus"))
    with PrometheusProcess.with_config(root, PORT, config) as prometheus:
        yield create_app(prometheus.url)


@st.composite
def cloudwatch_calls(draw: st.DrawFn) -> Call:
    operation = draw(st.sampled_from([*VALID, "NoSuchOperation"]))
    target = draw(st.one_of(st.just(TARGET_PREFIX + operation), HEADER_TEXT))
    headers = {"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.0"}
    if draw(st.booleans()):
        headers["x-amzn-query-mode"] = "true"
    body = draw(bodies(VALID.get(operation, {})))
    method = draw(st.sampled_from(["POST", "POST", "POST", "GET", "DELETE"]))
    return Call(method, draw(st.sampled_from(["/", "/", "/healthz", "/x"])), headers, body)


def test_every_operation_answers_its_valid_request(app: Flask) -> None:
    for operation, body in VALID.items():
        headers = {"X-Amz-Target": TARGET_PREFIX + operation}
        call = Call("POST", "/", headers, json.dumps(body).encode())
        status, reply = answer(app, call, AWS_ERROR_KEYS)
        assert status == 200, (operation, reply)


@fuzz(300)
@given(cloudwatch_calls())
def test_bad_requests_get_an_aws_error_never_a_500(app: Flask, call: Call) -> None:
    answer(app, call, AWS_ERROR_KEYS)
