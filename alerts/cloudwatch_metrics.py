"""The CloudWatch AWS/RDS metrics Borealis publishes, each as PromQL over the native series.

`expr` gives the metric's current value per instance (or per cluster for `CLUSTER_METRICS`),
in CloudWatch's own unit; `{window}` marks where a counter's rate window goes. The naming,
labels and statistics of the published series are in `alerts.cloudwatch`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

INSTANCE_KEY = "cluster, db_instance, role, az, job"
CLUSTER_KEY = "cluster, job"
BILLING_PERIOD = "5m"


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
    SUM = "Sum"
    SAMPLE_COUNT = "SampleCount"


ALL_STATISTICS = (
    Statistic.AVERAGE,
    Statistic.MAXIMUM,
    Statistic.MINIMUM,
    Statistic.SUM,
    Statistic.SAMPLE_COUNT,
)


@dataclass(frozen=True)
class CloudWatchMetric:
    name: str
    unit: str
    kind: Kind
    expr: str
    help: str
    statistics: tuple[Statistic, ...] = ALL_STATISTICS


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
        f"max by ({CLUSTER_KEY}) ({LAG_MS})",
        "The largest lag of any reader of the cluster.",
    ),
    CloudWatchMetric(
        "AuroraReplicaLagMinimum",
        "Milliseconds",
        Kind.GAUGE,
        f"min by ({CLUSTER_KEY}) ({LAG_MS})",
        "The smallest lag of any reader of the cluster.",
    ),
    CloudWatchMetric(
        "VolumeBytesUsed",
        "Bytes",
        Kind.GAUGE,
        f'max by ({CLUSTER_KEY}) (borealis_databases_size_bytes{{role="writer"}} '
        '+ borealis_wal_directory_bytes{role="writer"})',
        "The writer's databases and WAL on disk (the volume every instance shares).",
    ),
    CloudWatchMetric(
        "VolumeReadIOPs",
        "Count",
        Kind.BILLED,
        f"sum by ({CLUSTER_KEY}) (increase(borealis_blocks_read_total[{BILLING_PERIOD}]))",
        "Blocks read from storage by all instances in the last 5 minutes (CloudWatch "
        "publishes it per 5-minute period: divide by 300 for a per-second rate).",
    ),
    CloudWatchMetric(
        "VolumeWriteIOPs",
        "Count",
        Kind.BILLED,
        f'sum by ({CLUSTER_KEY}) (increase(borealis_wal_writes_total{{role="writer"}}'
        f"[{BILLING_PERIOD}]))",
        "WAL writes of the writer in the last 5 minutes (per 5-minute period, like CloudWatch).",
    ),
)
