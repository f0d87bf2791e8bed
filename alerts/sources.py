"""The metrics an alarm can watch, and the Prometheus series each one's datapoints come from.

Namespace ``AWS/RDS`` is every CloudWatch metric of `alerts.cloudwatch`: an alarm reads the
metric's samples (``instance:aws_rds_<metric>:10s``, recorded every 5 s) and takes the
statistic over its own Period, so a 5-minute Average or a p90 is computed from the same values
as the 1-minute ``aws_rds_*`` series. Namespace ``Borealis`` holds what CloudWatch has no
metric for (instance and collector health, storage quorum, failovers, authentication
failures); its samples are recorded by `recording_rules` every evaluation (1 s), so its alarms
can use high-resolution periods (10, 20, 30 s).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from alerts.cloudwatch import (
    CLUSTER_DIMENSION,
    CLUSTER_METRICS,
    INSTANCE_DIMENSION,
    INSTANCE_METRICS,
    ROLE_DIMENSION,
    Kind,
    cloudwatch_snake,
    sample_name,
    with_cluster_dimension,
    with_dimensions,
)
from alerts.cloudwatch_metrics import INSTANCE_KEY

AWS_RDS = "AWS/RDS"
BOREALIS = "Borealis"
# The job name under which the supervisor's Prometheus scrapes the collector.
COLLECTOR_JOB = "borealis"
DIMENSION_LABELS = {
    "DBInstanceIdentifier": INSTANCE_DIMENSION,
    "DBClusterIdentifier": CLUSTER_DIMENSION,
    "Role": ROLE_DIMENSION,
}


class Level(enum.StrEnum):
    INSTANCE = "instance"  # dimension labels: instance, cluster, role
    CLUSTER = "cluster"  # dimension label: cluster
    GLOBAL = "global"  # no dimensions


@dataclass(frozen=True)
class MetricSource:
    namespace: str
    name: str
    unit: str
    level: Level
    sample: str  # the series holding the metric's current value
    single_datapoint: bool = False  # one datapoint per 5-minute period (billed metrics)
    high_resolution: bool = False


@dataclass(frozen=True)
class BorealisMetric:
    name: str
    unit: str
    level: Level
    expr: str  # native labels, aggregated to the level (by cluster for CLUSTER)
    help: str


BOREALIS_METRICS: tuple[BorealisMetric, ...] = (
    BorealisMetric(
        "InstanceUp",
        "None",
        Level.INSTANCE,
        "borealis_up",
        "1 while the instance answers the collector's polls, 0 once it has not for "
        "collector.down_after_s.",
    ),
    BorealisMetric(
        "AuthenticationFailures",
        "Count/Second",
        Level.INSTANCE,
        f"sum by ({INSTANCE_KEY}) (rate(borealis_authentication_failures_total[10s]))",
        "Failed authentications per second, every reason (password, unknown role, pg_hba).",
    ),
    BorealisMetric(
        "WriterPromotions",
        "Count",
        Level.CLUSTER,
        "count by (cluster) ("
        "max by (cluster, db_instance) (borealis_instance_is_writer) == 1 "
        "and on (cluster, db_instance) "
        "min by (cluster, db_instance) (min_over_time(borealis_instance_is_writer[10s])) == 0"
        ") or 0 * max by (cluster) (borealis_instance_is_writer)",
        "Instances that became the writer in the last 10 s (a failover or switchover).",
    ),
    BorealisMetric(
        "StorageSegmentsUnavailable",
        "Count",
        Level.CLUSTER,
        "max by (cluster) (borealis_sync_quorum_members - borealis_sync_quorum_available)",
        "Storage segments (synchronous standbys) of the writer's quorum not streaming now.",
    ),
    BorealisMetric(
        "StorageQuorumMet",
        "None",
        Level.CLUSTER,
        "min by (cluster) (borealis_sync_quorum_ok)",
        "1 while enough segments stream for commits to be acknowledged, 0 when commits wait.",
    ),
    BorealisMetric(
        "CollectorUp",
        "None",
        Level.GLOBAL,
        f'min(up{{job="{COLLECTOR_JOB}"}})',
        "1 while Prometheus can scrape the collector.",
    ),
)


def borealis_sample_name(metric: BorealisMetric) -> str:
    return f"{metric.level.value}:borealis_{cloudwatch_snake(metric.name)}:sample"


def borealis_sample_expr(metric: BorealisMetric) -> str:
    if metric.level is Level.INSTANCE:
        return with_dimensions(metric.expr)
    if metric.level is Level.CLUSTER:
        return with_cluster_dimension(metric.expr)
    return metric.expr


def recording_rules() -> dict[str, object]:
    """The samples of the Borealis namespace, every evaluation (no group interval)."""
    rules = [
        {"record": borealis_sample_name(m), "expr": borealis_sample_expr(m)}
        for m in BOREALIS_METRICS
    ]
    return {"groups": [{"name": "borealis-alarm-metrics", "rules": rules}]}


def catalog() -> dict[tuple[str, str, Level], MetricSource]:
    """Every (namespace, metric name, level) an alarm may watch."""
    sources: dict[tuple[str, str, Level], MetricSource] = {}
    for level, metrics in ((Level.INSTANCE, INSTANCE_METRICS), (Level.CLUSTER, CLUSTER_METRICS)):
        for metric in metrics:
            sources[(AWS_RDS, metric.name, level)] = MetricSource(
                AWS_RDS,
                metric.name,
                metric.unit,
                level,
                sample_name(metric, level.value),
                single_datapoint=metric.kind is Kind.BILLED,
            )
    for bm in BOREALIS_METRICS:
        sources[(BOREALIS, bm.name, bm.level)] = MetricSource(
            BOREALIS, bm.name, bm.unit, bm.level, borealis_sample_name(bm), high_resolution=True
        )
    return sources
