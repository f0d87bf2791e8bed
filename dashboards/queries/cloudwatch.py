"""The CloudWatch-names set: dashboards over the `aws_rds_*` series only, as a user of a YACE-
or cloudwatch_exporter-based RDS dashboard queries them (the recording rules that make those
series are `alerts.cloudwatch`; a unit test holds the two together)."""

from __future__ import annotations

import re

from dashboards.queries.model import GREEN, ORANGE, RED, Board, Panel, Query

CLOUDWATCH_SCOPE = (
    ("cluster", "dimension_DBClusterIdentifier"),
    ("instance", "dimension_DBInstanceIdentifier"),
    ("role", "dimension_Role"),
)
CLOUDWATCH_SOURCE = "aws_rds_database_connections_average"
MIB, GIB = 2**20, 2**30
# CloudWatch's unit -> Grafana's.
UNITS = {
    "Percent": "percent",
    "Milliseconds": "ms",
    "Seconds": "s",
    "Bytes": "bytes",
    "Bytes/Second": "Bps",
    "Count/Second": "cps",
    "Count": "short",
    "None": "short",
}
LOW_IS_BAD = "low"
MSN = "Memory, storage, network"
NET = (
    100 * MIB,
    500 * MIB,
)  # thresholds where falling below is the trouble (free memory, hit ratio)

# (row, CloudWatch metric, CloudWatch unit, (orange, red)), or (orange, red, LOW_IS_BAD).
Spec = tuple[str, str, str, tuple[float, float] | tuple[float, float, str]]
INSTANCE_PANELS: tuple[Spec, ...] = (
    ("Load", "CPUUtilization", "Percent", (80, 95)),
    ("Load", "DBLoad", "None", (4, 8)),
    ("Load", "DBLoadCPU", "None", (4, 8)),
    ("Load", "DBLoadNonCPU", "None", (4, 8)),
    ("Load", "DBLoadRelativeToNumVCPUs", "None", (1, 2)),
    ("Load", "DatabaseConnections", "Count", (80, 95)),
    ("Load", "CommitThroughput", "Count/Second", (1000, 5000)),
    ("Load", "CommitLatency", "Milliseconds", (10, 50)),
    ("Load", "Deadlocks", "Count/Second", (0.1, 1)),
    ("Load", "EngineUptime", "Seconds", (3600, 300, LOW_IS_BAD)),
    ("Replication", "AuroraReplicaLag", "Milliseconds", (100, 1000)),
    ("Replication", "AuroraReplicaLagMaximum", "Milliseconds", (100, 1000)),
    ("Replication", "AuroraReplicaLagMinimum", "Milliseconds", (100, 1000)),
    ("Replication", "OldestReplicationSlotLag", "Bytes", (GIB, 10 * GIB)),
    ("Replication", "ReplicationSlotDiskUsage", "Bytes", (GIB, 10 * GIB)),
    ("Replication", "TransactionLogsDiskUsage", "Bytes", (GIB, 10 * GIB)),
    ("Replication", "TransactionLogsGeneration", "Bytes/Second", (64 * MIB, 256 * MIB)),
    ("I/O", "ReadIOPS", "Count/Second", (5000, 20000)),
    ("I/O", "WriteIOPS", "Count/Second", (5000, 20000)),
    ("I/O", "ReadLatency", "Seconds", (0.01, 0.05)),
    ("I/O", "WriteLatency", "Seconds", (0.01, 0.05)),
    ("I/O", "ReadThroughput", "Bytes/Second", (64 * MIB, 256 * MIB)),
    ("I/O", "WriteThroughput", "Bytes/Second", (64 * MIB, 256 * MIB)),
    ("I/O", "DiskQueueDepth", "Count", (4, 16)),
    ("I/O", "BufferCacheHitRatio", "Percent", (99, 90, LOW_IS_BAD)),
    ("I/O", "TempStorageIOPS", "Count/Second", (1000, 5000)),
    ("I/O", "TempStorageThroughput", "Bytes/Second", (64 * MIB, 256 * MIB)),
    (MSN, "FreeableMemory", "Bytes", (GIB, 256 * MIB, LOW_IS_BAD)),
    (MSN, "SwapUsage", "Bytes", (256 * MIB, GIB)),
    (MSN, "FreeLocalStorage", "Bytes", (10 * GIB, GIB, LOW_IS_BAD)),
    (MSN, "MaximumUsedTransactionIDs", "Count", (1e9, 1.5e9)),
    (MSN, "NetworkThroughput", "Bytes/Second", NET),
    (MSN, "NetworkReceiveThroughput", "Bytes/Second", NET),
    (MSN, "NetworkTransmitThroughput", "Bytes/Second", NET),
    (MSN, "StorageNetworkThroughput", "Bytes/Second", NET),
    (MSN, "StorageNetworkReceiveThroughput", "Bytes/Second", NET),
    (MSN, "StorageNetworkTransmitThroughput", "Bytes/Second", NET),
)  # fmt: skip
# Published for the cluster only (DBClusterIdentifier), with the statistic a dashboard shows.
CLUSTER_PANELS: tuple[tuple[str, str, str, tuple[float, float]], ...] = (
    ("VolumeBytesUsed", "Bytes", "average", (64 * GIB, 128 * GIB)),
    ("VolumeReadIOPs", "Count", "sum", (1_500_000, 6_000_000)),
    ("VolumeWriteIOPs", "Count", "sum", (1_500_000, 6_000_000)),
    ("AuroraReplicaLagMaximum", "Milliseconds", "average", (100, 1000)),
    ("AuroraReplicaLagMinimum", "Milliseconds", "average", (100, 1000)),
)
# Per role (DBClusterIdentifier + Role): the aggregates YACE exports for that dimension set.
ROLE_PANELS = ("CPUUtilization", "DBLoad", "DatabaseConnections", "ReadIOPS", "WriteIOPS")


