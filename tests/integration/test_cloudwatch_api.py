"""The CloudWatch-compatible API, read side, with boto3 as the client, against a real
Prometheus holding known samples (see cloudwatch_data): every figure is checked against
the same statistic computed here from the samples."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from alerts.cloudwatch_api import start_service
from core.httpapi import HttpServer
from tests.conftest import INTEGRATION_PORTS, cloudwatch_client
from tests.integration.cloudwatch_data import EXTRA_INSTANCES, KnownData, start_prometheus

PROMETHEUS_PORT = INTEGRATION_PORTS + 800
INSTANCE = [{"Name": "DBInstanceIdentifier", "Value": "db1"}]


@pytest.fixture(scope="module")
def known(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KnownData]:
    start = (int(time.time()) // 3600 - 3) * 3600
    yield from start_prometheus(tmp_path_factory.mktemp("prom"), PROMETHEUS_PORT, start)


@pytest.fixture(scope="module")
def api(known: KnownData) -> Iterator[HttpServer]:
    server = start_service(port=0, prometheus_url=known.url)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def cloudwatch(api: HttpServer) -> Any:
    return cloudwatch_client(api.url)


def at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def stats(values: list[float]) -> dict[str, float]:
    return {
        "SampleCount": float(len(values)),
        "Average": statistics.fmean(values),
        "Sum": sum(values),
        "Minimum": min(values),
        "Maximum": max(values),
    }


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks, as Prometheus' quantile_over_time."""
    ordered = sorted(values)
    rank = q * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def in_period(samples: list[tuple[int, float]], start: int, period: int) -> list[float]:
    return [v for t, v in samples if start <= t < start + period]


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


# --- GetMetricStatistics ---------------------------------------------------------------------


def test_each_minute_has_the_statistics_of_its_own_samples(
    cloudwatch: Any, known: KnownData
) -> None:
    response = cloudwatch.get_metric_statistics(
        Namespace="AWS/RDS",
        MetricName="CPUUtilization",
        Dimensions=INSTANCE,
        StartTime=at(known.start),
        EndTime=at(known.start + 600),
        Period=60,
        Statistics=["SampleCount", "Average", "Sum", "Minimum", "Maximum"],
    )
    assert response["Label"] == "CPUUtilization"
    points = sorted(response["Datapoints"], key=lambda p: p["Timestamp"])
    assert [p["Timestamp"] for p in points] == [at(known.start + 60 * k) for k in range(10)]
    for k, point in enumerate(points):
        expected = stats(in_period(known.samples("db1"), known.start + 60 * k, 60))
        assert point["SampleCount"] == 12
        for name, value in expected.items():
            assert point[name] == pytest.approx(value), (k, name)
        assert point["Unit"] == "Percent"


def test_five_minute_periods_and_percentiles(cloudwatch: Any, known: KnownData) -> None:
    response = cloudwatch.get_metric_statistics(
        Namespace="AWS/RDS",
        MetricName="CPUUtilization",
        Dimensions=INSTANCE,
        StartTime=at(known.start),
        EndTime=at(known.start + 600),
        Period=300,
        ExtendedStatistics=["p90", "p50", "p99.5"],
    )
    points = sorted(response["Datapoints"], key=lambda p: p["Timestamp"])
    assert [p["Timestamp"] for p in points] == [at(known.start), at(known.start + 300)]
    for k, point in enumerate(points):
        values = in_period(known.samples("db1"), known.start + 300 * k, 300)
        assert len(values) == 60
        for name, q in (("p90", 0.9), ("p50", 0.5), ("p99.5", 0.995)):
            assert point["ExtendedStatistics"][name] == pytest.approx(percentile(values, q))
        assert "Average" not in point


def test_start_time_is_rounded_down_to_the_minute(cloudwatch: Any, known: KnownData) -> None:
    response = cloudwatch.get_metric_statistics(
        Namespace="AWS/RDS",
        MetricName="CPUUtilization",
        Dimensions=INSTANCE,
        StartTime=at(known.start + 75),
        EndTime=at(known.start + 180),
        Period=60,
        Statistics=["Maximum"],
    )
    stamps = sorted(p["Timestamp"] for p in response["Datapoints"])
    assert stamps == [at(known.start + 60), at(known.start + 120)]


