"""CloudWatch metric names as Prometheus recording rules over Borealis' native metrics.

Names follow the CloudWatch exporters (YACE and prometheus/cloudwatch_exporter agree on all
of these): ``aws_rds_<metric_snake>_<statistic>``, in CloudWatch's own units (milliseconds for
AuroraReplicaLag and CommitLatency, percent for CPUUtilization and BufferCacheHitRatio,
seconds for Read/WriteLatency, bytes, count/second), so dashboards and alerts written for
those exporters work unchanged. The statistic is taken over CloudWatch's standard 1-minute
period, taken over the metric's 10 s values recorded every 5 s (``instance:aws_rds_*:10s``).
Three dimension sets, as YACE exports them when configured with them:

- instance: ``dimension_DBInstanceIdentifier``, ``dimension_DBClusterIdentifier``,
  ``dimension_Role`` (WRITER/READER);
- role aggregate: ``dimension_DBClusterIdentifier`` + ``dimension_Role``, under the same
  series names (Average of the instances' averages, Maximum of their maxima, Minimum of
  their minima): select ``{dimension_DBInstanceIdentifier!=""}`` for instances only;
- cluster: ``dimension_DBClusterIdentifier`` only (VolumeBytesUsed, VolumeReadIOPs,
  VolumeWriteIOPs, AuroraReplicaLagMaximum/Minimum).

Where the local source differs from Aurora's, the metric's `help` says what it measures.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

NATIVE_LABELS = ("cluster", "db_instance", "role", "az", "job", "instance")
INSTANCE_KEY = "cluster, db_instance, role, az"
PERIOD = "1m"
RATE_WINDOW = "10s"
BILLING_PERIOD = "5m"
INSTANCE_DIMENSION = "dimension_DBInstanceIdentifier"
CLUSTER_DIMENSION = "dimension_DBClusterIdentifier"
ROLE_DIMENSION = "dimension_Role"


class Kind(enum.StrEnum):
    GAUGE = "gauge"  # `expr` is an instant value
    RATE = "rate"  # `expr` holds `{window}` where a counter's rate window goes
    # `expr` mixes rates ({window}) with instant values: every statistic, Average included,
    # is taken over its 10 s samples.
    MIXED = "mixed"
    # One datapoint per 5-minute billing period (VolumeRead/WriteIOPs): every statistic of a
    # single datapoint is that datapoint.
    BILLED = "billed"


class Statistic(enum.StrEnum):
    AVERAGE = "Average"
    MAXIMUM = "Maximum"
    MINIMUM = "Minimum"


ALL_STATISTICS = (Statistic.AVERAGE, Statistic.MAXIMUM, Statistic.MINIMUM)
OVER_TIME = {
    Statistic.AVERAGE: "avg_over_time",
    Statistic.MAXIMUM: "max_over_time",
    Statistic.MINIMUM: "min_over_time",
}
ACROSS = {Statistic.AVERAGE: "avg", Statistic.MAXIMUM: "max", Statistic.MINIMUM: "min"}


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


def _rate(counter: str, selector: str = "") -> str:
    return f"rate({counter}{selector}[{{window}}])"


def _per(numerator: str, denominator: str) -> str:
    """Average per operation: 0 when there were no operations (and so no time)."""
    return f"{_rate(numerator)} / clamp_min({_rate(denominator)}, 1e-9)"


def _load(selector: str = "") -> str:
    """Summed to the instance whatever dimensions Performance Insights adds to the counter;
    0 (not absent) for an instance with load series but none matching `selector`."""
    load = f"sum by ({INSTANCE_KEY}) ({_rate('borealis_db_load_seconds_total', selector)})"
    if not selector:
        return load
    return f"({load} or 0 * {_load()})"


BLOCKS_READ_BYTES = f"{_rate('borealis_blocks_read_total')} * borealis_block_size_bytes"
WAL_BYTES = _rate("borealis_wal_bytes_total")
LAG_MS = '1000 * borealis_replica_lag_seconds{role="reader"}'


def _writer_lag(aggregate: str) -> str:
    """A cluster's readers' lag, aggregated, as a series of its writer."""
    return (
        f'1000 * ({aggregate} by (cluster) (borealis_replica_lag_seconds{{role="reader"}}) '
        '* on (cluster) group_right () borealis_instance_is_writer{role="writer"})'
    )


INSTANCE_METRICS: tuple[CloudWatchMetric, ...] = (
    CloudWatchMetric(
        "AuroraReplicaLag",
        "Milliseconds",
        Kind.GAUGE,
        LAG_MS,
        "For a reader, how far it lags the writer in applying WAL.",
    ),
    CloudWatchMetric(
        "AuroraReplicaLagMaximum",
        "Milliseconds",
        Kind.GAUGE,
        _writer_lag("max"),
        "On the writer: the largest lag of any reader of its cluster.",
    ),
    CloudWatchMetric(
        "AuroraReplicaLagMinimum",
        "Milliseconds",
        Kind.GAUGE,
        _writer_lag("min"),
        "On the writer: the smallest lag of any reader of its cluster.",
    ),
    CloudWatchMetric(
        "BufferCacheHitRatio",
        "Percent",
        Kind.RATE,
        f"100 * {_rate('borealis_blocks_hit_total')} / "
        f"({_rate('borealis_blocks_hit_total')} + {_rate('borealis_blocks_read_total')} > 0)",
        "Share of block requests served from shared buffers (no datapoint without requests; "
        "reads served by the OS page cache count as misses).",
    ),
    CloudWatchMetric(
        "CommitLatency",
        "Milliseconds",
        Kind.MIXED,
        f"1000 * ({_per('borealis_wal_sync_seconds_total', 'borealis_wal_syncs_total')} "
        "+ borealis_sync_replication_commit_wait_seconds)",
        "Time to make a commit durable: the local WAL fsync time per fsync (pg_stat_wal, "
        "needs track_wal_io_timing) plus the estimated wait for the synchronous storage "
        "quorum.",
    ),
    CloudWatchMetric(
        "CommitThroughput",
        "Count/Second",
        Kind.RATE,
        _rate("borealis_xact_commits_total"),
        "Commits per second.",
    ),
    CloudWatchMetric(
        "CPUUtilization",
        "Percent",
        Kind.RATE,
        f"100 * {_rate('borealis_process_cpu_seconds_total')} / borealis_process_cpus",
        "CPU time of the instance's own processes (postmaster and children, from /proc) as a "
        "share of the CPUs it may use; only for instances on the collector's host.",
    ),
    CloudWatchMetric(
        "DatabaseConnections",
        "Count",
        Kind.GAUGE,
        "borealis_database_connections",
        "Client connections.",
    ),
    CloudWatchMetric(
        "DBLoad",
        "None",
        Kind.RATE,
        _load(),
        "Average active sessions (Performance Insights DB load).",
    ),
    CloudWatchMetric(
        "DBLoadCPU",
        "None",
        Kind.RATE,
        _load('{wait_event_type="CPU"}'),
        "Average active sessions on CPU.",
    ),
    CloudWatchMetric(
        "DBLoadNonCPU",
        "None",
        Kind.RATE,
        _load('{wait_event_type!="CPU"}'),
        "Average active sessions waiting on something other than CPU.",
    ),
    CloudWatchMetric(
        "DBLoadRelativeToNumVCPUs",
        "None",
        Kind.RATE,
        f"{_load()} / on ({INSTANCE_KEY}) max by ({INSTANCE_KEY}) (borealis_process_cpus)",
        "DB load divided by the CPUs the instance may use (instances on the collector's host).",
    ),
    CloudWatchMetric(
        "Deadlocks",
        "Count/Second",
        Kind.RATE,
        _rate("borealis_deadlocks_total"),
        "Deadlocks per second.",
    ),
    CloudWatchMetric(
        "DiskQueueDepth",
        "Count",
        Kind.RATE,
        f"sum without (device) ({_rate('borealis_disk_io_weighted_seconds_total')})",
        "Average I/O requests queued on the block device holding the data directory (the "
        "whole device, shared by the instances on it).",
    ),
    CloudWatchMetric(
        "EngineUptime",
        "Seconds",
        Kind.GAUGE,
        "time() - borealis_postmaster_start_time_seconds",
        "How long the instance has been running.",
    ),
    CloudWatchMetric(
        "FreeableMemory",
        "Bytes",
        Kind.GAUGE,
        "borealis_host_memory_available_bytes",
        "MemAvailable of the host the instance runs on (shared by the instances on it).",
    ),
    CloudWatchMetric(
        "FreeLocalStorage",
        "Bytes",
        Kind.GAUGE,
        "borealis_filesystem_free_bytes",
        "Free space on the file system holding the data directory.",
    ),
    CloudWatchMetric(
        "MaximumUsedTransactionIDs",
        "Count",
        Kind.GAUGE,
        "borealis_oldest_xid_age",
        "Age of the oldest unfrozen transaction id, max(age(datfrozenxid)).",
    ),
    CloudWatchMetric(
        "NetworkReceiveThroughput",
        "Bytes/Second",
        Kind.RATE,
        _rate("borealis_network_receive_bytes_total"),
        "Bytes received in the instance's network namespace (all its processes and "
        "interfaces, loopback included: the host's traffic when instances share a host).",
    ),
    CloudWatchMetric(
        "NetworkTransmitThroughput",
        "Bytes/Second",
        Kind.RATE,
        _rate("borealis_network_transmit_bytes_total"),
        "Bytes sent in the instance's network namespace (see NetworkReceiveThroughput).",
    ),
    CloudWatchMetric(
        "NetworkThroughput",
        "Bytes/Second",
        Kind.RATE,
        f"{_rate('borealis_network_receive_bytes_total')} + "
        f"{_rate('borealis_network_transmit_bytes_total')}",
        "Bytes received and sent in the instance's network namespace.",
    ),
    CloudWatchMetric(
        "OldestReplicationSlotLag",
        "Bytes",
        Kind.GAUGE,
        "borealis_replication_slot_retained_bytes",
        "WAL held back by the most-lagging replication slot.",
    ),
    CloudWatchMetric(
        "ReadIOPS",
        "Count/Second",
        Kind.RATE,
        _rate("borealis_blocks_read_total"),
        "Blocks read from outside shared buffers per second (Aurora reads every such block "
        "from storage).",
    ),
    CloudWatchMetric(
        "ReadLatency",
        "Seconds",
        Kind.RATE,
        _per("borealis_block_read_seconds_total", "borealis_blocks_read_total"),
        "Average time per block read (track_io_timing).",
    ),
    CloudWatchMetric(
        "ReadThroughput",
        "Bytes/Second",
        Kind.RATE,
        BLOCKS_READ_BYTES,
        "Bytes of blocks read from outside shared buffers per second.",
    ),
    CloudWatchMetric(
        "ReplicationSlotDiskUsage",
        "Bytes",
        Kind.GAUGE,
        "borealis_replication_slot_retained_bytes",
        "WAL kept on disk for replication slots (the slots share it: the oldest one's).",
    ),
    CloudWatchMetric(
        "StorageNetworkReceiveThroughput",
        "Bytes/Second",
        Kind.RATE,
        BLOCKS_READ_BYTES,
        "Model: block reads from storage, as Aurora would fetch them.",
    ),
    CloudWatchMetric(
        "StorageNetworkTransmitThroughput",
        "Bytes/Second",
        Kind.RATE,
        WAL_BYTES,
        "Model: WAL sent to storage, as Aurora ships log records.",
    ),
    CloudWatchMetric(
        "StorageNetworkThroughput",
        "Bytes/Second",
        Kind.RATE,
        f"{BLOCKS_READ_BYTES} + {WAL_BYTES}",
        "Model: block reads plus WAL, the traffic to and from Aurora storage.",
    ),
    CloudWatchMetric(
        "SwapUsage",
        "Bytes",
        Kind.GAUGE,
        "borealis_host_swap_used_bytes",
        "Swap in use on the host the instance runs on.",
    ),
    CloudWatchMetric(
        "TempStorageIOPS",
        "Count/Second",
        Kind.RATE,
        f"{_rate('borealis_temp_bytes_total')} / borealis_block_size_bytes",
        "Temporary-file writes per second, in the block-sized chunks PostgreSQL writes them "
        "(reads of temp files are not counted by PostgreSQL).",
    ),
    CloudWatchMetric(
        "TempStorageThroughput",
        "Bytes/Second",
        Kind.RATE,
        _rate("borealis_temp_bytes_total"),
        "Bytes written to temporary files per second.",
    ),
    CloudWatchMetric(
        "TransactionLogsDiskUsage",
        "Bytes",
        Kind.GAUGE,
        "borealis_wal_directory_bytes",
        "Size of pg_wal (Aurora reports -1 unless logical replication is on; this is the "
        "real size).",
    ),
    CloudWatchMetric(
        "TransactionLogsGeneration",
        "Bytes/Second",
        Kind.RATE,
        WAL_BYTES,
        "WAL bytes generated per second.",
    ),
    CloudWatchMetric(
        "WriteIOPS",
        "Count/Second",
        Kind.RATE,
        _rate("borealis_wal_records_total"),
        "Log records written per second (Aurora PostgreSQL counts storage write records).",
    ),
    CloudWatchMetric(
        "WriteLatency",
        "Seconds",
        Kind.RATE,
        _per("borealis_wal_write_seconds_total", "borealis_wal_writes_total"),
        "Average time per WAL write (track_wal_io_timing).",
    ),
    CloudWatchMetric(
        "WriteThroughput",
        "Bytes/Second",
        Kind.RATE,
        WAL_BYTES,
        "Bytes written to persistent storage per second (Aurora writes only log: WAL bytes).",
    ),
)

CLUSTER_METRICS: tuple[CloudWatchMetric, ...] = (
    CloudWatchMetric(
        "AuroraReplicaLagMaximum",
        "Milliseconds",
        Kind.GAUGE,
        f"max by (cluster) ({LAG_MS})",
        "The largest lag of any reader of the cluster.",
    ),
    CloudWatchMetric(
        "AuroraReplicaLagMinimum",
        "Milliseconds",
        Kind.GAUGE,
        f"min by (cluster) ({LAG_MS})",
        "The smallest lag of any reader of the cluster.",
    ),
    CloudWatchMetric(
        "VolumeBytesUsed",
        "Bytes",
        Kind.GAUGE,
        'max by (cluster) (borealis_databases_size_bytes{role="writer"} '
        '+ borealis_wal_directory_bytes{role="writer"})',
        "The writer's databases and WAL on disk (the volume every instance shares).",
    ),
    CloudWatchMetric(
        "VolumeReadIOPs",
        "Count",
        Kind.BILLED,
        f"sum by (cluster) (increase(borealis_blocks_read_total[{BILLING_PERIOD}]))",
        "Blocks read from storage by all instances in the last 5 minutes (CloudWatch "
        "publishes it per 5-minute period: divide by 300 for a per-second rate).",
    ),
    CloudWatchMetric(
        "VolumeWriteIOPs",
        "Count",
        Kind.BILLED,
        f'sum by (cluster) (increase(borealis_wal_writes_total{{role="writer"}}'
        f"[{BILLING_PERIOD}]))",
        "WAL writes of the writer in the last 5 minutes (per 5-minute period, like CloudWatch).",
    ),
)


def with_dimensions(expr: str) -> str:
    """Add CloudWatch dimension labels from the native ones, then drop the native ones."""
    e = f'label_replace({expr}, "{INSTANCE_DIMENSION}", "$1", "db_instance", "(.+)")'
    e = f'label_replace({e}, "{CLUSTER_DIMENSION}", "$1", "cluster", "(.+)")'
    e = f'label_replace({e}, "{ROLE_DIMENSION}", "WRITER", "role", "writer")'
    e = f'label_replace({e}, "{ROLE_DIMENSION}", "READER", "role", "reader")'
    return f"max without ({', '.join(NATIVE_LABELS)}) ({e})"


def with_cluster_dimension(expr: str) -> str:
    """`expr` is aggregated by cluster: keep only the cluster, as a dimension."""
    e = f'label_replace({expr}, "{CLUSTER_DIMENSION}", "$1", "cluster", "(.+)")'
    return f"max without (cluster) ({e})"


def sample_name(metric: CloudWatchMetric, level: str) -> str:
    """The intermediate series: the metric's current value every 5 s (10 s rates, the 5 m
    count for billed metrics), already in dimension labels."""
    window = BILLING_PERIOD if metric.kind is Kind.BILLED else RATE_WINDOW
    return f"{level}:aws_rds_{cloudwatch_snake(metric.name)}:{window}"


def sample_expr(metric: CloudWatchMetric, level: str) -> str:
    value = metric.expr.replace("{window}", RATE_WINDOW)
    return with_dimensions(value) if level == "instance" else with_cluster_dimension(value)


def statistic_expr(metric: CloudWatchMetric, statistic: Statistic, level: str) -> str:
    """The statistic over the 1-minute period, from the samples of that minute: no
    label_replace and no subquery at this step (each costs about as much as the rest)."""
    if metric.kind is Kind.BILLED:
        return sample_name(metric, level)  # one datapoint per period: every statistic is it
    return f"{OVER_TIME[statistic]}({sample_name(metric, level)}[{PERIOD}])"


def role_aggregate_expr(instance_expr: str, statistic: Statistic) -> str:
    """The (DBClusterIdentifier, Role) series from the instance series: the Average of the
    instances' averages, the Maximum of their maxima, the Minimum of their minima."""
    return f"{ACROSS[statistic]} by ({CLUSTER_DIMENSION}, {ROLE_DIMENSION}) ({instance_expr})"


def recording_rules() -> dict[str, object]:
    """First the samples (`instance:aws_rds_<metric>:10s`, `cluster:...`), then one rule per
    CloudWatch series name: the dimension sets of a name are joined with `or` (their label
    sets never collide), so every set comes from the same evaluation. Rules of a group run
    in order, so the statistics read this evaluation's samples."""
    samples: list[dict[str, str]] = []
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
    rules = samples + [
        {"record": name, "expr": " or ".join(parts)} for name, parts in exprs.items()
    ]
    return {"groups": [{"name": "borealis-cloudwatch", "interval": "5s", "rules": rules}]}
