"""The alarm operations: PutMetricAlarm, PutCompositeAlarm, DescribeAlarms,
DescribeAlarmHistory, DeleteAlarms, SetAlarmState, over an `AlarmBackend`."""

from __future__ import annotations

import json
import re
from typing import Any

from alerts.cloudwatch_api.alarm_models import (
    BAND_OPERATORS,
    DeleteAlarmsRequest,
    DescribeAlarmHistoryRequest,
    DescribeAlarmsRequest,
    PutCompositeAlarmRequest,
    PutMetricAlarmRequest,
    SetAlarmStateRequest,
)
from alerts.cloudwatch_api.alarms import AlarmBackend
from alerts.cloudwatch_api.models import epoch
from alerts.cloudwatch_api.reads import (
    bad_combination,
    bad_value,
    check_period,
    check_unit,
    page_offset,
    page_token,
)
from alerts.cloudwatch_api.series import is_percentile
from core.httpapi import ApiError

RULE_TOKEN = re.compile(
    r'\s*(?:(ALARM|OK|INSUFFICIENT_DATA)\s*\(\s*("[^"]+"|[^()"\s][^()"]*?)\s*\)'
    r"|(TRUE|FALSE)|(AND|OR|NOT)|(\()|(\))|(\S+))"
)


def put_metric_alarm(backend: AlarmBackend, request: PutMetricAlarmRequest) -> dict[str, Any]:
    if request.Metrics:
        if request.MetricName or request.Statistic or request.ExtendedStatistic:
            raise bad_combination(
                "Metrics cannot be given with MetricName, Statistic or ExtendedStatistic."
            )
    else:
        if request.MetricName is None or request.Namespace is None:
            raise missing("MetricName and Namespace (or Metrics)")
        if (request.Statistic is None) == (request.ExtendedStatistic is None):
            raise bad_combination("Exactly one of Statistic and ExtendedStatistic must be given.")
        if request.ExtendedStatistic is not None and not is_percentile(request.ExtendedStatistic):
            raise bad_value(
                f"The value {request.ExtendedStatistic} for parameter ExtendedStatistic is not "
                "valid: a percentile is p0.0 to p100."
            )
        if request.Period is None:
            raise missing("Period")
        check_period(request.Period)
        if request.Period * request.EvaluationPeriods > 7 * 86_400:
            raise bad_value("Period multiplied by EvaluationPeriods must not exceed 7 days.")
    check_unit(request.Unit)
    if request.ComparisonOperator in BAND_OPERATORS:
        if request.ThresholdMetricId is None:
            raise missing("ThresholdMetricId")
    elif request.Threshold is None:
        raise missing("Threshold")
    backend.put(request)
    return {}


def missing(what: str) -> ApiError:
    return ApiError(400, "MissingParameter", f"The parameter {what} must be specified.")


def check_alarm_rule(rule: str) -> None:
    """AlarmRule's grammar: ALARM/OK/INSUFFICIENT_DATA(name), TRUE, FALSE, AND, OR, NOT and
    parentheses, each operand where one belongs."""
    depth, expect_operand = 0, True
    for match in RULE_TOKEN.finditer(rule):
        state, _name, constant, operator, opening, closing, other = match.groups()
        if other:
            raise bad_value(f"AlarmRule: unexpected '{other}' in {rule}")
        if state or constant:
            if not expect_operand:
                raise bad_value(f"AlarmRule: an operator is missing before {match.group().strip()}")
            expect_operand = False
        elif operator == "NOT" or opening:
            if not expect_operand:
                raise bad_value(f"AlarmRule: an operator is missing in {rule}")
            depth += 1 if opening else 0
        elif operator:
            if expect_operand:
                raise bad_value(f"AlarmRule: {operator} needs an operand before it in {rule}")
            expect_operand = True
        elif closing:
            depth -= 1
            if depth < 0 or expect_operand:
                raise bad_value(f"AlarmRule: unbalanced ')' in {rule}")
    if depth != 0 or expect_operand:
        raise bad_value(f"AlarmRule: incomplete rule {rule}")


def put_composite_alarm(backend: AlarmBackend, request: PutCompositeAlarmRequest) -> dict[str, Any]:
    check_alarm_rule(request.AlarmRule)
    backend.put(request)
    return {}


def describe_alarms(backend: AlarmBackend, request: DescribeAlarmsRequest) -> dict[str, Any]:
    if request.AlarmNames and request.AlarmNamePrefix is not None:
        raise bad_combination("AlarmNames and AlarmNamePrefix cannot be given together.")
    offset = page_offset(request.NextToken)
    types = set(request.AlarmTypes or ["MetricAlarm"])
    names = set(request.AlarmNames or [])
    chosen = [
        alarm
        for alarm in backend.describe()
        if alarm["AlarmType"] in types
        and (not names or alarm["AlarmName"] in names)
        and (
            request.AlarmNamePrefix is None
            or alarm["AlarmName"].startswith(request.AlarmNamePrefix)
        )
        and (request.StateValue is None or alarm["StateValue"] == request.StateValue)
        and (
            request.ActionPrefix is None
            or any(a.startswith(request.ActionPrefix) for a in alarm.get("AlarmActions", []))
        )
    ]
    page = chosen[offset : offset + request.MaxRecords]
    out: dict[str, Any] = {
        "MetricAlarms": [_without_type(a) for a in page if a["AlarmType"] == "MetricAlarm"],
        "CompositeAlarms": [_without_type(a) for a in page if a["AlarmType"] == "CompositeAlarm"],
    }
    if offset + request.MaxRecords < len(chosen):
        out["NextToken"] = page_token(offset + request.MaxRecords)
    return out


def _without_type(alarm: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in alarm.items() if k != "AlarmType"}


def describe_alarm_history(
    backend: AlarmBackend, request: DescribeAlarmHistoryRequest
) -> dict[str, Any]:
    offset = page_offset(request.NextToken)
    types = set(request.AlarmTypes or ["MetricAlarm"])
    start = epoch(request.StartDate) if request.StartDate is not None else None
    end = epoch(request.EndDate) if request.EndDate is not None else None
    items = [
        item
        for item in backend.history()
        if item["AlarmType"] in types
        and (request.AlarmName is None or item["AlarmName"] == request.AlarmName)
        and (request.HistoryItemType is None or item["HistoryItemType"] == request.HistoryItemType)
        and (start is None or item["Timestamp"] >= start)
        and (end is None or item["Timestamp"] <= end)
    ]
    if request.ScanBy == "TimestampDescending":
        items.reverse()
    page = items[offset : offset + request.MaxRecords]
    out: dict[str, Any] = {"AlarmHistoryItems": page}
    if offset + request.MaxRecords < len(items):
        out["NextToken"] = page_token(offset + request.MaxRecords)
    return out


def delete_alarms(backend: AlarmBackend, request: DeleteAlarmsRequest) -> dict[str, Any]:
    backend.delete(request.AlarmNames)
    return {}


def set_alarm_state(backend: AlarmBackend, request: SetAlarmStateRequest) -> dict[str, Any]:
    if request.StateReasonData is not None:
        try:
            json.loads(request.StateReasonData)
        except ValueError:
            raise ApiError(400, "InvalidFormat", "StateReasonData is not valid JSON.") from None
    backend.set_state(
        request.AlarmName, request.StateValue, request.StateReason, request.StateReasonData
    )
    return {}
