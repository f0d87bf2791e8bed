"""CloudWatch-named series in the stack's real Prometheus, for every instance, role and the
cluster, as dashboards built for YACE query them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest

from alerts.cloudwatch import CLUSTER_METRICS, INSTANCE_METRICS, Statistic, series_name
from tests.conftest import Stack, wait_for

pytestmark = pytest.mark.cluster

WRITER_ONLY = {"AuroraReplicaLagMaximum", "AuroraReplicaLagMinimum"}
READER_ONLY = {"AuroraReplicaLag"}


def test_cloudwatch_series_exist_for_every_instance_role_and_the_cluster(stack: Stack) -> None:
    def missing() -> list[str]:
        status = stack.status()
        roles = {i["id"]: i["role"] for i in status["instances"]}
        found = {
            (r["metric"]["__name__"], r["metric"].get("dimension_DBInstanceIdentifier", ""))
            for r in stack.prometheus(
                "count by (__name__, dimension_DBInstanceIdentifier) "
                '({__name__=~"aws_rds_.+_average", dimension_DBClusterIdentifier="'
                + status["cluster_id"]
                + '"})'
            )
        }
        wanted = set()
        for metric in INSTANCE_METRICS:
            name = series_name(metric.name, Statistic.AVERAGE)
            wanted.add((name, ""))  # the role aggregate
            for instance, role in roles.items():
                if metric.name in WRITER_ONLY and role != "writer":
                    continue
                if metric.name in READER_ONLY and role != "reader":
                    continue
                wanted.add((name, instance))
        wanted |= {(series_name(m.name, Statistic.AVERAGE), "") for m in CLUSTER_METRICS}
        return sorted(f"{name}{{{instance}}}" for name, instance in wanted - found)

    try:
        wait_for(lambda: not missing(), 90, what="every CloudWatch series")
    except AssertionError:
        pytest.fail(f"CloudWatch series missing in Prometheus: {missing()}")

    cpu = stack.prometheus('aws_rds_cpuutilization_maximum{dimension_DBInstanceIdentifier!=""}')
    assert all(0 <= float(r["value"][1]) <= 100 for r in cpu)
    roles = stack.prometheus('aws_rds_engine_uptime_minimum{dimension_DBInstanceIdentifier=""}')
    assert {r["metric"].get("dimension_Role") for r in roles} >= {"WRITER", "READER"}
    volume = stack.prometheus("aws_rds_volume_bytes_used_average")
    assert [set(r["metric"]) for r in volume] == [
        {
            "__name__", "dimension_DBClusterIdentifier", "dbcluster_identifier", "name",
            "region", "account_id", "job",
        }
    ]  # fmt: skip
    assert volume[0]["metric"]["name"] == (
        f"arn:aws:rds:local-1:000000000000:cluster:{volume[0]['metric']['dbcluster_identifier']}"
    )
    assert float(volume[0]["value"][1]) > 10_000_000


def test_the_stack_serves_the_cloudwatch_api_to_boto3(stack: Stack) -> None:
    """`status --json` names `services.cloudwatch`; boto3's cloudwatch client lists the stack's
    instances and reads their CPUUtilization from the stack's own Prometheus."""
    status = stack.status()
    client = boto3.client(
        "cloudwatch",
        endpoint_url=status["services"]["cloudwatch"],
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    instances = {i["id"] for i in status["instances"]}

    def listed() -> set[str]:
        metrics = client.list_metrics(Namespace="AWS/RDS", MetricName="CPUUtilization")["Metrics"]
        return {
            d["Value"]
            for m in metrics
            for d in m["Dimensions"]
            if d["Name"] == "DBInstanceIdentifier"
        }

    wait_for(lambda: listed() >= instances, 90, what="every instance in ListMetrics")
    writer = status["writer"]

    def datapoints() -> list[dict[str, object]]:
        end = datetime.now(UTC)
        answer = client.get_metric_statistics(
            Namespace="AWS/RDS",
            MetricName="CPUUtilization",
            Dimensions=[{"Name": "DBInstanceIdentifier", "Value": writer}],
            StartTime=end - timedelta(minutes=10),
            EndTime=end,
            Period=60,
            Statistics=["Average", "Maximum"],
        )
        return list(answer["Datapoints"])

    points = wait_for(datapoints, 90, what="CPUUtilization datapoints of the writer")
    assert all(p["Unit"] == "Percent" for p in points)
    assert all(0 <= float(p["Average"]) <= float(p["Maximum"]) <= 100 for p in points)
