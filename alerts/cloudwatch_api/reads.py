"""The read side: ListMetrics, GetMetricStatistics, GetMetricData, served from Prometheus
with CloudWatch's period alignment, statistics, units and limits."""

from __future__ import annotations

import base64
import binascii
import json
import math
import time
from typing import Any

from alerts.cloudwatch_api import expressions
from alerts.cloudwatch_api.models import (
    GetMetricDataRequest,
    GetMetricStatisticsRequest,
    ListMetricsRequest,
    MetricDataQuery,
    epoch,
)
from alerts.cloudwatch_api.series import (
    LABEL_DIMENSIONS,
    NAMESPACE,
    STATISTICS,
    UNITS,
    MetricInfo,
    PrometheusReader,
    by_sample_name,
    catalogue,
    is_percentile,
    statistic_query,
)
from core.httpapi import ApiError

MAX_DATAPOINTS = 1440  # GetMetricStatistics' limit per call
LIST_PAGE = 500  # ListMetrics returns up to 500 metrics a call
MAX_STEPS = 10_000  # Prometheus answers at most 11,000 points a series per range query
DAY = 86_400


def bad_value(message: str) -> ApiError:
    return ApiError(400, "InvalidParameterValue", message)


def bad_combination(message: str) -> ApiError:
    return ApiError(400, "InvalidParameterCombination", message)


# --- time ------------------------------------------------------------------------------------


def aligned_start(start: float, now: float) -> int:
    """StartTime rounded down as CloudWatch does: to the minute within 15 days, to 5 minutes
    within 63 days, to the hour before that."""
    age = now - start
    grain = 60 if age < 15 * DAY else 300 if age < 63 * DAY else 3600
    return int(math.floor(start / grain) * grain)


def retained(start: float, now: float, period: int) -> bool:
    """Whether data that old is kept at that Period: CloudWatch keeps periods under a minute
    for 3 hours, 1-minute ones for 15 days, 5-minute ones for 63 days, then 1-hour ones, and
    returns no datapoints for a Period that is not a multiple of what it kept."""
    age = now - start
    kept = 1 if age < 3 * 3600 else 60 if age < 15 * DAY else 300 if age < 63 * DAY else 3600
    return period % kept == 0


def buckets(start: int, end: float, period: int) -> int:
    """How many periods of `period` s from `start` begin before `end` (exclusive)."""
    return max(0, math.ceil((end - start) / period))


def check_period(period: int) -> None:
    if period not in (1, 5, 10, 20, 30) and period % 60 != 0:
        raise bad_value("The parameter Period must be 1, 5, 10, 20, 30, or a multiple of 60.")


def check_times(start: float, end: float) -> None:
    if start >= end:
        raise bad_value("The parameter StartTime must be less than the parameter EndTime.")


def check_unit(unit: str | None) -> None:
    if unit is not None and unit not in UNITS:
        raise bad_value(f"The value {unit} for parameter Unit is not a CloudWatch unit.")


def check_statistic(statistic: str, where: str) -> None:
    if statistic not in STATISTICS and not is_percentile(statistic):
        raise bad_value(
            f"The value {statistic} for parameter {where} is not valid: a statistic is one of "
            f"{', '.join(STATISTICS)} or a percentile p0.0 to p100."
        )


def fetch(
    reader: PrometheusReader,
    metric: MetricInfo,
    *,
    statistic: str,
    dimensions: dict[str, str],
    start: int,
    count: int,
    period: int,
) -> dict[int, float]:
    """The statistic for each period [start + k*period, start + (k+1)*period), k < count,
    that has samples, by period start. Each period is evaluated at its last millisecond
    over a window of period - 1 ms, so a sample belongs to exactly one period."""
    expr = statistic_query(metric, statistic, dimensions, period * 1000 - 1)
    out: dict[int, float] = {}
    if expr is None:
        return out
    for first in range(0, count, MAX_STEPS):
        last = min(count, first + MAX_STEPS) - 1
        eval_first = start + (first + 1) * period - 0.001
        eval_last = start + (last + 1) * period - 0.001
        for at, value in reader.query_range(expr, eval_first, eval_last, period).items():
            out[round(at + 0.001) - period] = value
    return out


def _dimensions(items: list[Any]) -> dict[str, str]:
    return {d.Name: d.Value for d in items}


def _metric(namespace: str | None, name: str) -> MetricInfo | None:
    return catalogue().get(name) if namespace == NAMESPACE else None


# --- ListMetrics -----------------------------------------------------------------------------


