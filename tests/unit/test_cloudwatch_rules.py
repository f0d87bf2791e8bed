import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from alerts import generate
from alerts.cloudwatch import INSTANCE_METRICS, Statistic, cloudwatch_snake, series_name

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
    assert len(records) == len(INSTANCE_METRICS) * 3
    assert series_name("ReadIOPS", Statistic.MAXIMUM) == "aws_rds_read_iops_maximum"


def test_committed_rule_files_are_current() -> None:
    for name, text in generate.rule_files().items():
        assert (generate.GENERATED / name).read_text() == text, (
            f"run python -m alerts.generate ({name})"
        )


PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool is installed by make install"
)


@needs_promtool
def test_promtool_accepts_the_rules() -> None:
    for path in generate.GENERATED.glob("*.yml"):
        subprocess.run([PROMTOOL, "check", "rules", str(path)], check=True, capture_output=True)


@needs_promtool
def test_recording_rules_compute_cloudwatch_values(tmp_path: Path) -> None:
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
                        "expr": "aws_rds_aurora_replica_lag_average",
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
                        "expr": "aws_rds_read_iops_average",
                        "eval_time": "2m",
                        "exp_samples": [
                            {
                                "labels": _series("aws_rds_read_iops_average", dims_writer),
                                "value": 10,
                            }
                        ],
                    },
                    {
                        "expr": "aws_rds_dbload_average",
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
        [PROMTOOL, "test", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _series(name: str, labels: dict[str, str]) -> str:
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{name}{{{inner}}}"
