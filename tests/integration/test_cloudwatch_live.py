"""The CloudWatch-compatible API end to end: a real collector on a real PostgreSQL, scraped
by a real Prometheus running the generated CloudWatch recording rules, read with boto3."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.config import Config

from alerts.cloudwatch_api import start_service
from alerts.generate import GENERATED
from collector.service import Collector
from collector.targets import Target
from core.settings import CollectorSettings, Settings
from tests.conftest import INTEGRATION_PORTS, wait_for
from tests.integration.cloudwatch_data import run_prometheus
from tests.integration.conftest import Postgres
from tests.integration.test_collector import value_for

pytestmark = pytest.mark.integration

PROMETHEUS_PORT = INTEGRATION_PORTS + 805
COLLECTOR_BASE = INTEGRATION_PORTS + 810  # the collector at +91, its PI API at +92
INSTANCE = "cw-live-1"
CLUSTER = "cwlive"


@pytest.fixture(scope="module")
def collector(postgres: Postgres, shared_tmp: Path) -> Iterator[Collector]:
    settings = replace(
        Settings(state_dir=shared_tmp / "cloudwatch-live-state"),
        collector=CollectorSettings(poll_interval_s=0.5, sample_interval_s=0.5),
    )
    settings = replace(settings, ports=replace(settings.ports, base=COLLECTOR_BASE))
    target = Target(CLUSTER, INSTANCE, postgres.monitor_dsn, resource_id="db-CWLIVE", az="a")
    running = Collector(settings, [target], events=None)
    running.start()
    wait_for(lambda: value_for(running, "borealis_up", db_instance=INSTANCE) == 1, 15)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def cloudwatch(collector: Collector, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "5s"},
        "rule_files": [str(GENERATED / "cloudwatch-recording.yml")],
        "scrape_configs": [
            {
                "job_name": "borealis",
                "static_configs": [{"targets": [f"127.0.0.1:{COLLECTOR_BASE + 91}"]}],
            }
        ],
    }
    root = tmp_path_factory.mktemp("prom-live")
    for url in run_prometheus(root, PROMETHEUS_PORT, yaml.safe_dump(config)):
        api = start_service(port=0, prometheus_url=url)
        try:
            yield boto3.client(
                "cloudwatch",
                endpoint_url=api.url,
                region_name="us-east-1",
                aws_access_key_id="borealis",
                aws_secret_access_key="borealis",
                config=Config(retries={"max_attempts": 1}),
            )
        finally:
            api.stop()


def test_live_metrics_are_listed_and_read(cloudwatch: Any) -> None:
    dimensions = [{"Name": "DBInstanceIdentifier", "Value": INSTANCE}]

    def listed() -> list[dict[str, Any]]:
        return list(
            cloudwatch.list_metrics(
                Namespace="AWS/RDS", MetricName="DatabaseConnections", Dimensions=dimensions
            )["Metrics"]
        )

    (metric,) = wait_for(listed, 60, interval=1, what="DatabaseConnections listed")
    assert metric["Dimensions"] == dimensions
    roles = cloudwatch.list_metrics(
        MetricName="DatabaseConnections", Dimensions=[{"Name": "Role"}]
    )["Metrics"]
    assert {"Name": "DBClusterIdentifier", "Value": CLUSTER} in roles[0]["Dimensions"]

    now = time.time()
    request = {
        "Namespace": "AWS/RDS",
        "MetricName": "DatabaseConnections",
        "Dimensions": dimensions,
        "StartTime": datetime.fromtimestamp(now - 600, UTC),
        "EndTime": datetime.fromtimestamp(now + 60, UTC),
        "Period": 60,
        "Statistics": ["SampleCount", "Average", "Maximum"],
    }

    def datapoints() -> list[dict[str, Any]]:
        points = cloudwatch.get_metric_statistics(**request)["Datapoints"]
        return [p for p in points if p["SampleCount"] >= 2]

    points = wait_for(datapoints, 60, interval=1, what="datapoints with two samples")
    for point in points:
        assert point["Unit"] == "Count"
        assert 1 <= point["Average"] <= point["Maximum"]  # the collector's own connection
        assert point["Timestamp"].second == 0  # one-minute periods start on the minute
        assert point["SampleCount"] <= 12  # one sample every 5 s in a minute

    data = cloudwatch.get_metric_data(
        MetricDataQueries=[
            {
                "Id": "conn",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/RDS",
                        "MetricName": "DatabaseConnections",
                        "Dimensions": dimensions,
                    },
                    "Period": 60,
                    "Stat": "Maximum",
                },
            }
        ],
        StartTime=request["StartTime"],
        EndTime=request["EndTime"],
    )
    (result,) = data["MetricDataResults"]
    assert result["StatusCode"] == "Complete"
    assert result["Timestamps"] == sorted(result["Timestamps"], reverse=True)
    assert result["Values"]

    fine = cloudwatch.get_metric_statistics(**{**request, "Period": 10})["Datapoints"]
    assert fine  # recent data: periods under a minute are served
    assert all(p["SampleCount"] <= 2 and p["Timestamp"].second % 10 == 0 for p in fine)
