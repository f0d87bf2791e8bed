"""CloudWatch metric names as Prometheus recording rules over Borealis' native metrics.

Names follow the CloudWatch exporters (YACE and prometheus/cloudwatch_exporter agree on all
of these): ``aws_rds_<metric_snake>_<statistic>`` with ``dimension_DBInstanceIdentifier``,
``dimension_DBClusterIdentifier`` and ``dimension_Role`` labels, in CloudWatch's own units
(milliseconds for AuroraReplicaLag, percent for CPUUtilization), so dashboards and alerts
written for those exporters work unchanged. The statistic is taken over CloudWatch's
standard 1-minute period.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

NATIVE_LABELS = ("cluster", "db_instance", "role", "az", "job", "instance")
PERIOD = "1m"
SUBQUERY_STEP = "5s"
RATE_WINDOW = "10s"


class Kind(enum.StrEnum):
    GAUGE = "gauge"  # `expr` is an instant value
    RATE = "rate"  # `expr` holds `{window}` where a counter's rate window goes


class Statistic(enum.StrEnum):
    AVERAGE = "Average"
    MAXIMUM = "Maximum"
    MINIMUM = "Minimum"


ALL_STATISTICS = (Statistic.AVERAGE, Statistic.MAXIMUM, Statistic.MINIMUM)


@dataclass(frozen=True)
class CloudWatchMetric:
    name: str
    unit: str
    kind: Kind
    expr: str
    help: str
    statistics: tuple[Statistic, ...] = ALL_STATISTICS


def cloudwatch_snake(name: str) -> str:
    """The exporters' sanitiser: `_` between a lower-case letter or digit and an upper-case
    letter, then lower-case (CPUUtilization -> cpuutilization, DBLoadCPU -> dbload_cpu)."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def series_name(metric: str, statistic: Statistic) -> str:
    return f"aws_rds_{cloudwatch_snake(metric)}_{statistic.value.lower()}"


INSTANCE_METRICS: tuple[CloudWatchMetric, ...] = (
    CloudWatchMetric(
        "AuroraReplicaLag",
        "Milliseconds",
        Kind.GAUGE,
        '1000 * borealis_replica_lag_seconds{role="reader"}',
        "For a reader, how far it lags the writer in applying WAL.",
    ),
    CloudWatchMetric(
        "ReadIOPS",
        "Count/Second",
        Kind.RATE,
        "rate(borealis_blocks_read_total[{window}])",
        "Blocks read from outside shared buffers per second.",
    ),
    CloudWatchMetric(
        "WriteIOPS",
        "Count/Second",
        Kind.RATE,
        "rate(borealis_wal_records_total[{window}])",
        "Log records written per second (Aurora PostgreSQL counts storage write records).",
    ),
    CloudWatchMetric(
        "DBLoad",
        "None",
        Kind.RATE,
        "sum without (wait_event_type, wait_event) "
        "(rate(borealis_db_load_seconds_total[{window}]))",
        "Average active sessions (Performance Insights DB load).",
    ),
    CloudWatchMetric(
        "DBLoadCPU",
        "None",
        Kind.RATE,
        "sum without (wait_event_type, wait_event) "
        '(rate(borealis_db_load_seconds_total{wait_event_type="CPU"}[{window}]))',
        "Average active sessions on CPU.",
    ),
    CloudWatchMetric(
        "DBLoadNonCPU",
        "None",
        Kind.RATE,
        "sum without (wait_event_type, wait_event) "
        '(rate(borealis_db_load_seconds_total{wait_event_type!="CPU"}[{window}]))',
        "Average active sessions waiting on something other than CPU.",
    ),
    CloudWatchMetric(
        "DatabaseConnections",
        "Count",
        Kind.GAUGE,
        "borealis_database_connections",
        "Client connections.",
    ),
    CloudWatchMetric(
        "CommitThroughput",
        "Count/Second",
        Kind.RATE,
        "rate(borealis_xact_commits_total[{window}])",
        "Commits per second.",
    ),
    CloudWatchMetric(
        "Deadlocks",
        "Count/Second",
        Kind.RATE,
        "rate(borealis_deadlocks_total[{window}])",
        "Deadlocks per second.",
    ),
    CloudWatchMetric(
        "EngineUptime",
        "Seconds",
        Kind.GAUGE,
        "time() - borealis_postmaster_start_time_seconds",
        "How long the instance has been running.",
    ),
)


def with_dimensions(expr: str) -> str:
    """Add CloudWatch dimension labels from the native ones, then drop the native ones."""
    e = f'label_replace({expr}, "dimension_DBInstanceIdentifier", "$1", "db_instance", "(.+)")'
    e = f'label_replace({e}, "dimension_DBClusterIdentifier", "$1", "cluster", "(.+)")'
    e = f'label_replace({e}, "dimension_Role", "WRITER", "role", "writer")'
    e = f'label_replace({e}, "dimension_Role", "READER", "role", "reader")'
    return f"max without ({', '.join(NATIVE_LABELS)}) ({e})"


def statistic_expr(metric: CloudWatchMetric, statistic: Statistic) -> str:
    over = {
        Statistic.AVERAGE: "avg_over_time",
        Statistic.MAXIMUM: "max_over_time",
        Statistic.MINIMUM: "min_over_time",
    }[statistic]
    if metric.kind is Kind.RATE:
        if statistic is Statistic.AVERAGE:
            return metric.expr.replace("{window}", PERIOD)
        inner = metric.expr.replace("{window}", RATE_WINDOW)
        return f"{over}(({inner})[{PERIOD}:{SUBQUERY_STEP}])"
    return f"{over}(({metric.expr})[{PERIOD}:{SUBQUERY_STEP}])"


def recording_rules() -> dict[str, object]:
    rules = []
    for metric in INSTANCE_METRICS:
        for statistic in metric.statistics:
            rules.append(
                {
                    "record": series_name(metric.name, statistic),
                    "expr": with_dimensions(statistic_expr(metric, statistic)),
                }
            )
    return {
        "groups": [
            {"name": "borealis-cloudwatch-instance", "interval": "5s", "rules": rules},
        ]
    }
