"""Where a CloudWatch metric lives in Prometheus: the catalogue of AWS/RDS metric names and
units, the one function mapping (MetricName, Statistic, Dimensions, Period) to PromQL, and a
small client of Prometheus' HTTP API.

The raw datapoints of a metric are its samples, `instance:aws_rds_<metric>:10s` (and
`cluster:...` for cluster metrics: see alerts.cloudwatch), recorded every 5 s in CloudWatch's
dimension labels. A Period's statistic is taken over the samples inside it, so any Period,
Sum, SampleCount and percentiles come from the same series as the 1-minute rules."""

from __future__ import annotations

import functools
import json
import math
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from alerts.cloudwatch import (
    CLUSTER_DIMENSION,
    CLUSTER_METRICS,
    INSTANCE_DIMENSION,
    INSTANCE_METRICS,
    ROLE_DIMENSION,
    sample_name,
)
from core.httpapi import ApiError

NAMESPACE = "AWS/RDS"
# CloudWatch dimension name -> the Prometheus label holding it
DIMENSION_LABELS = {
    "DBInstanceIdentifier": INSTANCE_DIMENSION,
    "DBClusterIdentifier": CLUSTER_DIMENSION,
    "Role": ROLE_DIMENSION,
}
LABEL_DIMENSIONS = {label: name for name, label in DIMENSION_LABELS.items()}
STATISTICS = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")
UNITS = frozenset(  # StandardUnit
    {
        "Seconds",
        "Microseconds",
        "Milliseconds",
        "Bytes",
        "Kilobytes",
        "Megabytes",
        "Gigabytes",
        "Terabytes",
        "Bits",
        "Kilobits",
        "Megabits",
        "Gigabits",
        "Terabits",
        "Percent",
        "Count",
        "Bytes/Second",
        "Kilobytes/Second",
        "Megabytes/Second",
        "Gigabytes/Second",
        "Terabytes/Second",
        "Bits/Second",
        "Kilobits/Second",
        "Megabits/Second",
        "Gigabits/Second",
        "Terabits/Second",
        "Count/Second",
        "None",
    }
)
PERCENTILE = re.compile(r"^p(\d{1,2}(\.\d{1,10})?|100(\.0{1,10})?)$")


@dataclass(frozen=True)
class MetricInfo:
    """An AWS/RDS metric: its unit and its sample series per level (instance, cluster)."""

    name: str
    unit: str
    samples: dict[str, str]  # level -> sample series name


@functools.cache
def catalogue() -> dict[str, MetricInfo]:
    """Every AWS/RDS metric Borealis records, by CloudWatch name."""
    found: dict[str, MetricInfo] = {}
    for level, metrics in (("instance", INSTANCE_METRICS), ("cluster", CLUSTER_METRICS)):
        for metric in metrics:
            info = found.setdefault(metric.name, MetricInfo(metric.name, metric.unit, {}))
            info.samples[level] = sample_name(metric, level)
    return found


@functools.cache
def by_sample_name() -> dict[str, tuple[MetricInfo, str]]:
    """Sample series name -> (metric, level)."""
    return {s: (m, level) for m in catalogue().values() for level, s in m.samples.items()}


def is_percentile(statistic: str) -> bool:
    return PERCENTILE.match(statistic) is not None


def _matchers(dimensions: dict[str, str]) -> str:
    parts = [f'{DIMENSION_LABELS[k]}="{_escape(v)}"' for k, v in sorted(dimensions.items())]
    return "{" + ",".join(parts) + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def statistic_query(
    metric: MetricInfo, statistic: str, dimensions: dict[str, str], window_ms: int
) -> str | None:
    """PromQL for `statistic` of `metric` over the `window_ms` before each evaluation time,
    for the series `dimensions` select; None when no such series can exist (a dimension
    CloudWatch does not publish for this metric).

    - DBInstanceIdentifier (with or without the others): that instance's samples;
    - DBClusterIdentifier alone, for a cluster metric: the cluster's samples;
    - DBClusterIdentifier (+ Role), or nothing: the samples of every instance selected,
      pooled as if one metric (Average = sum / count over all of them).
    Percentiles of pooled samples are the percentile of the instances' percentiles."""
    if any(name not in DIMENSION_LABELS for name in dimensions):
        return None
    if set(dimensions) == {"DBClusterIdentifier"} and "cluster" in metric.samples:
        series = metric.samples["cluster"]
    elif "instance" in metric.samples:
        series = metric.samples["instance"]
    elif not dimensions:
        series = metric.samples["cluster"]
    else:
        return None
    selector = f"{series}{_matchers(dimensions)}[{window_ms}ms]"
    if statistic == "Average":
        return f"sum(sum_over_time({selector})) / sum(count_over_time({selector}))"
    if statistic == "Sum":
        return f"sum(sum_over_time({selector}))"
    if statistic == "SampleCount":
        return f"sum(count_over_time({selector}))"
    if statistic == "Maximum":
        return f"max(max_over_time({selector}))"
    if statistic == "Minimum":
        return f"min(min_over_time({selector}))"
    if is_percentile(statistic):
        q = float(statistic[1:]) / 100
        return f"quantile({q}, quantile_over_time({q}, {selector}))"
    raise ValueError(f"unknown statistic {statistic}")


# --- Prometheus' HTTP API ------------------------------------------------------------------


class PrometheusReader:
    """The queries this API needs, over Prometheus' HTTP API (`/api/v1/...`)."""

    def __init__(
        self, url: str, timeout: float = 30, headers: Mapping[str, str] | None = None
    ) -> None:
        self.url = url.rstrip("/")
        self.headers = dict(headers or {})  # Authorization when the stack's auth is on
        self.timeout = timeout

    def _get(self, path: str, params: list[tuple[str, str]]) -> Any:
        query = urllib.parse.urlencode(params)
        try:
            request = urllib.request.Request(  # noqa: S310 (our own Prometheus, http)
                f"{self.url}{path}?{query}", headers=self.headers
            )
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                body = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:300]
            raise ApiError(500, "InternalServiceError", f"metric store refused: {detail}") from None
        except (OSError, ValueError) as exc:
            raise ApiError(
                500, "InternalServiceError", f"metric store unavailable: {exc}"
            ) from None
        return body["data"]

    def query_range(self, expr: str, start: float, end: float, step: float) -> dict[float, float]:
        """One series' values by evaluation time (the expressions here aggregate to one)."""
        data = self._get(
            "/api/v1/query_range",
            [
                ("query", expr),
                ("start", f"{start:.3f}"),
                ("end", f"{end:.3f}"),
                ("step", f"{step:g}"),
            ],
        )
        values: dict[float, float] = {}
        for result in data["result"]:
            for at, value in result["values"]:
                number = float(value)
                if math.isfinite(number):
                    values[round(float(at), 3)] = number
        return values

    def instant(self, expr: str) -> list[dict[str, Any]]:
        """An instant query's vector: each result's `metric` labels and `value` pair."""
        result: list[dict[str, Any]] = self._get("/api/v1/query", [("query", expr)])["result"]
        return result

    def series(self, match: str, start: float, end: float) -> list[dict[str, str]]:
        params = [("match[]", match), ("start", f"{start:.3f}"), ("end", f"{end:.3f}")]
        result: list[dict[str, str]] = self._get("/api/v1/series", params)
        return result