def test_periods_under_a_minute_are_kept_three_hours(cloudwatch: Any, known: KnownData) -> None:
    def count(period: int) -> int:
        return len(
            cloudwatch.get_metric_statistics(
                Namespace="AWS/RDS",
                MetricName="CPUUtilization",
                Dimensions=INSTANCE,
                StartTime=at(known.start),
                EndTime=at(known.start + 60),
                Period=period,
                Statistics=["SampleCount"],
            )["Datapoints"]
        )

    assert time.time() - known.start > 3 * 3600  # the known samples are older than 3 hours
    assert count(30) == 0
    assert count(60) == 1


def test_a_period_without_samples_has_no_datapoint(cloudwatch: Any, known: KnownData) -> None:
    response = cloudwatch.get_metric_statistics(
        Namespace="AWS/RDS",
        MetricName="CPUUtilization",
        Dimensions=[{"Name": "DBInstanceIdentifier", "Value": "db2"}],
        StartTime=at(known.start),
        EndTime=at(known.start + 600),
        Period=60,
        Statistics=["Average"],
    )
    stamps = sorted(p["Timestamp"] for p in response["Datapoints"])
    assert len(stamps) == 9
    assert at(known.start + 240) not in stamps


def test_role_and_cluster_dimensions_pool_their_instances(
    cloudwatch: Any, known: KnownData
) -> None:
    def period_stats(dimensions: list[dict[str, str]]) -> dict[str, Any]:
        response = cloudwatch.get_metric_statistics(
            Namespace="AWS/RDS",
            MetricName="CPUUtilization",
            Dimensions=dimensions,
            StartTime=at(known.start),
            EndTime=at(known.start + 60),
            Period=60,
            Statistics=["Average", "Maximum", "SampleCount"],
        )
        (point,) = response["Datapoints"]
        return dict(point)

    writer = period_stats(
        [{"Name": "DBClusterIdentifier", "Value": "c1"}, {"Name": "Role", "Value": "WRITER"}]
    )
    assert writer["Average"] == pytest.approx(
        statistics.fmean(in_period(known.samples("db1"), known.start, 60))
    )
    pooled = in_period(known.samples("db1"), known.start, 60) + in_period(
        known.samples("db2"), known.start, 60
    )
    cluster = period_stats([{"Name": "DBClusterIdentifier", "Value": "c1"}])
    assert cluster["SampleCount"] == 24
    assert cluster["Average"] == pytest.approx(statistics.fmean(pooled))
    assert cluster["Maximum"] == max(pooled)


def test_a_cluster_metric_and_units(cloudwatch: Any, known: KnownData) -> None:
    def volume(unit: str | None) -> list[dict[str, Any]]:
        extra = {"Unit": unit} if unit else {}
        return list(
            cloudwatch.get_metric_statistics(
                Namespace="AWS/RDS",
                MetricName="VolumeBytesUsed",
                Dimensions=[{"Name": "DBClusterIdentifier", "Value": "c1"}],
                StartTime=at(known.start),
                EndTime=at(known.start + 120),
                Period=60,
                Statistics=["Minimum", "Maximum"],
                **extra,
            )["Datapoints"]
        )

    points = sorted(volume("Bytes"), key=lambda p: p["Timestamp"])
    assert [(p["Minimum"], p["Maximum"], p["Unit"]) for p in points] == [
        (1000.0, 1011.0, "Bytes"),
        (1012.0, 1023.0, "Bytes"),
    ]
    assert volume("Percent") == []  # another unit: no datapoints, as CloudWatch answers