def snake(name: str) -> str:
    """The exporters' metric-name sanitiser (alerts.cloudwatch.cloudwatch_snake)."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _thresholds(
    spec: tuple[float, float] | tuple[float, float, str],
) -> tuple[tuple[tuple[float, str], ...], str]:
    if len(spec) == 3:  # falling below is bad: red base, orange, then green above
        return ((spec[1], ORANGE), (spec[0], GREEN)), RED
    return ((spec[0], ORANGE), (spec[1], RED)), GREEN


def instance_panel(
    metric: str, unit: str, spec: tuple[float, float] | tuple[float, float, str]
) -> Panel:
    steps, base = _thresholds(spec)
    grafana_unit = "iops" if metric.endswith("IOPS") else UNITS[unit]
    return Panel(
        f"{metric} ({unit})",
        (Query(f"aws_rds_{snake(metric)}_average{{$scope}}", "{dimension_DBInstanceIdentifier}"),),
        grafana_unit,
        steps,
        base_color=base,
        description=f"aws_rds_{snake(metric)}_average per DB instance.",
        minimum=0,
        width=8,
    )


def role_panel(metric: str) -> Panel:
    _, _, unit, spec = next(p for p in INSTANCE_PANELS if p[1] == metric)
    steps, base = _thresholds(spec)
    series = f"aws_rds_{snake(metric)}_average"
    return Panel(
        f"{metric} by role",
        (
            Query(
                f'{series}{{dimension_DBClusterIdentifier=~"$cluster",'
                'dimension_Role=~"$role",dimension_DBInstanceIdentifier=""}',
                "{dimension_DBClusterIdentifier} {dimension_Role}",
            ),
        ),
        "iops" if metric.endswith("IOPS") else UNITS[unit],
        steps,
        base_color=base,
        description=f"{series} for the DBClusterIdentifier + Role dimension set.",
        minimum=0,
        width=8,
    )


def cluster_panel(metric: str, unit: str, statistic: str, spec: tuple[float, float]) -> Panel:
    series = f"aws_rds_{snake(metric)}_{statistic}"
    return Panel(
        f"{metric} ({statistic.capitalize()})",
        (
            Query(
                f'{series}{{dimension_DBClusterIdentifier=~"$cluster",dimension_Role=""}}',
                "{dimension_DBClusterIdentifier}",
            ),
        ),
        UNITS[unit],
        ((spec[0], ORANGE), (spec[1], RED)),
        description=f"{series} for the DBClusterIdentifier dimension.",
        minimum=0,
        width=8,
    )


def _rows(specs: tuple[Spec, ...]) -> tuple[tuple[str, tuple[Panel, ...]], ...]:
    rows: dict[str, list[Panel]] = {}
    for row, metric, unit, spec in specs:
        rows.setdefault(row, []).append(instance_panel(metric, unit, spec))
    return tuple((row, tuple(panels)) for row, panels in rows.items())


CLOUDWATCH_INSTANCES = Board(
    "borealis-cloudwatch-instances",
    "Borealis / Aurora instances (CloudWatch names)",
    "Every AWS/RDS metric Borealis publishes per DB instance, from the aws_rds_* series only, "
    "named and labelled as YACE and cloudwatch_exporter export them.",
    _rows(INSTANCE_PANELS),
    CLOUDWATCH_SCOPE,
    CLOUDWATCH_SOURCE,
    tags=("borealis", "cloudwatch"),
    all_instances=".+",
)
CLOUDWATCH_CLUSTER = Board(
    "borealis-cloudwatch-cluster",
    "Borealis / Aurora cluster (CloudWatch names)",
    "The cluster's volume and replica lag, and the per-role aggregates, from the aws_rds_* "
    "series only.",
    (
        ("Cluster volume and lag", tuple(cluster_panel(*spec) for spec in CLUSTER_PANELS)),
        ("By role", tuple(role_panel(metric) for metric in ROLE_PANELS)),
    ),
    CLOUDWATCH_SCOPE,
    CLOUDWATCH_SOURCE,
    tags=("borealis", "cloudwatch"),
    all_instances=".+",
    variables=("cluster", "role"),
)
