import subprocess
from pathlib import Path

import pytest
import yaml

from alerts import generate
from alerts.cloudwatch import (
    CLUSTER_METRICS,
    INSTANCE_METRICS,
    Statistic,
    cloudwatch_snake,
    series_name,
)
from tests.binaries import require_binary

# The names YACE and cloudwatch_exporter give these metrics (shared/reference/anchors.md §2).
EXPORTER_NAMES = {
    "CPUUtilization": "cpuutilization",
    "DatabaseConnections": "database_connections",
    "FreeableMemory": "freeable_memory",
    "ReadIOPS": "read_iops",
    "WriteLatency": "write_latency",
    "DiskQueueDepth": "disk_queue_depth",
    "AuroraReplicaLag": "aurora_replica_lag",
    "AuroraReplicaLagMaximum": "aurora_replica_lag_maximum",
    "DBLoad": "dbload",
    "DBLoadCPU": "dbload_cpu",
    "DBLoadNonCPU": "dbload_non_cpu",
    "BufferCacheHitRatio": "buffer_cache_hit_ratio",
    "MaximumUsedTransactionIDs": "maximum_used_transaction_ids",
    "VolumeReadIOPs": "volume_read_iops",
    "EngineUptime": "engine_uptime",
}


@pytest.mark.parametrize(("metric", "snake"), sorted(EXPORTER_NAMES.items()))
def test_names_match_the_cloudwatch_exporters(metric: str, snake: str) -> None:
    assert cloudwatch_snake(metric) == snake


def test_required_series_are_recorded() -> None:
    records = {
        rule["record"]
        for group in generate.FILES["cloudwatch-recording.yml"]()["groups"]  # type: ignore[index]
        for rule in group["rules"]
    }
    for name in (
        "aws_rds_aurora_replica_lag_average",
        "aws_rds_read_iops_average",
        "aws_rds_write_iops_average",
        "aws_rds_dbload_average",
    ):
        assert name in records
    cloudwatch = {r for r in records if ":" not in r}  # `instance:...:10s` are samples
    assert cloudwatch == {
        series_name(m.name, s) for m in INSTANCE_METRICS + CLUSTER_METRICS for s in m.statistics
    } | {"aws_rds_info"}
    assert series_name("ReadIOPS", Statistic.MAXIMUM) == "aws_rds_read_iops_maximum"
    assert series_name("ReadIOPS", Statistic.SAMPLE_COUNT) == "aws_rds_read_iops_sample_count"
    assert series_name("DBLoad", Statistic.SUM) == "aws_rds_dbload_sum"


def test_every_series_carries_the_exporters_static_labels() -> None:
    groups = generate.FILES["cloudwatch-recording.yml"]()["groups"]  # type: ignore[index]
    rules = [rule for group in groups for rule in group["rules"]]
    assert any(":" not in rule["record"] for rule in rules)
    for rule in rules:
        if ":" not in rule["record"]:
            assert rule["labels"] == {"region": "local-1", "account_id": "000000000000"}


# aurora-facts §1.2: every Aurora PostgreSQL metric with a PostgreSQL 15 source. Left out on
# purpose: ConnectionAttempts (from the log tailer), ReplicaLag and
# RDSToAuroraPostgreSQLReplicaLag (RDS, not Aurora), Global Database, Serverless, backup,
# burst-credit and Aurora MySQL metrics (no such thing here).
INSTANCE_LEVEL = {
    "AuroraReplicaLag", "AuroraReplicaLagMaximum", "AuroraReplicaLagMinimum",
    "BufferCacheHitRatio", "CommitLatency", "CommitThroughput", "CPUUtilization",
    "DatabaseConnections", "Deadlocks", "DiskQueueDepth", "EngineUptime", "FreeableMemory",
    "FreeLocalStorage", "MaximumUsedTransactionIDs", "NetworkThroughput",
    "NetworkReceiveThroughput", "NetworkTransmitThroughput", "ReadIOPS", "WriteIOPS",
    "ReadLatency", "WriteLatency", "ReadThroughput", "WriteThroughput",
    "ReplicationSlotDiskUsage", "OldestReplicationSlotLag", "TransactionLogsDiskUsage",
    "TransactionLogsGeneration", "SwapUsage", "TempStorageIOPS", "TempStorageThroughput",
    "StorageNetworkThroughput", "StorageNetworkReceiveThroughput",
    "StorageNetworkTransmitThroughput", "DBLoad", "DBLoadCPU", "DBLoadNonCPU",
    "DBLoadRelativeToNumVCPUs",
}  # fmt: skip
CLUSTER_LEVEL = {
    "VolumeBytesUsed", "VolumeReadIOPs", "VolumeWriteIOPs", "AuroraReplicaLagMaximum",
    "AuroraReplicaLagMinimum",
}  # fmt: skip


