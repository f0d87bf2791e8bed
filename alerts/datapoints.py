"""From an alarm's metric, dimensions and statistic to its datapoints in PromQL.

A datapoint is the statistic over one Period, at the period boundaries CloudWatch uses
(multiples of the Period since the epoch): a subquery ``D[range:Period]`` evaluates ``D`` at
exactly those instants, and ``D`` is ``<stat>_over_time(sample[...])`` over the period that
just ended, ``[start, end)``: the statistic of the samples recorded in that period.
"""

from __future__ import annotations

from dataclasses import dataclass

from alerts.cloudwatch import CLUSTER_DIMENSION, INSTANCE_DIMENSION, ROLE_DIMENSION
from alerts.model import WILDCARD, Dimension, StandardStatistic, percentile_of
from alerts.sources import AWS_RDS, BOREALIS, DIMENSION_LABELS, Level, MetricSource, catalog

ROLES = ("WRITER", "READER")
OVER_TIME = {
    StandardStatistic.AVERAGE: "avg_over_time",
    StandardStatistic.MAXIMUM: "max_over_time",
    StandardStatistic.MINIMUM: "min_over_time",
}
# How a role aggregate (DBClusterIdentifier + Role) combines its instances' datapoints.
ACROSS = {
    StandardStatistic.AVERAGE: "avg",
    StandardStatistic.MAXIMUM: "max",
    StandardStatistic.MINIMUM: "min",
    StandardStatistic.SUM: "sum",
    StandardStatistic.SAMPLE_COUNT: "sum",
}


def number(value: float) -> str:
    """A float exactly as PromQL reads it back (no rounding, unlike `:g`)."""
    text = repr(float(value))
    return text.removesuffix(".0") if "e" not in text else text


def promql_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True)
class Target:
    """Where an alarm's datapoints come from and which labels tell its series apart."""

    source: MetricSource
    matchers: tuple[str, ...]
    group: tuple[str, ...]
    role_aggregate: bool
    wildcard: bool

    @property
    def selector(self) -> str:
        return f"{self.source.sample}{{{', '.join(self.matchers)}}}"

    @property
    def by(self) -> str:
        return ", ".join(self.group)


def resolve(namespace: str, metric_name: str, dimensions: list[Dimension]) -> Target:
    """The series an alarm watches; ValueError names what is wrong."""
    if namespace not in (AWS_RDS, BOREALIS):
        raise ValueError(f"Namespace {namespace!r}: Borealis serves {AWS_RDS} and {BOREALIS}")
    given: dict[str, str] = {}
    for dimension in dimensions:
        if dimension.Name not in DIMENSION_LABELS:
            raise ValueError(
                f"dimension {dimension.Name!r}: use {', '.join(sorted(DIMENSION_LABELS))}"
            )
        if dimension.Name in given:
            raise ValueError(f"dimension {dimension.Name!r} is given twice")
        given[dimension.Name] = dimension.Value
    names = frozenset(given)
    group: tuple[str, ...]
    if names == {"DBInstanceIdentifier"}:
        level, group, role_aggregate = (
            Level.INSTANCE,
            (INSTANCE_DIMENSION, CLUSTER_DIMENSION),
            False,
        )
    elif names == {"DBClusterIdentifier", "Role"}:
        if given["Role"] not in (*ROLES, WILDCARD):
            raise ValueError(f"Role {given['Role']!r}: use WRITER, READER or *")
        level, group, role_aggregate = Level.INSTANCE, (CLUSTER_DIMENSION, ROLE_DIMENSION), True
    elif names == {"DBClusterIdentifier"}:
        level, group, role_aggregate = Level.CLUSTER, (CLUSTER_DIMENSION,), False
    elif not names:
        level, group, role_aggregate = Level.GLOBAL, (), False
    else:
        raise ValueError(
            "Dimensions must be DBInstanceIdentifier; DBClusterIdentifier and Role; "
            "DBClusterIdentifier; or none"
        )
    source = catalog().get((namespace, metric_name, level))
    if source is None:
        raise ValueError(
            f"{namespace} has no metric {metric_name!r} with dimensions "
            f"{', '.join(sorted(names)) or 'none'}"
        )
    # The role aggregates share an instance metric's name; the DBInstanceIdentifier matcher
    # (a name, or `=~".+"` for all) is what keeps an instance alarm to instances.
    matchers = []
    for name, value in sorted(given.items()):
        label = DIMENSION_LABELS[name]
        matcher = '=~".+"' if value == WILDCARD else f"={promql_string(value)}"
        matchers.append(f"{label}{matcher}")
    return Target(source, tuple(matchers), group, role_aggregate, WILDCARD in given.values())


def datapoint(target: Target, stat: str, period: int) -> str:
    """One datapoint of `stat` over the `period` ending now, one series per alarm series."""
    # [start, start + Period): a sample at the boundary opens the next period, as a
    # CloudWatch datapoint's timestamp is its period's start.
    window = f"{target.selector}[{period * 1000 - 1}ms] offset 1ms"
    source = target.source
    combine = "max"  # per instance, cluster or all: the series are one (role may change)
    if source.single_datapoint:
        inner = f"last_over_time({window})"  # one datapoint per 5 minutes: every stat is it
    elif stat in OVER_TIME:
        inner = f"{OVER_TIME[StandardStatistic(stat)]}({window})"
    elif stat == StandardStatistic.SUM:
        # Aurora publishes one datapoint a minute: the Sum over a period is the sum of its
        # 1-minute datapoints; a high-resolution metric's datapoints are its samples.
        inner = (
            f"sum_over_time({window})"
            if source.high_resolution
            else f"avg_over_time({window}) * {number(period / 60)}"
        )
    elif stat == StandardStatistic.SAMPLE_COUNT:
        inner = (
            f"count_over_time({window})"
            if source.high_resolution
            else f"count_over_time({window}) * 0 + {period // 60}"
        )
    else:
        inner = f"quantile_over_time({number(percentile_of(stat))}, {window})"
    if target.role_aggregate:
        # The Average of the instances' averages, as CloudWatch's role aggregates; for a
        # percentile, the largest of the instances' percentiles.
        combine = ACROSS.get(StandardStatistic(stat), "max") if stat in ACROSS else "max"
    return f"{combine} by ({target.by}) ({inner})"


def known(target: Target, known_for_s: int, recorded: str, recorded_name: str) -> str:
    """1 for each of the alarm's series that had a datapoint (`recorded`, the selector of
    its datapoints, whose ``alarm_name`` is `recorded_name`) in the last `known_for_s`, so a
    series gone silent is still evaluated (with no datapoints) until then. When every
    dimension is named, the series the dimensions name is known from the start (so an alarm
    on a metric that never reported is evaluated too, as CloudWatch evaluates it)."""
    seen = f"present_over_time({recorded}[{known_for_s}s])"
    if target.wildcard:
        return seen
    missing = (
        f"absent_over_time({target.selector}[{known_for_s}s])" if target.group else "vector(1)"
    )
    name = promql_string(recorded_name)
    return f'{seen} or label_replace({missing}, "alarm_name", {name}, "", "")'
