"""The Alerts page's data shaping, pure: alarm, history, inbox and silence rows, the editor's
form to and from a PutMetricAlarm request, and the anomaly band figure."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import plotly.graph_objects as go

from dashboards.data import Series
from dashboards.figures import empty_note

BAND = re.compile(r"ANOMALY_DETECTION_BAND\s*\(\s*(\w+)", re.IGNORECASE)
SILENCE_ORDER = {"active": 0, "pending": 1, "expired": 2}
# The editor's fields: (component suffix, PutMetricAlarm field, kind) in the form's order.
FORM_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("name", "AlarmName", "text"),
    ("description", "AlarmDescription", "text"),
    ("namespace", "Namespace", "text"),
    ("metric", "MetricName", "text"),
    ("dimensions", "Dimensions", "dimensions"),
    ("statistic", "Statistic", "text"),
    ("period", "Period", "number"),
    ("evaluation-periods", "EvaluationPeriods", "number"),
    ("datapoints", "DatapointsToAlarm", "number"),
    ("operator", "ComparisonOperator", "text"),
    ("threshold", "Threshold", "number"),
    ("missing", "TreatMissingData", "text"),
)
STATISTICS = ("Average", "Sum", "Minimum", "Maximum", "SampleCount")
OPERATORS = (
    "GreaterThanThreshold",
    "GreaterThanOrEqualToThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
)
MISSING = ("missing", "notBreaching", "breaching", "ignore")
NAMESPACES = ("AWS/RDS", "Borealis")


def _when(value: Any) -> str:
    """An AWS timestamp (epoch seconds or ISO text) as `YYYY-MM-DD HH:MM:SS` UTC."""
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M:%S")
    return str(value or "")[:19].replace("T", " ")


def condition(alarm: Mapping[str, Any]) -> str:
    """What the alarm watches, in one line: `CPUUtilization Average > 80 (3 of 5 x 60 s)`."""
    if alarm.get("AlarmType") == "CompositeAlarm" or "AlarmRule" in alarm:
        return str(alarm.get("AlarmRule", ""))
    operator = {
        "GreaterThanThreshold": ">",
        "GreaterThanOrEqualToThreshold": ">=",
        "LessThanThreshold": "<",
        "LessThanOrEqualToThreshold": "<=",
    }.get(str(alarm.get("ComparisonOperator")), str(alarm.get("ComparisonOperator", "")))
    n = alarm.get("EvaluationPeriods", "?")
    m = alarm.get("DatapointsToAlarm", n)
    if alarm.get("Metrics"):
        what = "; ".join(
            str(q.get("Expression") or q.get("MetricStat", {}).get("Metric", {}).get("MetricName"))
            for q in alarm["Metrics"]
        )
        return f"{what} {operator} ({m} of {n})"
    statistic = alarm.get("Statistic") or alarm.get("ExtendedStatistic", "")
    threshold = alarm.get("Threshold")
    limit = f"{threshold:g}" if isinstance(threshold, int | float) else "?"
    period = alarm.get("Period", "?")
    return f"{alarm.get('MetricName')} {statistic} {operator} {limit} ({m} of {n} x {period} s)"


def alarm_rows(alarms: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """One row per alarm (its name is the row id), by name: a state change does not move a
    row (the table's selection follows positions); the state is coloured instead."""
    rows = [
        {
            "id": str(a["AlarmName"]),
            "Alarm": str(a["AlarmName"]),
            "Type": "composite" if "AlarmRule" in a else "metric",
            "State": str(a.get("StateValue", "")),
            "Condition": condition(a),
            "Since": _when(a.get("StateUpdatedTimestamp")),
            "Reason": str(a.get("StateReason", "")),
        }
        for a in alarms
    ]
    return sorted(rows, key=lambda r: r["Alarm"])


def history_rows(
    api_items: Sequence[Mapping[str, Any]], webhook_items: Sequence[Mapping[str, Any]]
) -> list[dict[str, str]]:
    """DescribeAlarmHistory's items and the webhook's state changes, newest first, each row
    saying where it comes from."""
    rows = [
        {
            "When": _when(item.get("Timestamp")),
            "Source": source,
            "Type": str(item.get("HistoryItemType", "")),
            "Summary": str(item.get("HistorySummary", "")),
        }
        for source, items in (("CloudWatch API", api_items), ("webhook", webhook_items))
        for item in items
    ]
    return sorted(rows, key=lambda r: r["When"], reverse=True)


def notification_rows(notifications: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """The webhook inbox, newest first: one row per notification Alertmanager delivered."""
    rows = []
    for note in notifications:
        labels = {**note.get("commonLabels", {}), **note.get("groupLabels", {})}
        annotations = note.get("commonAnnotations", {})
        alerts = note.get("alerts", [])
        rows.append(
            {
                "Received": _when(note.get("receivedAt")),
                "Status": str(note.get("status", "")),
                "Alarm": str(labels.get("alertname", "")),
                "Alerts": str(len(alerts)),
                "Receiver": str(note.get("receiver", "")),
                "Summary": str(
                    annotations.get("summary")
                    or next((a.get("annotations", {}).get("summary") for a in alerts), "")
                    or ""
                ),
            }
        )
    return sorted(rows, key=lambda r: r["Received"], reverse=True)


def silence_rows(silences: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Active silences first, then pending, then expired; each newest first."""
    rows = []
    for silence in silences:
        matchers = ", ".join(
            f"{m['name']}{('!' if m.get('isEqual') is False else '')}"
            f"{'=~' if m.get('isRegex') else '='}{m['value']}"
            for m in silence.get("matchers", [])
        )
        rows.append(
            {
                "id": str(silence["id"]),
                "State": str(silence.get("status", {}).get("state", "")),
                "Matchers": matchers,
                "Starts": _when(silence.get("startsAt")),
                "Ends": _when(silence.get("endsAt")),
                "Comment": str(silence.get("comment", "")),
                "Created by": str(silence.get("createdBy", "")),
            }
        )
    rows.sort(key=lambda r: r["Starts"], reverse=True)
    return sorted(rows, key=lambda r: SILENCE_ORDER.get(r["State"], 3))


class FormError(ValueError):
    """The editor's own input (the dimensions' `Name=Value` syntax) cannot be read."""


def _number(text: str) -> Any:
    """A number when `text` is one; else the text itself, for the API to refuse in its
    own words."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def parse_dimensions(text: str) -> list[dict[str, str]]:
    dimensions = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise FormError(f"Dimensions: {item!r} is not Name=Value")
        dimensions.append({"Name": name.strip(), "Value": value.strip()})
    return dimensions


def alarm_request(form: Mapping[str, Any]) -> dict[str, Any]:
    """The PutMetricAlarm request for the editor's fields (by suffix); an empty field is
    left out, so the API says what is missing."""
    request: dict[str, Any] = {}
    for suffix, field, kind in FORM_FIELDS:
        raw = form.get(suffix)
        text = "" if raw is None else str(raw).strip()
        if not text:
            continue
        if kind == "number":
            request[field] = _number(text)
        elif kind == "dimensions":
            request[field] = parse_dimensions(text)
        else:
            request[field] = text
    return request


def alarm_form(alarm: Mapping[str, Any]) -> dict[str, str]:
    """The editor's fields (by suffix) for an existing metric alarm."""
    form = {}
    for suffix, field, kind in FORM_FIELDS:
        value = alarm.get(field)
        if value is None:
            form[suffix] = ""
        elif kind == "dimensions":
            form[suffix] = ", ".join(f"{d['Name']}={d['Value']}" for d in value)
        elif kind == "number" and isinstance(value, float) and value.is_integer():
            form[suffix] = str(int(value))
        else:
            form[suffix] = str(value)
    return form


def band_metric(alarm: Mapping[str, Any]) -> dict[str, Any] | None:
    """The MetricStat an anomaly-detection alarm's band is drawn on (the query its
    ANOMALY_DETECTION_BAND names), or None for any other alarm."""
    queries = alarm.get("Metrics") or []
    for query in queries:
        match = BAND.search(str(query.get("Expression") or ""))
        if match:
            named = next((q for q in queries if q.get("Id") == match.group(1)), None)
            if named and named.get("MetricStat"):
                return dict(named["MetricStat"])
    return None


def _utc(times: Sequence[float]) -> list[datetime]:
    return [datetime.fromtimestamp(t, UTC) for t in times]


def band_figure(
    alarm_name: str,
    metric: tuple[Sequence[float], Sequence[float]],
    upper: Sequence[Series],
    lower: Sequence[Series],
    *,
    unavailable: str | None = None,
) -> go.Figure:
    """The metric as a line, the band (lower..upper) as a shaded area under it."""
    fig = go.Figure()
    for up in upper:
        key = json.dumps({k: v for k, v in up.labels.items() if k != "__name__"}, sort_keys=True)
        low = next(
            (
                s
                for s in lower
                if json.dumps(
                    {k: v for k, v in s.labels.items() if k != "__name__"}, sort_keys=True
                )
                == key
            ),
            None,
        )
        if low is None:
            continue
        fig.add_trace(
            go.Scatter(x=_utc(low.times), y=list(low.values), name="band lower", line={"width": 0})
        )
        fig.add_trace(
            go.Scatter(
                x=_utc(up.times),
                y=list(up.values),
                name="band upper",
                line={"width": 0},
                fill="tonexty",
                fillcolor="rgba(31, 119, 180, 0.2)",
            )
        )
    times, values = metric
    if times:
        fig.add_trace(
            go.Scatter(x=_utc(times), y=list(values), name="metric", line={"color": "#d62728"})
        )
    fig.update_layout(
        title={"text": f"{alarm_name}: metric and anomaly band", "x": 0},
        height=320,
        template="plotly_white",
        margin={"l": 50, "r": 20, "t": 50, "b": 40},
        legend={"orientation": "h", "y": -0.2},
    )
    fig.update_xaxes(type="date", title_text="time (UTC)")
    if not fig.data:
        empty_note(fig, unavailable, "no band yet (it needs an hour of the metric)")
    return fig