def page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def page_offset(token: str | None) -> int:
    if token is None:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise ApiError(400, "InvalidNextToken", "The NextToken is not valid.") from None
    if not isinstance(offset, int) or offset < 0:
        raise ApiError(400, "InvalidNextToken", "The NextToken is not valid.")
    return offset


def present_metrics(reader: PrometheusReader, since: float, now: float) -> list[Any]:
    """(MetricName, ((dimension, value), ...)) of every metric with samples since `since`:
    per instance [DBInstanceIdentifier], per role [DBClusterIdentifier, Role], per cluster
    [DBClusterIdentifier] (cluster metrics), as RDS publishes them."""
    names = by_sample_name()
    match = '{__name__=~"' + "|".join(sorted(names)) + '"}'
    found: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    for labels in reader.series(match, since, now):
        metric, level = names[labels["__name__"]]
        dims = {LABEL_DIMENSIONS[k]: v for k, v in labels.items() if k in LABEL_DIMENSIONS}
        if level == "cluster" and "DBClusterIdentifier" in dims:
            found.add((metric.name, (("DBClusterIdentifier", dims["DBClusterIdentifier"]),)))
            continue
        if "DBInstanceIdentifier" in dims:
            found.add((metric.name, (("DBInstanceIdentifier", dims["DBInstanceIdentifier"]),)))
        if "DBClusterIdentifier" in dims and "Role" in dims:
            role = (("DBClusterIdentifier", dims["DBClusterIdentifier"]), ("Role", dims["Role"]))
            found.add((metric.name, role))
    return sorted(found)


def list_metrics(reader: PrometheusReader, request: ListMetricsRequest) -> dict[str, Any]:
    offset = page_offset(request.NextToken)
    if request.Namespace not in (None, NAMESPACE):
        return {"Metrics": []}
    now = time.time()
    since = now - (3 * 3600 if request.RecentlyActive else 14 * DAY)
    metrics = []
    for name, dims in present_metrics(reader, since, now):
        if request.MetricName is not None and name != request.MetricName:
            continue
        held = dict(dims)
        if any(
            f.Name not in held or (f.Value is not None and held[f.Name] != f.Value)
            for f in request.Dimensions
        ):
            continue
        metrics.append(
            {
                "Namespace": NAMESPACE,
                "MetricName": name,
                "Dimensions": [{"Name": k, "Value": v} for k, v in dims],
            }
        )
    page = metrics[offset : offset + LIST_PAGE]
    out: dict[str, Any] = {"Metrics": page}
    if offset + LIST_PAGE < len(metrics):
        out["NextToken"] = page_token(offset + LIST_PAGE)
    return out


# --- GetMetricStatistics ---------------------------------------------------------------------


def get_metric_statistics(
    reader: PrometheusReader, request: GetMetricStatisticsRequest
) -> dict[str, Any]:
    statistics = request.Statistics or []
    extended = request.ExtendedStatistics or []
    if not statistics and not extended:
        raise ApiError(
            400,
            "MissingParameter",
            "At least one of the parameters Statistics and ExtendedStatistics must be specified.",
        )
    if statistics and extended:
        raise bad_combination(
            "The parameters Statistics and ExtendedStatistics are mutually exclusive."
        )
    for i, statistic in enumerate(statistics, 1):
        if statistic not in STATISTICS:
            raise bad_value(
                f"The value {statistic} for parameter Statistics.member.{i} is not valid."
            )
    for i, statistic in enumerate(extended, 1):
        if not is_percentile(statistic):
            raise bad_value(
                f"The value {statistic} for parameter ExtendedStatistics.member.{i} is not "
                "valid: a percentile is p0.0 to p100."
            )
    check_period(request.Period)
    check_unit(request.Unit)
    start, end = epoch(request.StartTime), epoch(request.EndTime)
    check_times(start, end)
    first = aligned_start(start, time.time())
    count = buckets(first, end, request.Period)
    if count > MAX_DATAPOINTS:
        raise bad_combination(
            f"You have requested up to {count:,} datapoints, which exceeds the limit of "
            f"{MAX_DATAPOINTS:,}. You may reduce the datapoints requested by increasing "
            "Period, or decreasing the time range."
        )
    out: dict[str, Any] = {"Label": request.MetricName, "Datapoints": []}
    metric = _metric(request.Namespace, request.MetricName)
    if metric is None or (request.Unit is not None and request.Unit != metric.unit):
        return out
    if not retained(start, time.time(), request.Period):
        return out
    dims = _dimensions(request.Dimensions)
    points: dict[int, dict[str, Any]] = {}
    for statistic in [*statistics, *extended]:
        values = fetch(
            reader,
            metric,
            statistic=statistic,
            dimensions=dims,
            start=first,
            count=count,
            period=request.Period,
        )
        for at, value in values.items():
            point = points.setdefault(at, {"Timestamp": at})
            if statistic in STATISTICS:
                point[statistic] = value
            else:
                point.setdefault("ExtendedStatistics", {})[statistic] = value
    for at in sorted(points):
        out["Datapoints"].append({**points[at], "Unit": metric.unit})
    return out


