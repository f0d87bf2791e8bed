"""The Performance Insights API's requests as pydantic models (aurora-facts §2.7).

Field names are AWS's (`StartTime`, `MetricQueries`, ...) through an alias generator; a request
that does not fit becomes pydantic's `ValidationError`, which the PI API answers with AWS's
`InvalidArgumentException` naming the parameter (core.httpapi). What needs the store or the list
of monitored instances (NotAuthorizedException, unknown statements) stays in collector.pi_query.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    AliasGenerator,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_pascal

from collector.pi_catalog import (
    COUNTERS,
    FILTER_COLUMNS,
    GROUP_COLUMNS,
    GROUPS,
    LOAD_METRICS,
    STAT_METRICS,
    STATISTICS,
    STATS_PREFIX,
    WAIT_EVENT_NAME,
    CounterMetric,
    split_wait_event_name,
)
from core.httpapi import ApiError, RequestModel

PERIODS = (1, 60, 300, 3600, 86400)
MAX_POINTS = 100_000
DEFAULT_GROUP_LIMIT = 10
MAX_GROUP_LIMIT = 25
MAX_TIMESTAMP = 253402300799.0  # 9999-12-31T23:59:59Z
IDENTIFIER = re.compile(r"^[a-zA-Z0-9-]+$")
TOKEN = re.compile(r"^offset-(\d{1,9})$")

INVALID = "InvalidArgumentException"
NOT_AUTHORIZED = "NotAuthorizedException"


class PiError(ApiError):
    """A PI request refused with AWS's error code (400 unless told)."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(status, code, message)


def invalid(message: str) -> PiError:
    return PiError(INVALID, message)


def choose_period(seconds: float) -> int:
    """PI aims at roughly 100-200 points: the period whose count is closest to 150."""
    return min(PERIODS, key=lambda p: abs(math.log(max(seconds / p, 1e-9) / 150)))


def _timestamp(value: Any) -> float:
    """Epoch seconds (a number or a numeric string) or ISO 8601, within years 1970-9999."""
    stamp: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        stamp = float(value)
    elif isinstance(value, str):
        try:
            stamp = float(value)
        except ValueError:
            try:
                stamp = datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
            except ValueError:
                stamp = None
    if stamp is None or not 0 <= stamp <= MAX_TIMESTAMP:  # NaN fails both comparisons
        raise ValueError("must be a timestamp (epoch seconds or ISO 8601, years 1970-9999)")
    return stamp


Timestamp = Annotated[float, BeforeValidator(_timestamp)]


class PiModel(RequestModel):
    model_config = ConfigDict(alias_generator=AliasGenerator(validation_alias=to_pascal))


class GroupSpec(PiModel):
    """A GroupBy or PartitionBy: a dimension group, some of its dimensions, a limit."""

    group: str
    dimensions: list[str] | None = None
    limit: StrictInt | None = Field(None, ge=1, le=MAX_GROUP_LIMIT)

    @field_validator("group")
    @classmethod
    def _known_group(cls, group: str) -> str:
        if group not in GROUPS:
            raise ValueError(f"{group!r} is not valid: use one of {', '.join(GROUPS)}")
        return group

    @model_validator(mode="after")
    def _dimensions_of_the_group(self) -> Self:
        for dimension in self.dimensions or ():
            if dimension not in GROUPS[self.group]:
                raise ValueError(
                    f"Dimension {dimension!r} is not in group {self.group}: use "
                    f"{', '.join(GROUPS[self.group])}"
                )
        return self

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.dimensions or GROUPS[self.group])

    @property
    def columns(self) -> tuple[str, ...]:
        return GROUP_COLUMNS[self.group]


def _filter(spec: dict[str, str]) -> dict[str, str]:
    known = [*FILTER_COLUMNS, WAIT_EVENT_NAME]
    for dimension in spec:
        if dimension not in known:
            raise ValueError(
                f"Cannot filter on {dimension!r}; filterable dimensions: {', '.join(sorted(known))}"
            )
    return spec


Filter = Annotated[dict[str, str], AfterValidator(_filter)]


def filter_columns(spec: dict[str, str] | None) -> list[tuple[str, str]]:
    """(store column, value) pairs of a validated Filter."""
    out: list[tuple[str, str]] = []
    for dimension, value in (spec or {}).items():
        if dimension == WAIT_EVENT_NAME:
            wait_type, event = split_wait_event_name(value)
            out += [("wait_type", wait_type), ("wait_event", event)]
        else:
            out.append((FILTER_COLUMNS[dimension], value))
    return out


def is_load_metric(metric: str) -> bool:
    return metric in (f"{m}.avg" for m in LOAD_METRICS)


def counter_metric(metric: str) -> tuple[CounterMetric, str]:
    """The counter and statistic of `os.*`/`db.*` metric names such as `db.Cache.blks_hit.avg`."""
    base, _, statistic = metric.rpartition(".")
    if base in LOAD_METRICS:
        raise ValueError(f"{metric}: DB load has only the avg statistic ({base}.avg)")
    counter = COUNTERS.get(base)
    if counter is None or statistic not in STATISTICS:
        raise ValueError(
            f"Unknown metric {metric!r}: use db.load.avg, db.sampledload.avg or a counter from "
            "ListAvailableResourceMetrics with .avg, .min, .max or .sum"
        )
    return counter, statistic


def _next_token(token: str | None) -> str | None:
    if token is not None and TOKEN.match(token) is None:
        raise ValueError("is not one this service returned")
    return token


NextToken = Annotated[str | None, AfterValidator(_next_token)]


def token_offset(token: str | None) -> int:
    found = TOKEN.match(token) if token else None
    return int(found.group(1)) if found else 0


# --- what most operations share -------------------------------------------------------------


