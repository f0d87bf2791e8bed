"""CloudWatch metric names as Prometheus recording rules over Borealis' native metrics.

Names and labels follow the CloudWatch exporters, so dashboards and alerts written for them
work unchanged: ``aws_rds_<metric_snake>_<statistic_snake>`` (YACE and
prometheus/cloudwatch_exporter agree on these), in CloudWatch's own units (the catalogue is
`alerts.cloudwatch_metrics`). Every statistic YACE and cloudwatch_exporter can export for
AWS/RDS: Average, Maximum, Minimum, Sum and SampleCount, each over CloudWatch's standard
1-minute period, taken over the metric's 10 s values recorded every 5 s
(``instance:aws_rds_*:10s``): 12 datapoints a minute, so Sum = Average x SampleCount.

Labels on every series, as the exporters put them:

- YACE: ``name`` (the resource ARN, ``arn:aws:rds:<region>:<account>:db:<id>`` or
  ``...:cluster:<id>``), ``region``, ``account_id`` and ``dimension_<Name>``;
  ``aws_rds_info`` (value 0) per instance and cluster with ``tag_<key>`` labels;
- cloudwatch_exporter: the dimensions snake-cased (``dbinstance_identifier``,
  ``dbcluster_identifier``, ``role``);
- ``job``: the Prometheus job that scraped the collector.

Three dimension sets, as YACE exports them when configured with them:

- instance: DBInstanceIdentifier, DBClusterIdentifier, Role (WRITER/READER);
- role aggregate: DBClusterIdentifier + Role, under the same series names (Average of the
  instances' averages, Maximum of their maxima, Sum of their sums...): select
  ``{dimension_DBInstanceIdentifier!=""}`` for instances only;
- cluster: DBClusterIdentifier only (VolumeBytesUsed, VolumeReadIOPs, VolumeWriteIOPs,
  AuroraReplicaLagMaximum/Minimum).

Borealis has one region and one account: the constants `REGION` and `ACCOUNT_ID`.
"""

from __future__ import annotations

import re

from alerts.cloudwatch_metrics import (
    ALL_STATISTICS,
    CLUSTER_METRICS,
    INSTANCE_METRICS,
    CloudWatchMetric,
    Kind,
    Statistic,
)

__all__ = [
    "ALL_STATISTICS",
    "CLUSTER_METRICS",
    "INSTANCE_METRICS",
    "CloudWatchMetric",
    "Kind",
    "Statistic",
    "cloudwatch_snake",
    "recording_rules",
    "series_name",
]

REGION = "local-1"
ACCOUNT_ID = "000000000000"
ARN_PREFIX = f"arn:aws:rds:{REGION}:{ACCOUNT_ID}"
STATIC_LABELS = {"region": REGION, "account_id": ACCOUNT_ID}
# Native labels the CloudWatch series do not carry (`job` stays: the scrape job).
NATIVE_LABELS = ("cluster", "db_instance", "role", "az", "instance")
PERIOD = "1m"
SAMPLES_GROUP, SAMPLE_INTERVAL = "borealis-cloudwatch", "5s"
STATISTICS_GROUP, STATISTICS_INTERVAL = "borealis-cloudwatch-statistics", "10s"
RATE_WINDOW = "10s"
BILLING_PERIOD = "5m"
INSTANCE_DIMENSION = "dimension_DBInstanceIdentifier"
CLUSTER_DIMENSION = "dimension_DBClusterIdentifier"
ROLE_DIMENSION = "dimension_Role"
# cloudwatch_exporter's names for the same dimensions.
INSTANCE_LABEL = "dbinstance_identifier"
CLUSTER_LABEL = "dbcluster_identifier"
ROLE_LABEL = "role"
INFO_SERIES = "aws_rds_info"
# Tags Borealis puts on its resources (YACE: `tag_` + the key with `:` as `_`).
TAGS = {"borealis:cluster": "cluster", "borealis:role": "role", "borealis:az": "az"}

OVER_TIME = {
    Statistic.AVERAGE: "avg_over_time",
    Statistic.MAXIMUM: "max_over_time",
    Statistic.MINIMUM: "min_over_time",
    Statistic.SUM: "sum_over_time",
    Statistic.SAMPLE_COUNT: "count_over_time",
}
ACROSS = {
    Statistic.AVERAGE: "avg",
    Statistic.MAXIMUM: "max",
    Statistic.MINIMUM: "min",
    Statistic.SUM: "sum",
    Statistic.SAMPLE_COUNT: "sum",
}


