"""Request models of the CloudWatch operations served here, with the service model's field
names (botocore's `cloudwatch/2010-08-01/service-2.json`); unknown fields are ignored."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import Field, field_validator

from core.httpapi import RequestModel

Text = Annotated[str, Field(min_length=1, max_length=255)]
Timestamp = datetime  # JSON 1.0 sends epoch seconds; an ISO 8601 string is accepted too


def epoch(moment: datetime) -> float:
    """Seconds since the epoch; a time without zone is UTC, as AWS reads it."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


class Dimension(RequestModel):
    Name: Text
    Value: Annotated[str, Field(min_length=1, max_length=1024)]


class DimensionFilter(RequestModel):
    Name: Text
    Value: Annotated[str, Field(min_length=1, max_length=1024)] | None = None


def _unique_names(dimensions: list[Dimension]) -> list[Dimension]:
    names = [d.Name for d in dimensions]
    if len(set(names)) != len(names):
        raise ValueError("a dimension name appears twice")
    return dimensions


class MetricSpec(RequestModel):
    Namespace: Text | None = None
    MetricName: Text
    Dimensions: Annotated[list[Dimension], Field(max_length=30)] = []

    _dims = field_validator("Dimensions")(_unique_names)


class ListMetricsRequest(RequestModel):
    Namespace: Text | None = None
    MetricName: Text | None = None
    Dimensions: Annotated[list[DimensionFilter], Field(max_length=10)] = []
    NextToken: str | None = None
    RecentlyActive: Literal["PT3H"] | None = None


class GetMetricStatisticsRequest(RequestModel):
    Namespace: Text
    MetricName: Text
    Dimensions: Annotated[list[Dimension], Field(max_length=30)] = []
    StartTime: Timestamp
    EndTime: Timestamp
    Period: Annotated[int, Field(ge=1)]
    Statistics: Annotated[list[str], Field(min_length=1, max_length=5)] | None = None
    ExtendedStatistics: Annotated[list[str], Field(min_length=1, max_length=10)] | None = None
    Unit: str | None = None

    _dims = field_validator("Dimensions")(_unique_names)


class MetricStatSpec(RequestModel):
    Metric: MetricSpec
    Period: Annotated[int, Field(ge=1)]
    Stat: Text
    Unit: str | None = None


class MetricDataQuery(RequestModel):
    Id: Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[a-z][a-zA-Z0-9_]*$")]
    MetricStat: MetricStatSpec | None = None
    Expression: Annotated[str, Field(min_length=1, max_length=2048)] | None = None
    Label: str | None = None
    ReturnData: bool = True
    Period: Annotated[int, Field(ge=1)] | None = None


class GetMetricDataRequest(RequestModel):
    MetricDataQueries: Annotated[list[MetricDataQuery], Field(min_length=1, max_length=500)]
    StartTime: Timestamp
    EndTime: Timestamp
    NextToken: str | None = None
    ScanBy: Literal["TimestampDescending", "TimestampAscending"] = "TimestampDescending"
    MaxDatapoints: Annotated[int, Field(ge=1)] = 100_800
