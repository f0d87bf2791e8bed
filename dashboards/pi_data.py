"""The collector's Performance Insights API as the UI reads it, spoken as boto3 speaks it
(JSON 1.1): every call over one time range (start, end in unix seconds), the period chosen
from the range's length as the PI console does (1, 60, 300 or 3600 s)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dashboards.data import DataUnavailable, Series, _reason

PI_TARGET = "PerformanceInsightsv20180227."
SOURCE = "Performance Insights"
# The periods the PI API takes for a graph, and the most points a graph should hold.
PERIODS = (1, 60, 300, 3600)
MAX_POINTS = 1800
STATS = "db.sql_tokenized.stats."
TOP_SQL_STATS = (
    "calls_per_sec",
    "avg_latency_per_call",
    "rows_per_call",
    "shared_blks_hit_per_call",
    "shared_blks_read_per_call",
)
SQL_ID = "db.sql_tokenized.id"
SQL_STATEMENT = "db.sql_tokenized.statement"
WAIT_EVENT = "db.wait_event.name"


def period_for(seconds: float) -> int:
    """The finest PI period that keeps a graph of `seconds` under MAX_POINTS points."""
    return next((p for p in PERIODS if seconds / p <= MAX_POINTS), PERIODS[-1])


@dataclass(frozen=True)
class Slice:
    """One key of a dimension over a range: its name, its id (a digest's, for SQL), the
    average active sessions it held and, for SQL, its per-call statistics."""

    name: str
    key_id: str
    load: float
    stats: dict[str, float]


class PiClient:
    def __init__(self, base_url: str, headers: Mapping[str, str] | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = dict(headers or {})  # e.g. Authorization when auth is on

    def call(self, operation: str, body: dict[str, Any]) -> Any:
        request = urllib.request.Request(  # noqa: S310 - our own URL
            self.base_url + "/",
            data=json.dumps(body).encode(),
            headers={
                "X-Amz-Target": PI_TARGET + operation,
                "Content-Type": "application/x-amz-json-1.1",
                **self.headers,
            },
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                return json.load(response)
        except urllib.error.HTTPError as exc:
            try:
                message = json.load(exc).get("message", _reason(exc))
            except (ValueError, AttributeError):
                message = _reason(exc)
            raise DataUnavailable(SOURCE, self.base_url, f"{operation}: {message}") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise DataUnavailable(SOURCE, self.base_url, f"{operation}: {_reason(exc)}") from None

    def load_by(
        self,
        identifier: str,
        group: str,
        dimension: str,
        start: float,
        end: float,
        *,
        filter_by: dict[str, str] | None = None,
        limit: int = 10,
    ) -> list[Series]:
        """DB load (AAS) between `start` and `end`, one series per top key of `group`,
        labelled with its `name` (the `dimension`) and `id` (a digest's id for SQL)."""
        query: dict[str, Any] = {
            "Metric": "db.load.avg",
            "GroupBy": {"Group": group, "Limit": limit},
        }
        if filter_by:
            query["Filter"] = filter_by
        answer = self.call(
            "GetResourceMetrics",
            {
                **_range(identifier, start, end),
                "PeriodInSeconds": period_for(end - start),
                "MetricQueries": [query],
            },
        )
        out = []
        for key in answer["MetricList"][1:]:  # the first key is the total
            points = key["DataPoints"]
            dimensions = key["Key"].get("Dimensions", {})
            out.append(
                Series(
                    {"name": dimensions.get(dimension, ""), "id": dimensions.get(SQL_ID, "")},
                    tuple(float(p["Timestamp"]) for p in points),
                    tuple(float(p.get("Value") or 0.0) for p in points),
                )
            )
        return out

    def max_vcpu(self, identifier: str, start: float, end: float) -> float | None:
        answer = self.call(
            "GetResourceMetrics",
            {
                **_range(identifier, start, end),
                "PeriodInSeconds": max(60, period_for(end - start)),
                "MetricQueries": [{"Metric": "os.general.numVCPUs.max"}],
            },
        )
        points = [p for p in answer["MetricList"][0]["DataPoints"] if p.get("Value") is not None]
        return max(float(p["Value"]) for p in points) if points else None

    def slices(
        self,
        identifier: str,
        group: str,
        dimension: str,
        start: float,
        end: float,
        *,
        filter_by: dict[str, str] | None = None,
        limit: int = 25,
    ) -> list[Slice]:
        """The top keys of `group` over the range, heaviest first (DescribeDimensionKeys);
        for SQL with its per-call statistics."""
        body: dict[str, Any] = {
            **_range(identifier, start, end),
            "Metric": "db.load.avg",
            "GroupBy": {"Group": group, "Limit": limit},
        }
        if group == "db.sql_tokenized":
            body["AdditionalMetrics"] = [f"{STATS}{name}.avg" for name in TOP_SQL_STATS]
        if filter_by:
            body["Filter"] = filter_by
        answer = self.call("DescribeDimensionKeys", body)
        return [
            Slice(
                key["Dimensions"].get(dimension, ""),
                key["Dimensions"].get(SQL_ID, ""),
                float(key.get("Total", 0.0)),
                {
                    name.removeprefix(STATS).removesuffix(".avg"): float(value)
                    for name, value in key.get("AdditionalMetrics", {}).items()
                },
            )
            for key in answer["Keys"]
        ]

    def total_load(self, identifier: str, start: float, end: float) -> float:
        """The average active sessions over the range, all waits together."""
        return sum(
            s.load
            for s in self.slices(
                identifier, "db.wait_event_type", "db.wait_event_type.name", start, end
            )
        )

    def statement(self, identifier: str, digest_id: str) -> str:
        """A digest's full tokenized text (GetDimensionKeyDetails)."""
        answer = self.call(
            "GetDimensionKeyDetails",
            {
                "ServiceType": "RDS",
                "Identifier": identifier,
                "Group": "db.sql_tokenized",
                "GroupIdentifier": digest_id,
                "RequestedDimensions": [SQL_STATEMENT],
            },
        )
        for dimension in answer.get("Dimensions", []):
            if dimension.get("Dimension") == SQL_STATEMENT:
                return str(dimension.get("Value", ""))
        return ""

    def sql_stats_over_time(
        self, identifier: str, digest_id: str, start: float, end: float, buckets: int = 12
    ) -> dict[str, Series]:
        """A digest's per-call statistics over the range, in `buckets` steps (one
        DescribeDimensionKeys filtered on the digest per step): statistic -> series."""
        width = (end - start) / buckets
        times: dict[str, list[float]] = {}
        values: dict[str, list[float]] = {}
        for index in range(buckets):
            lower = start + index * width
            found = self.slices(
                identifier,
                "db.sql_tokenized",
                SQL_STATEMENT,
                lower,
                lower + width,
                filter_by={SQL_ID: digest_id},
                limit=1,
            )
            for name, value in (found[0].stats if found else {}).items():
                times.setdefault(name, []).append(lower + width / 2)
                values.setdefault(name, []).append(value)
        return {
            name: Series({"name": name}, tuple(times[name]), tuple(values[name])) for name in times
        }


def _range(identifier: str, start: float, end: float) -> dict[str, Any]:
    """The common part of a PI request over one range."""
    return {"ServiceType": "RDS", "Identifier": identifier, "StartTime": start, "EndTime": end}