# --- GetMetricData ---------------------------------------------------------------------------


def _check_queries(queries: list[MetricDataQuery]) -> None:
    ids = [q.Id for q in queries]
    if len(set(ids)) != len(ids):
        raise ApiError(400, "ValidationError", "The values for parameter Id are not unique.")
    for i, query in enumerate(queries, 1):
        where = f"MetricDataQueries.member.{i}"
        if (query.MetricStat is None) == (query.Expression is None):
            raise ApiError(
                400,
                "ValidationError",
                f"Exactly one of {where}.MetricStat and {where}.Expression must be given.",
            )
        if query.MetricStat is not None:
            check_period(query.MetricStat.Period)
            check_unit(query.MetricStat.Unit)
            check_statistic(query.MetricStat.Stat, f"{where}.MetricStat.Stat")
        else:
            assert query.Expression is not None  # noqa: S101 (checked above)
            unknown = {
                name
                for name in expressions.referenced_ids(query.Expression) - set(ids)
                if name.upper() not in expressions.FUNCTIONS
            }
            if unknown:
                raise ApiError(
                    400,
                    "ValidationError",
                    f"{where}.Expression uses unknown Id {', '.join(sorted(unknown))}.",
                )
    if not any(q.ReturnData for q in queries):
        raise ApiError(400, "ValidationError", "No query has ReturnData set to true.")


def _query_values(
    reader: PrometheusReader, query: MetricDataQuery, start: float, end: float
) -> dict[int, float]:
    stat = query.MetricStat
    assert stat is not None  # noqa: S101 (a MetricStat query)
    metric = _metric(stat.Metric.Namespace, stat.Metric.MetricName)
    if metric is None or (stat.Unit is not None and stat.Unit != metric.unit):
        return {}
    if not retained(start, time.time(), stat.Period):
        return {}
    first = aligned_start(start, time.time())
    count = buckets(first, end, stat.Period)
    dims = _dimensions(stat.Metric.Dimensions)
    return fetch(
        reader,
        metric,
        statistic=stat.Stat,
        dimensions=dims,
        start=first,
        count=count,
        period=stat.Period,
    )


def get_metric_data(reader: PrometheusReader, request: GetMetricDataRequest) -> dict[str, Any]:
    queries = request.MetricDataQueries
    _check_queries(queries)
    offset = page_offset(request.NextToken)
    start, end = epoch(request.StartTime), epoch(request.EndTime)
    check_times(start, end)
    values: dict[str, dict[int, float]] = {}
    pending = [q for q in queries if q.Expression is not None]
    for query in queries:
        if query.MetricStat is not None:
            values[query.Id] = _query_values(reader, query, start, end)
    while pending:  # expressions may use one another, in any order
        ready = [
            q
            for q in pending
            if expressions.referenced_ids(q.Expression or "") & {p.Id for p in pending} == set()
        ]
        if not ready:
            raise ApiError(
                400, "ValidationError", "The expressions refer to one another in a cycle."
            )
        for query in ready:
            result = expressions.evaluate(query.Expression or "", values)
            values[query.Id] = result if isinstance(result, dict) else {}
            pending.remove(query)
    descending = request.ScanBy == "TimestampDescending"
    results: list[dict[str, Any]] = []
    base, page_end, more = 0, offset + request.MaxDatapoints, False
    for query in queries:
        if not query.ReturnData:
            continue
        stamps = sorted(values[query.Id], reverse=descending)
        taken = stamps[max(0, offset - base) : max(0, page_end - base)]
        rest = base + len(stamps) > page_end  # datapoints left for the next page
        base += len(stamps)
        more = more or rest
        label = query.Label or (
            query.MetricStat.Metric.MetricName if query.MetricStat is not None else query.Id
        )
        results.append(
            {
                "Id": query.Id,
                "Label": label,
                "Timestamps": taken,
                "Values": [values[query.Id][t] for t in taken],
                "StatusCode": "PartialData" if rest else "Complete",
                "Messages": [],
            }
        )
    out: dict[str, Any] = {"MetricDataResults": results, "Messages": []}
    if more:
        out["NextToken"] = page_token(offset + request.MaxDatapoints)
    return out