def test_unknown_metrics_and_dimensions_have_no_datapoints(
    cloudwatch: Any, known: KnownData
) -> None:
    for namespace, name, dims in (
        ("AWS/EC2", "CPUUtilization", INSTANCE),
        ("AWS/RDS", "NoSuchMetric", INSTANCE),
        ("AWS/RDS", "CPUUtilization", [{"Name": "EngineName", "Value": "aurora-postgresql"}]),
        ("AWS/RDS", "CPUUtilization", [{"Name": "DBInstanceIdentifier", "Value": "nope"}]),
    ):
        response = cloudwatch.get_metric_statistics(
            Namespace=namespace,
            MetricName=name,
            Dimensions=dims,
            StartTime=at(known.start),
            EndTime=at(known.start + 600),
            Period=60,
            Statistics=["Average"],
        )
        assert response["Datapoints"] == [], (namespace, name, dims)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"Period": 61}, "InvalidParameterValue"),
        ({"EndTime": "start"}, "InvalidParameterValue"),
        ({"Statistics": None}, "MissingParameter"),
        ({"ExtendedStatistics": ["p90"]}, "InvalidParameterCombination"),
        ({"Statistics": ["Median"]}, "InvalidParameterValue"),
        ({"Statistics": None, "ExtendedStatistics": ["p101"]}, "InvalidParameterValue"),
        ({"Unit": "Furlongs"}, "InvalidParameterValue"),
        ({"StartTime": "two days before"}, "InvalidParameterCombination"),
    ],
)
def test_bad_requests_get_cloudwatch_error_codes(
    cloudwatch: Any, known: KnownData, change: dict[str, Any], code: str
) -> None:
    request: dict[str, Any] = {
        "Namespace": "AWS/RDS",
        "MetricName": "CPUUtilization",
        "Dimensions": INSTANCE,
        "StartTime": at(known.start),
        "EndTime": at(known.start + 600),
        "Period": 60,
        "Statistics": ["Average"],
    }
    request.update(change)
    if request["EndTime"] == "start":
        request["EndTime"] = request["StartTime"]
    if request["StartTime"] == "two days before":  # 2,890 one-minute periods > 1,440
        request["StartTime"] = at(known.start - 2 * 86_400)
    request = {k: v for k, v in request.items() if v is not None}
    with pytest.raises(ClientError) as exc:
        cloudwatch.get_metric_statistics(**request)
    assert error_code(exc) == code
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_the_datapoint_limit_message(cloudwatch: Any, known: KnownData) -> None:
    with pytest.raises(ClientError) as exc:
        cloudwatch.get_metric_statistics(
            Namespace="AWS/RDS",
            MetricName="CPUUtilization",
            StartTime=at(known.start),
            EndTime=at(known.start + 1441 * 60),
            Period=60,
            Statistics=["Average"],
        )
    assert "1,441 datapoints, which exceeds the limit of 1,440" in str(exc.value)


# --- ListMetrics -----------------------------------------------------------------------------


def _listed(cloudwatch: Any, **filters: Any) -> list[tuple[str, tuple[tuple[str, str], ...]]]:
    pages = cloudwatch.get_paginator("list_metrics").paginate(**filters)
    return sorted(
        (m["MetricName"], tuple((d["Name"], d["Value"]) for d in m["Dimensions"]))
        for page in pages
        for m in page["Metrics"]
    )


def test_list_metrics_shows_the_dimension_sets_present(cloudwatch: Any, known: KnownData) -> None:
    cpu = _listed(cloudwatch, Namespace="AWS/RDS", MetricName="CPUUtilization")
    assert cpu == [
        ("CPUUtilization", (("DBClusterIdentifier", "c1"), ("Role", "READER"))),
        ("CPUUtilization", (("DBClusterIdentifier", "c1"), ("Role", "WRITER"))),
        ("CPUUtilization", (("DBInstanceIdentifier", "db1"),)),
        ("CPUUtilization", (("DBInstanceIdentifier", "db2"),)),
    ]
    volume = _listed(cloudwatch, MetricName="VolumeBytesUsed")
    assert volume == [("VolumeBytesUsed", (("DBClusterIdentifier", "c1"),))]
    by_instance = _listed(cloudwatch, Dimensions=[{"Name": "DBInstanceIdentifier", "Value": "db2"}])
    assert by_instance == [("CPUUtilization", (("DBInstanceIdentifier", "db2"),))]
    with_role = _listed(cloudwatch, Dimensions=[{"Name": "Role"}], MetricName="CPUUtilization")
    assert len(with_role) == 2
    assert _listed(cloudwatch, Namespace="AWS/EC2") == []


def test_list_metrics_pages_with_next_token(cloudwatch: Any, known: KnownData) -> None:
    first = cloudwatch.list_metrics(Namespace="AWS/RDS")
    assert len(first["Metrics"]) == 500
    assert "NextToken" in first
    everything = _listed(cloudwatch, Namespace="AWS/RDS")
    # per extra instance: [DBInstanceIdentifier]; big's two role sets; and the c1 sets
    assert len(everything) == EXTRA_INSTANCES + 2 + 4 + 1
    assert len(set(everything)) == len(everything)
    with pytest.raises(ClientError) as exc:
        cloudwatch.list_metrics(NextToken="not-a-token")
    assert error_code(exc) == "InvalidNextToken"


# --- GetMetricData ---------------------------------------------------------------------------


def _cpu_query(query_id: str, instance: str, stat: str = "Average", **extra: Any) -> dict[str, Any]:
    metric = {
        "Namespace": "AWS/RDS",
        "MetricName": "CPUUtilization",
        "Dimensions": [{"Name": "DBInstanceIdentifier", "Value": instance}],
    }
    return {"Id": query_id, "MetricStat": {"Metric": metric, "Period": 60, "Stat": stat}, **extra}