def cloudwatch_snake(name: str) -> str:
    """The exporters' sanitiser: `_` between a lower-case letter or digit and an upper-case
    letter, then lower-case (CPUUtilization -> cpuutilization, DBLoadCPU -> dbload_cpu,
    SampleCount -> sample_count)."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def series_name(metric: str, statistic: Statistic) -> str:
    return f"aws_rds_{cloudwatch_snake(metric)}_{cloudwatch_snake(statistic.value)}"


def _copy(expr: str, target: str, source: str, template: str = "$1") -> str:
    return f'label_replace({expr}, "{target}", "{template}", "{source}", "(.+)")'


def cluster_labels(expr: str, source: str) -> str:
    """Both exporters' cluster labels, and the cluster's ARN as `name`, from `source`."""
    e = expr if source == CLUSTER_DIMENSION else _copy(expr, CLUSTER_DIMENSION, source)
    e = _copy(e, CLUSTER_LABEL, source)
    return _copy(e, "name", source, f"{ARN_PREFIX}:cluster:$1")


def with_dimensions(expr: str) -> str:
    """Add the CloudWatch labels from the native ones, then drop the native ones."""
    e = _copy(expr, INSTANCE_DIMENSION, "db_instance")
    e = _copy(e, INSTANCE_LABEL, "db_instance")
    e = _copy(e, CLUSTER_DIMENSION, "cluster")
    e = _copy(e, CLUSTER_LABEL, "cluster")
    e = _copy(e, "name", "db_instance", f"{ARN_PREFIX}:db:$1")
    e = f'label_replace({e}, "{ROLE_DIMENSION}", "WRITER", "role", "writer")'
    e = f'label_replace({e}, "{ROLE_DIMENSION}", "READER", "role", "reader")'
    e = f"max without ({', '.join(NATIVE_LABELS)}) ({e})"
    return _copy(e, ROLE_LABEL, ROLE_DIMENSION)


def with_cluster_dimension(expr: str) -> str:
    """`expr` is aggregated by cluster and job: keep the job, the cluster as labels."""
    return f"max without (cluster) ({cluster_labels(expr, 'cluster')})"


def sample_name(metric: CloudWatchMetric, level: str) -> str:
    """The intermediate series: the metric's current value every 5 s (10 s rates, the 5 m
    count for billed metrics), already in CloudWatch labels."""
    window = BILLING_PERIOD if metric.kind is Kind.BILLED else RATE_WINDOW
    return f"{level}:aws_rds_{cloudwatch_snake(metric.name)}:{window}"


def sample_expr(metric: CloudWatchMetric, level: str) -> str:
    value = metric.expr.replace("{window}", RATE_WINDOW)
    return with_dimensions(value) if level == "instance" else with_cluster_dimension(value)


def statistic_expr(metric: CloudWatchMetric, statistic: Statistic, level: str) -> str:
    """The statistic over the 1-minute period, from the samples of that minute: no
    label_replace and no subquery at this step (each costs about as much as the rest)."""
    if metric.kind is Kind.BILLED:  # one datapoint per period: every statistic is it
        if statistic is Statistic.SAMPLE_COUNT:
            return f"0 * {sample_name(metric, level)} + 1"
        return sample_name(metric, level)
    return f"{OVER_TIME[statistic]}({sample_name(metric, level)}[{PERIOD}])"


def role_aggregate_expr(instance_expr: str, statistic: Statistic) -> str:
    """The (DBClusterIdentifier, Role) series from the instance series: the Average of the
    instances' averages, the Maximum of their maxima, the Sum of their sums... Its
    label_replace calls run over the few aggregated series only (clusters x roles)."""
    by = f"{CLUSTER_DIMENSION}, {ROLE_DIMENSION}, job"
    aggregate = f"{ACROSS[statistic]} by ({by}) ({instance_expr})"
    return _copy(cluster_labels(aggregate, CLUSTER_DIMENSION), ROLE_LABEL, ROLE_DIMENSION)


def info_rules() -> list[dict[str, object]]:
    """`aws_rds_info` (value 0) for every instance and cluster, as YACE's info series."""
    instances = "max by (cluster, db_instance, role, az, job) (borealis_up)"
    tagged = instances
    for key, label in TAGS.items():
        tagged = _copy(tagged, "tag_" + re.sub(r"[^a-zA-Z0-9_]", "_", key), label)
    instance_info = f"0 * max without ({', '.join(NATIVE_LABELS)}) ("
    instance_info += _copy(tagged, "name", "db_instance", f"{ARN_PREFIX}:db:$1") + ")"
    clusters = "max by (cluster, job) (borealis_up)"
    clusters = _copy(
        _copy(clusters, "name", "cluster", f"{ARN_PREFIX}:cluster:$1"),
        "tag_borealis_cluster",
        "cluster",
    )
    cluster_info = f"0 * max without (cluster) ({clusters})"
    return [
        {
            "record": INFO_SERIES,
            "expr": f"{instance_info} or {cluster_info}",
            "labels": STATIC_LABELS,
        }
    ]


def recording_rules() -> dict[str, object]:
    """Two groups: the samples (`instance:aws_rds_<metric>:10s`, `cluster:...`) every 5 s,
    then one rule per CloudWatch series name every 10 s: the dimension sets of a name are
    joined with `or` (their label sets never collide), so every set comes from the same
    evaluation. The statistics are of 1-minute periods, which CloudWatch publishes once a
    minute: refreshing them every 10 s instead of 5 s halves their cost (most of the rule
    cost at 16 instances) and keeps each one's 12 samples a minute."""
    samples: list[dict[str, object]] = []
    exprs: dict[str, list[str]] = {}
    for level, metrics in (("instance", INSTANCE_METRICS), ("cluster", CLUSTER_METRICS)):
        for metric in metrics:
            samples.append(
                {"record": sample_name(metric, level), "expr": sample_expr(metric, level)}
            )
            for statistic in metric.statistics:
                value = statistic_expr(metric, statistic, level)
                parts = [value]
                if level == "instance":
                    parts.append(role_aggregate_expr(value, statistic))
                exprs.setdefault(series_name(metric.name, statistic), []).extend(parts)
    statistics: list[dict[str, object]] = [
        {"record": name, "expr": " or ".join(parts), "labels": dict(STATIC_LABELS)}
        for name, parts in exprs.items()
    ]
    statistics += info_rules()
    return {
        "groups": [
            {"name": SAMPLES_GROUP, "interval": SAMPLE_INTERVAL, "rules": samples},
            {"name": STATISTICS_GROUP, "interval": STATISTICS_INTERVAL, "rules": statistics},
        ]
    }