class ResourceRequest(PiModel):
    service_type: str
    identifier: str = Field(max_length=256)

    @field_validator("service_type")
    @classmethod
    def _rds(cls, service: str) -> str:
        if service != "RDS":
            raise ValueError(f"{service!r} is not supported: use RDS")
        return service

    @field_validator("identifier")
    @classmethod
    def _resource_id(cls, identifier: str) -> str:
        if not IDENTIFIER.match(identifier):
            raise ValueError("must match ^[a-zA-Z0-9-]+$ (the DbiResourceId)")
        return identifier


class TimeRange(PiModel):
    start_time: Timestamp
    end_time: Timestamp
    period_in_seconds: StrictInt | None = None

    @field_validator("period_in_seconds")
    @classmethod
    def _known_period(cls, period: int | None) -> int | None:
        if period is not None and period not in PERIODS:
            raise ValueError(
                f"{period!r} is not valid: use one of {', '.join(str(p) for p in PERIODS)}"
            )
        return period

    @model_validator(mode="after")
    def _a_range_of_periods(self) -> Self:
        if self.start_time >= self.end_time:
            raise ValueError("StartTime must be earlier than EndTime")
        if (self.aligned_end - self.aligned_start) / self.period > MAX_POINTS:
            raise ValueError(
                f"The range holds more than {MAX_POINTS} periods of {self.period} s: "
                "use a longer PeriodInSeconds or a shorter range"
            )
        return self

    @property
    def period(self) -> int:
        return self.period_in_seconds or choose_period(self.end_time - self.start_time)

    @property
    def aligned_start(self) -> int:
        return int(math.floor(self.start_time / self.period) * self.period)

    @property
    def aligned_end(self) -> int:
        return int(math.ceil(self.end_time / self.period) * self.period)


# --- the operations -------------------------------------------------------------------------


class MetricQuery(PiModel):
    metric: str
    group_by: GroupSpec | None = None
    filter: Filter | None = None

    @model_validator(mode="after")
    def _metric(self) -> Self:
        if not is_load_metric(self.metric):
            counter_metric(self.metric)
            if self.group_by is not None or self.filter:
                raise ValueError(
                    f"{self.metric}: GroupBy and Filter apply to db.load and db.sampledload only"
                )
        return self


class GetResourceMetrics(ResourceRequest, TimeRange):
    metric_queries: list[MetricQuery] = Field(min_length=1, max_length=15)
    period_alignment: Literal["END_TIME", "START_TIME"] = "END_TIME"


class DescribeDimensionKeys(ResourceRequest, TimeRange):
    metric: str
    group_by: GroupSpec
    partition_by: GroupSpec | None = None
    filter: Filter | None = None
    additional_metrics: list[str] | None = None
    next_token: NextToken = None
    max_results: StrictInt | None = Field(None, ge=1, le=MAX_GROUP_LIMIT)

    @field_validator("metric")
    @classmethod
    def _load(cls, metric: str) -> str:
        if not is_load_metric(metric):
            raise ValueError("must be db.load.avg or db.sampledload.avg")
        return metric

    @model_validator(mode="after")
    def _stats_need_sql(self) -> Self:
        if not self.additional_metrics:
            return self
        if self.group_by.group not in ("db.sql_tokenized", "db.sql"):
            raise ValueError("AdditionalMetrics need GroupBy db.sql_tokenized (or db.sql)")
        for name in self.additional_metrics:
            stat = name.removeprefix(STATS_PREFIX).removesuffix(".avg")
            if not (name.startswith(STATS_PREFIX) and name.endswith(".avg")) or (
                stat not in STAT_METRICS
            ):
                raise ValueError(
                    f"AdditionalMetrics: {name!r} is not valid: use {STATS_PREFIX}<stat>.avg "
                    f"with <stat> one of {', '.join(sorted(STAT_METRICS))}"
                )
        return self


class GetDimensionKeyDetails(ResourceRequest):
    group: str
    group_identifier: str = Field(min_length=1, max_length=256)
    requested_dimensions: list[str] | None = None

    @field_validator("group")
    @classmethod
    def _has_details(cls, group: str) -> str:
        if group not in ("db.sql", "db.sql_tokenized"):
            raise ValueError(f"{group!r} has no details: use db.sql or db.sql_tokenized")
        return group

    @model_validator(mode="after")
    def _statement_only(self) -> Self:
        for requested in self.requested_dimensions or ():
            if requested not in (self.statement, "statement"):
                raise ValueError(f"RequestedDimensions: {self.group} has only {self.statement}")
        return self

    @property
    def statement(self) -> str:
        return f"{self.group}.statement"


class GetResourceMetadata(ResourceRequest):
    pass


class ListAvailableResourceDimensions(ResourceRequest):
    metrics: list[str] = Field(min_length=1)

    @field_validator("metrics")
    @classmethod
    def _load_metrics(cls, metrics: list[str]) -> list[str]:
        for metric in metrics:
            if metric.removesuffix(".avg") not in LOAD_METRICS:
                raise ValueError(f"{metric!r} has no dimensions: use db.load or db.sampledload")
        return [m.removesuffix(".avg") for m in metrics]


METRIC_TYPES = ("os", "db", "db.sql.stats", "db.sql_tokenized.stats")


class ListAvailableResourceMetrics(ResourceRequest):
    metric_types: list[str] = Field(min_length=1)
    next_token: NextToken = None
    max_results: StrictInt | None = Field(None, ge=1, le=MAX_GROUP_LIMIT)

    @field_validator("metric_types")
    @classmethod
    def _known_types(cls, kinds: list[str]) -> list[str]:
        for kind in kinds:
            if kind not in METRIC_TYPES:
                raise ValueError(f"{kind!r} is not valid: use {', '.join(METRIC_TYPES)}")
        return kinds