def test_get_metric_data_newest_first_with_math(cloudwatch: Any, known: KnownData) -> None:
    response = cloudwatch.get_metric_data(
        MetricDataQueries=[
            _cpu_query("m1", "db1"),
            _cpu_query("m2", "db2", "Maximum", ReturnData=False),
            {"Id": "total", "Expression": "(m1 + m2) * 2", "Label": "twice the sum"},
            {"Id": "big", "Expression": "MAX([m1, m2]) - 1"},
            {"Id": "quarter", "Expression": "total / 4"},  # an expression over an expression
        ],
        StartTime=at(known.start),
        EndTime=at(known.start + 600),
    )
    results = {r["Id"]: r for r in response["MetricDataResults"]}
    assert set(results) == {"m1", "total", "big", "quarter"}
    m1 = results["m1"]
    assert m1["Label"] == "CPUUtilization"
    assert m1["StatusCode"] == "Complete"
    assert m1["Timestamps"] == [at(known.start + 60 * k) for k in reversed(range(10))]
    averages = [
        statistics.fmean(in_period(known.samples("db1"), known.start + 60 * k, 60))
        for k in reversed(range(10))
    ]
    assert m1["Values"] == pytest.approx(averages)
    maxima = {
        known.start + 60 * k: max(in_period(known.samples("db2"), known.start + 60 * k, 60))
        for k in range(10)
        if k != 4
    }
    total = results["total"]
    assert total["Label"] == "twice the sum"
    assert len(total["Timestamps"]) == 9  # m2 has no datapoint in the fifth minute
    for stamp, value in zip(total["Timestamps"], total["Values"], strict=True):
        k = (int(stamp.timestamp()) - known.start) // 60
        assert value == pytest.approx(2 * (averages[9 - k] + maxima[int(stamp.timestamp())]))
    assert len(results["big"]["Values"]) == 10  # MAX of what is present at each timestamp
    assert results["quarter"]["Timestamps"] == total["Timestamps"]
    assert results["quarter"]["Values"] == pytest.approx([v / 4 for v in total["Values"]])


def test_get_metric_data_pages_by_max_datapoints(cloudwatch: Any, known: KnownData) -> None:
    request = {
        "MetricDataQueries": [_cpu_query("a", "db1", "Minimum"), _cpu_query("b", "db1", "p90")],
        "StartTime": at(known.start),
        "EndTime": at(known.start + 600),
        "ScanBy": "TimestampAscending",
        "MaxDatapoints": 7,
    }
    seen: dict[str, list[datetime]] = {"a": [], "b": []}
    token = None
    pages = 0
    while True:
        response = cloudwatch.get_metric_data(**request, **({"NextToken": token} if token else {}))
        pages += 1
        for result in response["MetricDataResults"]:
            seen[result["Id"]].extend(result["Timestamps"])
            if "NextToken" in response and result["Timestamps"]:
                assert result["StatusCode"] in ("PartialData", "Complete")
        token = response.get("NextToken")
        if token is None:
            break
    assert pages == 3
    expected = [at(known.start + 60 * k) for k in range(10)]
    assert seen == {"a": expected, "b": expected}


@pytest.mark.parametrize(
    ("queries", "code"),
    [
        ([{"Id": "Upper", "Expression": "1"}], "InvalidParameterValue"),
        ([{"Id": "e1", "Expression": "nope * 2"}], "ValidationError"),
        ([{"Id": "e1", "Expression": "(1 + "}], "ValidationError"),
        ([{"Id": "m1"}], "ValidationError"),
        ([{"Id": "a", "Expression": "b"}, {"Id": "b", "Expression": "a + 1"}], "ValidationError"),
    ],
)
def test_get_metric_data_refuses_bad_queries(
    cloudwatch: Any, known: KnownData, queries: list[dict[str, Any]], code: str
) -> None:
    with pytest.raises(ClientError) as exc:
        cloudwatch.get_metric_data(
            MetricDataQueries=queries, StartTime=at(known.start), EndTime=at(known.start + 60)
        )
    assert error_code(exc) == code


def test_a_truncated_result_says_partial_data(cloudwatch: Any, known: KnownData) -> None:
    response = cloudwatch.get_metric_data(
        MetricDataQueries=[_cpu_query("m1", "db1")],
        StartTime=at(known.start),
        EndTime=at(known.start + 600),
        MaxDatapoints=4,
    )
    (result,) = response["MetricDataResults"]
    assert result["StatusCode"] == "PartialData"
    assert len(result["Values"]) == 4
    assert result["Timestamps"][0] == at(known.start + 540)  # newest first
    assert "NextToken" in response
