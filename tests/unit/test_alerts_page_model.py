"""The Alerts page's shaping: alarm, history, inbox and silence rows, the editor's form and
the anomaly band figure."""

from __future__ import annotations

from typing import Any

import pytest

from dashboards.data import Series
from dashboards.pages.alerts.model import (
    FormError,
    alarm_form,
    alarm_request,
    alarm_rows,
    band_figure,
    band_metric,
    condition,
    history_rows,
    notification_rows,
    silence_rows,
)

CPU_ALARM: dict[str, Any] = {
    "AlarmName": "WriterCPUHigh",
    "AlarmDescription": "busy",
    "Namespace": "AWS/RDS",
    "MetricName": "CPUUtilization",
    "Dimensions": [
        {"Name": "DBClusterIdentifier", "Value": "c1"},
        {"Name": "Role", "Value": "WRITER"},
    ],
    "Statistic": "Average",
    "Period": 60,
    "EvaluationPeriods": 5,
    "DatapointsToAlarm": 3,
    "Threshold": 80.0,
    "ComparisonOperator": "GreaterThanThreshold",
    "TreatMissingData": "breaching",
    "StateValue": "ALARM",
    "StateReason": "Threshold Crossed",
    "StateUpdatedTimestamp": 1796294400.0,  # 2026-12-03 10:40:00 UTC
}
BAND_ALARM: dict[str, Any] = {
    "AlarmName": "CommitsOdd",
    "ComparisonOperator": "LessThanLowerOrGreaterThanUpperThreshold",
    "EvaluationPeriods": 3,
    "ThresholdMetricId": "ad1",
    "Metrics": [
        {
            "Id": "m1",
            "MetricStat": {
                "Metric": {"Namespace": "AWS/RDS", "MetricName": "CommitThroughput"},
                "Period": 60,
                "Stat": "Average",
            },
        },
        {"Id": "ad1", "Expression": "ANOMALY_DETECTION_BAND(m1, 2)"},
    ],
    "StateValue": "OK",
}


def test_condition_reads_as_the_alarm_does() -> None:
    assert condition(CPU_ALARM) == "CPUUtilization Average > 80 (3 of 5 x 60 s)"
    assert condition({"AlarmRule": "ALARM(a) AND OK(b)"}) == "ALARM(a) AND OK(b)"
    assert "ANOMALY_DETECTION_BAND(m1, 2)" in condition(BAND_ALARM)


def test_alarm_rows_by_name_with_the_name_as_row_id() -> None:
    rows = alarm_rows([CPU_ALARM, BAND_ALARM, {"AlarmName": "Both", "AlarmRule": "TRUE"}])
    assert [(r["id"], r["Type"], r["State"]) for r in rows] == [
        ("Both", "composite", ""),
        ("CommitsOdd", "metric", "OK"),
        ("WriterCPUHigh", "metric", "ALARM"),
    ]
    assert rows[2]["Since"] == "2026-12-03 10:40:00"


def test_history_merges_api_and_webhook_newest_first() -> None:
    api = [
        {
            "Timestamp": 1796294400.0,
            "HistoryItemType": "ConfigurationUpdate",
            "HistorySummary": "created",
        }
    ]
    webhook = [
        {
            "Timestamp": "2026-12-03T10:41:00+00:00",
            "HistoryItemType": "StateUpdate",
            "HistorySummary": "Alarm updated from OK to ALARM",
        }
    ]
    rows = history_rows(api, webhook)
    assert [(r["Source"], r["When"]) for r in rows] == [
        ("webhook", "2026-12-03 10:41:00"),
        ("CloudWatch API", "2026-12-03 10:40:00"),
    ]


def test_inbox_rows_name_the_alarm_and_count_alerts() -> None:
    note = {
        "receivedAt": "2026-12-03T10:42:00+00:00",
        "status": "firing",
        "receiver": "borealis",
        "groupLabels": {"alertname": "WriterCPUHigh"},
        "commonAnnotations": {},
        "alerts": [{"annotations": {"summary": "CPU is high"}}, {"annotations": {}}],
    }
    older = {**note, "receivedAt": "2026-12-03T10:00:00+00:00", "status": "resolved"}
    rows = notification_rows([older, note])
    assert rows[0] == {
        "Received": "2026-12-03 10:42:00",
        "Status": "firing",
        "Alarm": "WriterCPUHigh",
        "Alerts": "2",
        "Receiver": "borealis",
        "Summary": "CPU is high",
    }
    assert rows[1]["Status"] == "resolved"


def test_silences_active_first_with_their_matchers() -> None:
    def silence(sid: str, state: str, starts: str) -> dict[str, Any]:
        return {
            "id": sid,
            "status": {"state": state},
            "matchers": [{"name": "alertname", "value": "X", "isRegex": False, "isEqual": True}],
            "startsAt": starts,
            "endsAt": starts,
            "comment": "c",
            "createdBy": "me",
        }

    rows = silence_rows(
        [
            silence("old", "expired", "2026-12-03T09:00:00Z"),
            silence("a1", "active", "2026-12-03T08:00:00Z"),
            silence("a2", "active", "2026-12-03T10:00:00Z"),
        ]
    )
    assert [r["id"] for r in rows] == ["a2", "a1", "old"]
    assert rows[0]["Matchers"] == "alertname=X"


def test_the_form_round_trips_an_alarm() -> None:
    form = alarm_form(CPU_ALARM)
    assert form["threshold"] == "80"
    assert form["dimensions"] == "DBClusterIdentifier=c1, Role=WRITER"
    request = alarm_request(form)
    for field in ("AlarmName", "Namespace", "MetricName", "Dimensions", "Statistic", "Period"):
        assert request[field] == CPU_ALARM[field]
    assert request["Threshold"] == 80
    assert request["DatapointsToAlarm"] == 3


def test_the_form_leaves_validation_to_the_api() -> None:
    # Empty fields are left out (the API says what is missing); a number that is not one is
    # sent as typed (the API says why it is wrong).
    request = alarm_request({"name": " A ", "threshold": "lots", "period": "", "statistic": None})
    assert request == {"AlarmName": "A", "Threshold": "lots"}
    assert alarm_request({"threshold": "0.5"})["Threshold"] == 0.5
    with pytest.raises(FormError, match="'Role' is not Name=Value"):
        alarm_request({"dimensions": "DBClusterIdentifier=c1, Role"})


def test_band_metric_is_the_query_the_band_names() -> None:
    assert band_metric(BAND_ALARM) == BAND_ALARM["Metrics"][0]["MetricStat"]
    assert band_metric(CPU_ALARM) is None


def test_band_figure_shades_between_lower_and_upper_under_the_metric() -> None:
    labels = {"alarm_name": "CommitsOdd", "db_instance": "i-1"}
    upper = [Series({"__name__": "alarm:anomaly_band:upper", **labels}, (1.0, 2.0), (5.0, 6.0))]
    lower = [Series({"__name__": "alarm:anomaly_band:lower", **labels}, (1.0, 2.0), (1.0, 2.0))]
    fig = band_figure("CommitsOdd", ([1.0, 2.0], [3.0, 9.0]), upper, lower)
    assert [t.name for t in fig.data] == ["band lower", "band upper", "metric"]
    assert fig.data[1].fill == "tonexty"
    assert list(fig.data[2].y) == [3.0, 9.0]
    empty = band_figure("CommitsOdd", ([], []), [], [], unavailable="Prometheus down")
    assert [a.text for a in empty.layout.annotations] == ["Prometheus down"]