def test_every_aurora_postgresql_metric_with_a_local_source_is_there() -> None:
    assert {m.name for m in INSTANCE_METRICS} == INSTANCE_LEVEL
    assert {m.name for m in CLUSTER_METRICS} == CLUSTER_LEVEL
    for metric in INSTANCE_METRICS + CLUSTER_METRICS:
        assert set(metric.statistics) == set(Statistic)
        assert metric.unit in {
            "Percent", "Bytes", "Bytes/Second", "Count", "Count/Second", "Seconds",
            "Milliseconds", "None",
        }  # fmt: skip


def test_committed_rule_files_are_current() -> None:
    for name, text in generate.rule_files().items():
        assert (generate.GENERATED / name).read_text() == text, (
            f"run python -m alerts.generate ({name})"
        )


@pytest.fixture
def promtool() -> str:
    return require_binary("promtool")


def test_promtool_accepts_the_rules(promtool: str) -> None:
    for path in generate.GENERATED.glob("*.yml"):
        subprocess.run([promtool, "check", "rules", str(path)], check=True, capture_output=True)


def test_recording_rules_compute_cloudwatch_values(tmp_path: Path, promtool: str) -> None:
    """promtool evaluates the real rules on synthetic native series."""
    common = 'cluster="c1",job="borealis",instance="x"'
    labels = f'{common},db_instance="c1-instance-2",role="reader",az="local-1b"'
    writer = f'{common},db_instance="c1-instance-1",role="writer",az="local-1a"'
    cpu = 'wait_event_type="CPU",wait_event="CPU"'
    dims_reader = {
        "dimension_DBClusterIdentifier": "c1",
        "dimension_DBInstanceIdentifier": "c1-instance-2",
        "dimension_Role": "READER",
    }
    dims_writer = {
        "dimension_DBClusterIdentifier": "c1",
        "dimension_DBInstanceIdentifier": "c1-instance-1",
        "dimension_Role": "WRITER",
    }
    tests = {
        "rule_files": [str(generate.GENERATED / "cloudwatch-recording.yml")],
        "evaluation_interval": "5s",
        "tests": [
            {
                "interval": "5s",
                "input_series": [
                    # 0.25 s of lag, steady: AuroraReplicaLag is 250 ms.
                    {"series": f"borealis_replica_lag_seconds{{{labels}}}", "values": "0.25x30"},
                    # 50 blocks read per 5 s: 10 ReadIOPS.
                    {"series": f"borealis_blocks_read_total{{{writer}}}", "values": "0+50x30"},
                    # 2 sessions always active on CPU: DBLoad 2.
                    {
                        "series": f"borealis_db_load_seconds_total{{{writer},{cpu}}}",
                        "values": "0+10x30",
                    },
                ],
                "promql_expr_test": [
                    {
                        "expr": f"aws_rds_aurora_replica_lag_average{INSTANCES_ONLY}",
                        "eval_time": "2m",
                        "exp_samples": [
                            {
                                "labels": _series(
                                    "aws_rds_aurora_replica_lag_average", dims_reader
                                ),
                                "value": 250,
                            }
                        ],
                    },
                    {
                        "expr": 'aws_rds_read_iops_average{dimension_DBInstanceIdentifier!=""}',
                        "eval_time": "2m",
                        "exp_samples": [
                            {
                                "labels": _series("aws_rds_read_iops_average", dims_writer),
                                "value": 10,
                            }
                        ],
                    },
                    {
                        "expr": 'aws_rds_dbload_average{dimension_DBInstanceIdentifier!=""}',
                        "eval_time": "2m",
                        "exp_samples": [
                            {"labels": _series("aws_rds_dbload_average", dims_writer), "value": 2}
                        ],
                    },
                ],
            }
        ],
    }
    path = tmp_path / "test.yml"
    path.write_text(yaml.safe_dump(tests))
    done = subprocess.run(
        [promtool, "test", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


ARN = "arn:aws:rds:local-1:000000000000"


def _exporter_labels(dims: dict[str, str]) -> dict[str, str]:
    """The labels YACE and cloudwatch_exporter put beside the dimensions: region, account,
    the resource ARN as `name`, the snake-cased dimensions, and the scrape job."""
    labels = {**dims, "region": "local-1", "account_id": "000000000000", "job": "borealis"}
    labels["dbcluster_identifier"] = dims["dimension_DBClusterIdentifier"]
    if "dimension_Role" in dims:
        labels["role"] = dims["dimension_Role"]
    if "dimension_DBInstanceIdentifier" in dims:
        labels["dbinstance_identifier"] = dims["dimension_DBInstanceIdentifier"]
        labels["name"] = f"{ARN}:db:{dims['dimension_DBInstanceIdentifier']}"
    else:
        labels["name"] = f"{ARN}:cluster:{dims['dimension_DBClusterIdentifier']}"
    return labels


def _series(name: str, labels: dict[str, str]) -> str:
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(_exporter_labels(labels).items()))
    return f"{name}{{{inner}}}"


# --- conversions, evaluated by promtool on synthetic native series -------------------------

COMMON = 'cluster="c1",job="borealis",instance="x"'
WRITER = f'{COMMON},db_instance="c1-w",role="writer",az="local-1a"'
READER_B = f'{COMMON},db_instance="c1-rb",role="reader",az="local-1b"'
READER_C = f'{COMMON},db_instance="c1-rc",role="reader",az="local-1c"'
DIMS = {
    "w": {
        "dimension_DBClusterIdentifier": "c1",
        "dimension_DBInstanceIdentifier": "c1-w",
        "dimension_Role": "WRITER",
    },
    "rb": {
        "dimension_DBClusterIdentifier": "c1",
        "dimension_DBInstanceIdentifier": "c1-rb",
        "dimension_Role": "READER",
    },
    "readers": {"dimension_DBClusterIdentifier": "c1", "dimension_Role": "READER"},
    "writers": {"dimension_DBClusterIdentifier": "c1", "dimension_Role": "WRITER"},
    "cluster": {"dimension_DBClusterIdentifier": "c1"},
}
INSTANCES_ONLY = '{dimension_DBInstanceIdentifier!=""}'
CPU_WAIT = 'wait_event_type="CPU",wait_event="CPU"'
IO_WAIT = 'wait_event_type="IO",wait_event="DataFileRead"'
AGGREGATES_ONLY = '{dimension_DBInstanceIdentifier=""}'

# Every 5 s, for 10 minutes.
INPUT = {
    # 0.5 CPU-seconds per 5 s on 2 CPUs: 5 % CPUUtilization.
    f"borealis_process_cpu_seconds_total{{{WRITER}}}": "0+0.5x120",
    f"borealis_process_cpus{{{WRITER}}}": "2x120",
    f"borealis_block_size_bytes{{{WRITER}}}": "8192x120",
    f"borealis_block_size_bytes{{{READER_B}}}": "8192x120",
    # 90 hits and 10 reads per 5 s: 90 % hit ratio, 2 ReadIOPS, 16 KiB/s ReadThroughput;
    # 0.01 s of read time per 10 reads: 1 ms ReadLatency.
    f"borealis_blocks_hit_total{{{WRITER}}}": "0+90x120",
    f"borealis_blocks_read_total{{{WRITER}}}": "0+10x120",
    f"borealis_block_read_seconds_total{{{WRITER}}}": "0+0.01x120",
    f"borealis_blocks_read_total{{{READER_B}}}": "0+5x120",
    f"borealis_block_read_seconds_total{{{READER_B}}}": "0x120",  # reads timed at 0
    f"borealis_blocks_read_total{{{READER_C}}}": "0x120",  # no reads: latency 0, not NaN
    f"borealis_block_read_seconds_total{{{READER_C}}}": "0x120",
    # One fsync of 2 ms per 5 s, plus 0.5 ms waiting for the quorum: 2.5 ms CommitLatency.
    f"borealis_wal_syncs_total{{{WRITER}}}": "0+1x120",
    f"borealis_wal_sync_seconds_total{{{WRITER}}}": "0+0.002x120",
    f"borealis_sync_replication_commit_wait_seconds{{{WRITER}}}": "0.0005x120",
    # WAL writes: only the writer's count for VolumeWriteIOPs.
    f"borealis_wal_writes_total{{{WRITER}}}": "0+1x120",
    f"borealis_wal_writes_total{{{READER_B}}}": "0+100x120",
    # 2.5 s of weighted I/O time per 5 s: a queue of 0.5.
    f'borealis_disk_io_weighted_seconds_total{{{WRITER},device="vda"}}': "0+2.5x120",
    # Connections: 5, with a spike to 9 at 90 s.
    f"borealis_database_connections{{{WRITER}}}": "5x17 9 5x102",
    # Readers 100 and 300 ms behind; the writer knows it is the writer.
    f"borealis_replica_lag_seconds{{{READER_B}}}": "0.1x120",
    f"borealis_replica_lag_seconds{{{READER_C}}}": "0.3x120",
    f"borealis_instance_is_writer{{{WRITER}}}": "1x120",
    # Volume: the writer's databases and WAL; a reader's copy does not count twice.
    f"borealis_databases_size_bytes{{{WRITER}}}": "1000000x120",
    f"borealis_wal_directory_bytes{{{WRITER}}}": "2000000x120",
    f"borealis_databases_size_bytes{{{READER_B}}}": "5000000x120",
    # DB load with a dimension Performance Insights may add: still one series per instance.
    f'borealis_db_load_seconds_total{{{WRITER},{CPU_WAIT},digest="a"}}': "0+5x120",
    f'borealis_db_load_seconds_total{{{WRITER},{IO_WAIT},digest="b"}}': "0+5x120",
    f"borealis_db_load_seconds_total{{{READER_B},{CPU_WAIT}}}": "0+5x120",  # never waits
}

# (expression, evaluation time, [(dimensions, value)])
CASES: list[tuple[str, str, list[tuple[str, float]]]] = [
    (f"aws_rds_cpuutilization_average{INSTANCES_ONLY}", "2m", [("w", 5)]),
    (f"aws_rds_cpuutilization_maximum{INSTANCES_ONLY}", "2m", [("w", 5)]),
    (f"aws_rds_buffer_cache_hit_ratio_average{INSTANCES_ONLY}", "2m", [("w", 90)]),
    (f"aws_rds_buffer_cache_hit_ratio_minimum{INSTANCES_ONLY}", "2m", [("w", 90)]),
    (f"aws_rds_read_iops_average{INSTANCES_ONLY}", "2m", [("w", 2), ("rb", 1), ("rc", 0)]),
    (f"aws_rds_read_throughput_average{INSTANCES_ONLY}", "2m", [("w", 16384), ("rb", 8192)]),
    (
        f"aws_rds_read_latency_average{INSTANCES_ONLY}",
        "2m",
        [("w", 0.001), ("rb", 0), ("rc", 0)],
    ),
    (f"aws_rds_commit_latency_average{INSTANCES_ONLY}", "2m", [("w", 2.5)]),
    (f"aws_rds_commit_latency_maximum{INSTANCES_ONLY}", "2m", [("w", 2.5)]),
    (f"aws_rds_disk_queue_depth_average{INSTANCES_ONLY}", "2m", [("w", 0.5)]),
    (f"aws_rds_database_connections_maximum{INSTANCES_ONLY}", "2m", [("w", 9)]),
    (f"aws_rds_database_connections_minimum{INSTANCES_ONLY}", "2m", [("w", 5)]),
    (f"aws_rds_dbload_average{INSTANCES_ONLY}", "2m", [("w", 2), ("rb", 1)]),
    (f"aws_rds_dbload_non_cpu_average{INSTANCES_ONLY}", "2m", [("w", 1), ("rb", 0)]),
    (f"aws_rds_dbload_relative_to_num_vcpus_average{INSTANCES_ONLY}", "2m", [("w", 1)]),
    # Sum and SampleCount over the same datapoints: Sum / SampleCount is the Average, per
    # instance and per role (the readers' 1 and 0 average to 0.5).
    (
        "aws_rds_read_iops_sum / aws_rds_read_iops_sample_count",
        "2m",
        [("w", 2), ("rb", 1), ("rc", 0), ("writers", 2), ("readers", 0.5)],
    ),
    # A datapoint every 5 s: 12 a minute (13 where the range includes both ends).
    (
        f"aws_rds_read_iops_sample_count{INSTANCES_ONLY} >= bool 12",
        "2m",
        [("w", 1), ("rb", 1), ("rc", 1)],
    ),
    # Readers: per instance, then by role: the mean of the averages, max of the maxima.
    (
        f"aws_rds_aurora_replica_lag_average{INSTANCES_ONLY}",
        "2m",
        [("rb", 100), ("rc", 300)],
    ),
    (f"aws_rds_aurora_replica_lag_average{AGGREGATES_ONLY}", "2m", [("readers", 200)]),
    (f"aws_rds_aurora_replica_lag_maximum{AGGREGATES_ONLY}", "2m", [("readers", 300)]),
    (f"aws_rds_aurora_replica_lag_minimum{AGGREGATES_ONLY}", "2m", [("readers", 100)]),
    # AuroraReplicaLagMaximum/Minimum: on the writer, by role, and for the cluster.
    (
        "aws_rds_aurora_replica_lag_maximum_average",
        "2m",
        [("w", 300), ("writers", 300), ("cluster", 300)],
    ),
    (
        "aws_rds_aurora_replica_lag_minimum_maximum",
        "2m",
        [("w", 100), ("writers", 100), ("cluster", 100)],
    ),
    ("aws_rds_volume_bytes_used_average", "2m", [("cluster", 3000000)]),
]

# Cluster level, per 5-minute period like CloudWatch: every statistic is that count. A
# separate test with only the series these need: promtool evaluates every rule up to 6 m.
VOLUME_KEYS = ("borealis_blocks_read_total", "borealis_wal_writes_total")
VOLUME_CASES: list[tuple[str, str, list[tuple[str, float]]]] = [
    ("aws_rds_volume_read_iops_average", "6m", [("cluster", 900)]),
    ("aws_rds_volume_read_iops_maximum", "6m", [("cluster", 900)]),
    ("aws_rds_volume_write_iops_minimum", "6m", [("cluster", 60)]),
    ("aws_rds_volume_read_iops_sum", "6m", [("cluster", 900)]),
    ("aws_rds_volume_read_iops_sample_count", "6m", [("cluster", 1)]),
]


def _dims(key: str) -> dict[str, str]:
    if key == "rc":
        return {**DIMS["rb"], "dimension_DBInstanceIdentifier": "c1-rc"}
    return DIMS[key]


def test_cloudwatch_conversions(tmp_path: Path, promtool: str) -> None:
    """Units, rates, ratios, role and cluster aggregates, the 5-minute billing metrics."""
    volume_input = {k: v for k, v in INPUT.items() if k.startswith(VOLUME_KEYS)}
    tests = {
        "rule_files": [str(generate.GENERATED / "cloudwatch-recording.yml")],
        "evaluation_interval": "5s",
        "tests": [_promtool_test(INPUT, CASES), _promtool_test(volume_input, VOLUME_CASES)],
    }
    path = tmp_path / "conversions.yml"
    path.write_text(yaml.safe_dump(tests))
    done = subprocess.run(
        [promtool, "test", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _promtool_test(
    series: dict[str, str], cases: list[tuple[str, str, list[tuple[str, float]]]]
) -> dict[str, object]:
    return {
        "interval": "5s",
        "input_series": [{"series": k, "values": v} for k, v in series.items()],
        "promql_expr_test": [
            {
                # Rounded to 1e-6: the rates of exact inputs are not always exact.
                "expr": f"round(({expr}) * 1e6) / 1e6",
                "eval_time": at,
                "exp_samples": [{"labels": _series("", _dims(d)), "value": v} for d, v in samples],
            }
            for expr, at, samples in cases
        ],
    }


def test_info_series_names_every_instance_and_cluster_with_tags(
    tmp_path: Path, promtool: str
) -> None:
    """YACE's `aws_rds_info`: value 0, `name` the ARN, tags as `tag_` labels."""
    tests = {
        "rule_files": [str(generate.GENERATED / "cloudwatch-recording.yml")],
        "evaluation_interval": "5s",
        "tests": [
            {
                "interval": "5s",
                "input_series": [
                    {"series": f"borealis_up{{{WRITER}}}", "values": "1x12"},
                    {"series": f"borealis_up{{{READER_B}}}", "values": "1x12"},
                ],
                "promql_expr_test": [
                    {
                        "expr": "aws_rds_info",
                        "eval_time": "30s",
                        "exp_samples": [
                            {"labels": _info(f"{ARN}:db:c1-w", "writer", "local-1a"), "value": 0},
                            {"labels": _info(f"{ARN}:db:c1-rb", "reader", "local-1b"), "value": 0},
                            {"labels": _info(f"{ARN}:cluster:c1"), "value": 0},
                        ],
                    }
                ],
            }
        ],
    }
    path = tmp_path / "info.yml"
    path.write_text(yaml.safe_dump(tests))
    done = subprocess.run(
        [promtool, "test", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _info(name: str, role: str = "", az: str = "") -> str:
    labels = {
        "name": name,
        "region": "local-1",
        "account_id": "000000000000",
        "job": "borealis",
        "tag_borealis_cluster": "c1",
    }
    if role:
        labels |= {"tag_borealis_role": role, "tag_borealis_az": az}
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"aws_rds_info{{{inner}}}"
