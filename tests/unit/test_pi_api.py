"""The PI API over a sample store of known content, through boto3's `pi` client."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from collector.activity import ActiveSession, Sample
from collector.pi_api import PiHttp
from collector.pi_catalog import STAT_FIELDS
from collector.pi_query import PiQueries
from collector.pi_stats import StatementDelta, StatsSnapshot
from collector.pi_store import PiStore
from collector.targets import Target
from tests.conftest import PORT_BASE

PORT = PORT_BASE + 700
T = 1_700_000_040  # a multiple of 60
RID = "db-TESTRESOURCE1"
TARGET = Target("c", "i-1", "host=127.0.0.1", resource_id=RID)
TEXTS = {"111": "select pg_sleep(?)", "222": "select md5(?)", "333": "update t set a = ?"}


class Book:
    def text(self, key: str) -> str:
        return TEXTS.get(key, "")


def session(pid: int, wait: tuple[str, str], digest: str, user: str) -> ActiveSession:
    return ActiveSession(
        pid=pid,
        user=user,
        database="app",
        application="web",
        host="10.0.0.1",
        session_type="client backend",
        wait_event_type=wait[0],
        wait_event=wait[1],
        query_id=int(digest),
        query="",
        user_id=10 if user == "app" else 11,
        digest_id=digest,
        sql_id=digest,
    )


def fill(store: PiStore) -> None:
    """Two minutes at one sample a second: 2 sleeping, 1 on CPU; a lock waiter in minute 2."""
    for second in range(120):
        sessions = [
            session(1, ("Timeout", "PgSleep"), "111", "app"),
            session(2, ("Timeout", "PgSleep"), "111", "app"),
            session(3, ("CPU", "CPU"), "222", "batch"),
        ]
        if second >= 60:
            sessions.append(session(4, ("Lock", "transactionid"), "333", "app"))
        store.add_sample(Sample(TARGET, T + second + 0.5, 1.0, tuple(sessions)), Book())
    for at, commits in ((0, 0.0), (10, 100.0), (20, 300.0)):
        deltas = (StatementDelta("222", (50.0, 500.0, 50.0, 100.0, 4.0, 0, 0, 0, 0)),)
        assert len(deltas[0].values) == len(STAT_FIELDS)
        store.add_stats(
            StatsSnapshot(
                TARGET,
                T + at,
                10.0 if at else 0.0,
                deltas if at else (),
                {"xact_commit": commits, "numbackends": 5.0 + at},
            )
        )
    store.flush()


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    store = PiStore(Path(tmp_path_factory.mktemp("pi")) / "pi.db", retention_days=7)
    fill(store)
    queries = PiQueries(
        store,
        [RID],
        sql_literals=False,
        stats_interval_s=10,
        features=lambda rid: {"WAIT_SAMPLING": "ENABLED"},
    )
    server = PiHttp("127.0.0.1", PORT, queries)
    server.start()
    yield boto3.client(
        "pi",
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    server.stop()


def stamps(points: list[dict[str, Any]]) -> list[float]:
    return [p["Timestamp"].timestamp() for p in points]


def values(points: list[dict[str, Any]]) -> list[float]:
    return [round(p["Value"], 6) for p in points]


def test_db_load_total_comes_first_then_the_top_groups(api: Any) -> None:
    answer = api.get_resource_metrics(
        ServiceType="RDS",
        Identifier=RID,
        StartTime=T,
        EndTime=T + 120,
        PeriodInSeconds=60,
        MetricQueries=[
            {"Metric": "db.load.avg", "GroupBy": {"Group": "db.wait_event", "Limit": 2}}
        ],
    )
    assert answer["AlignedStartTime"].timestamp() == T
    assert answer["AlignedEndTime"].timestamp() == T + 120
    assert answer["Identifier"] == RID
    keys = answer["MetricList"]
    assert keys[0]["Key"] == {"Metric": "db.load.avg"}
    assert values(keys[0]["DataPoints"]) == [3.0, 4.0]
    assert [k["Key"]["Dimensions"] for k in keys[1:]] == [
        {"db.wait_event.name": "Timeout:PgSleep", "db.wait_event.type": "Timeout"},
        {"db.wait_event.name": "CPU", "db.wait_event.type": "CPU"},
    ]
    assert values(keys[1]["DataPoints"]) == [2.0, 2.0]
    # Every key has the same timestamps: the ends of the periods (PeriodAlignment END_TIME).
    for key in keys:
        assert stamps(key["DataPoints"]) == [T + 60, T + 120]


def test_periods_align_outward_and_start_time_alignment_labels_period_starts(api: Any) -> None:
    answer = api.get_resource_metrics(
        ServiceType="RDS",
        Identifier=RID,
        StartTime=T + 90.5,
        EndTime=T + 92.2,
        PeriodInSeconds=1,
        PeriodAlignment="START_TIME",
        MetricQueries=[{"Metric": "db.sampledload.avg"}],
    )
    assert answer["AlignedStartTime"].timestamp() == T + 90
    assert answer["AlignedEndTime"].timestamp() == T + 93
    points = answer["MetricList"][0]["DataPoints"]
    assert stamps(points) == [T + 90, T + 91, T + 92]
    assert values(points) == [4.0, 4.0, 4.0]


def test_a_filter_restricts_every_key(api: Any) -> None:
    answer = api.get_resource_metrics(
        ServiceType="RDS",
        Identifier=RID,
        StartTime=T,
        EndTime=T + 120,
        PeriodInSeconds=60,
        MetricQueries=[
            {
                "Metric": "db.load.avg",
                "GroupBy": {"Group": "db.sql_tokenized"},
                "Filter": {"db.user.name": "app"},
            }
        ],
    )
    keys = answer["MetricList"]
    assert values(keys[0]["DataPoints"]) == [2.0, 3.0]
    assert [k["Key"]["Dimensions"]["db.sql_tokenized.statement"] for k in keys[1:]] == [
        "select pg_sleep(?)",
        "update t set a = ?",
    ]
    by_wait = api.get_resource_metrics(
        ServiceType="RDS",
        Identifier=RID,
        StartTime=T,
        EndTime=T + 120,
        PeriodInSeconds=60,
        MetricQueries=[{"Metric": "db.load.avg", "Filter": {"db.wait_event.name": "CPU"}}],
    )
    assert values(by_wait["MetricList"][0]["DataPoints"]) == [1.0, 1.0]


def test_the_period_is_chosen_when_omitted(api: Any) -> None:
    answer = api.get_resource_metrics(
        ServiceType="RDS",
        Identifier=RID,
        StartTime=T,
        EndTime=T + 120,
        MetricQueries=[{"Metric": "db.load.avg"}],
    )
    assert len(answer["MetricList"][0]["DataPoints"]) == 120  # 1 s periods for 2 minutes


def test_counters_are_rates_with_statistics(api: Any) -> None:
    answer = api.get_resource_metrics(
        ServiceType="RDS",
        Identifier=RID,
        StartTime=T,
        EndTime=T + 60,
        PeriodInSeconds=60,
        MetricQueries=[
            {"Metric": "db.Transactions.xact_commit.avg"},
            {"Metric": "db.Transactions.xact_commit.max"},
            {"Metric": "db.Transactions.xact_commit.sum"},
            {"Metric": "db.User.numbackends.min"},
        ],
    )
    got = {k["Key"]["Metric"]: values(k["DataPoints"]) for k in answer["MetricList"]}
    assert got == {
        "db.Transactions.xact_commit.avg": [15.0],
        "db.Transactions.xact_commit.max": [20.0],
        "db.Transactions.xact_commit.sum": [30.0],
        "db.User.numbackends.min": [5.0],
    }


def test_describe_dimension_keys_with_partitions_stats_and_pages(api: Any) -> None:
    request = {
        "ServiceType": "RDS",
        "Identifier": RID,
        "StartTime": T,
        "EndTime": T + 120,
        "PeriodInSeconds": 60,
        "Metric": "db.load.avg",
        "GroupBy": {"Group": "db.sql_tokenized"},
        "PartitionBy": {"Group": "db.wait_event", "Dimensions": ["db.wait_event.name"]},
        "AdditionalMetrics": [
            "db.sql_tokenized.stats.calls_per_sec.avg",
            "db.sql_tokenized.stats.avg_latency_per_call.avg",
            "db.sql_tokenized.stats.rows_per_call.avg",
            "db.sql_tokenized.stats.shared_blks_hit_per_call.avg",
            "db.sql_tokenized.stats.shared_blks_read_per_sec.avg",
        ],
        "MaxResults": 2,
    }
    first = api.describe_dimension_keys(**request)
    assert [p["Dimensions"] for p in first["PartitionKeys"]] == [
        {"db.wait_event.name": "Timeout:PgSleep"},
        {"db.wait_event.name": "CPU"},
    ]
    sleep, md5 = first["Keys"]
    assert sleep["Dimensions"]["db.sql_tokenized.statement"] == "select pg_sleep(?)"
    assert sleep["Total"] == pytest.approx(2.0)
    assert sleep["Partitions"] == [pytest.approx(2.0), 0.0]
    assert sleep["AdditionalMetrics"] == {}  # no pg_stat_statements deltas for it
    assert md5["Total"] == pytest.approx(1.0)
    assert md5["AdditionalMetrics"] == {
        "db.sql_tokenized.stats.calls_per_sec.avg": pytest.approx(5.0),
        "db.sql_tokenized.stats.avg_latency_per_call.avg": pytest.approx(10.0),
        "db.sql_tokenized.stats.rows_per_call.avg": pytest.approx(1.0),
        "db.sql_tokenized.stats.shared_blks_hit_per_call.avg": pytest.approx(2.0),
        "db.sql_tokenized.stats.shared_blks_read_per_sec.avg": pytest.approx(0.4),
    }
    second = api.describe_dimension_keys(**request, NextToken=first["NextToken"])
    assert [k["Dimensions"]["db.sql_tokenized.id"] for k in second["Keys"]] == ["333"]
    assert second["Keys"][0]["Total"] == pytest.approx(0.5)
    assert "NextToken" not in second


def test_statement_details_carry_no_literals_by_default(api: Any) -> None:
    details = api.get_dimension_key_details(
        ServiceType="RDS",
        Identifier=RID,
        Group="db.sql_tokenized",
        GroupIdentifier="333",
        RequestedDimensions=["statement"],
    )
    assert details["Dimensions"] == [
        {
            "Dimension": "db.sql_tokenized.statement",
            "Value": "update t set a = ?",
            "Status": "AVAILABLE",
        }
    ]
    sql = api.get_dimension_key_details(
        ServiceType="RDS", Identifier=RID, Group="db.sql", GroupIdentifier="333"
    )
    assert sql["Dimensions"][0]["Value"] == "update t set a = ?"


def test_metadata_and_what_is_available(api: Any) -> None:
    meta = api.get_resource_metadata(ServiceType="RDS", Identifier=RID)
    assert meta["Features"] == {"WAIT_SAMPLING": {"Status": "ENABLED"}}
    dims = api.list_available_resource_dimensions(
        ServiceType="RDS", Identifier=RID, Metrics=["db.load"]
    )
    groups = {
        g["Group"]: [d["Identifier"] for d in g["Dimensions"]]
        for g in dims["MetricDimensions"][0]["Groups"]
    }
    assert groups["db.wait_event"] == ["db.wait_event.name", "db.wait_event.type"]
    assert set(groups) >= {
        "db.sql_tokenized",
        "db.user",
        "db.host",
        "db.application",
        "db",
        "db.session_type",
    }
    metrics = api.list_available_resource_metrics(
        ServiceType="RDS", Identifier=RID, MetricTypes=["os", "db.sql_tokenized.stats"]
    )
    names = {m["Metric"] for m in metrics["Metrics"]}
    assert "os.general.numVCPUs" in names
    assert "db.sql_tokenized.stats.calls_per_sec" in names
    assert not any(n.startswith("db.Transactions") for n in names)
    page = api.list_available_resource_metrics(
        ServiceType="RDS", Identifier=RID, MetricTypes=["db"], MaxResults=3
    )
    assert len(page["Metrics"]) == 3 and page["NextToken"]


def error_of(call: Any, **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    error = caught.value.response["Error"]
    return error["Code"], error["Message"]


def test_bad_requests_get_aws_errors(api: Any) -> None:
    base = {"ServiceType": "RDS", "Identifier": RID, "StartTime": T, "EndTime": T + 60}
    code, message = error_of(
        api.get_resource_metrics,
        **{**base, "Identifier": "db-UNKNOWN"},
        MetricQueries=[{"Metric": "db.load.avg"}],
    )
    assert code == "NotAuthorizedException" and "db-UNKNOWN" in message
    code, message = error_of(
        api.get_resource_metrics,
        **base,
        PeriodInSeconds=10,
        MetricQueries=[{"Metric": "db.load.avg"}],
    )
    assert code == "InvalidArgumentException" and "1, 60, 300, 3600, 86400" in message
    code, message = error_of(
        api.get_resource_metrics,
        **base,
        MetricQueries=[{"Metric": "db.load.avg", "GroupBy": {"Group": "db.nope"}}],
    )
    assert code == "InvalidArgumentException" and "db.nope" in message
    code, message = error_of(
        api.get_resource_metrics,
        **{**base, "EndTime": T},
        MetricQueries=[{"Metric": "db.load.avg"}],
    )
    assert code == "InvalidArgumentException" and "earlier" in message
    code, message = error_of(
        api.get_resource_metrics, **base, MetricQueries=[{"Metric": "db.made.up.avg"}]
    )
    assert code == "InvalidArgumentException" and "db.made.up.avg" in message
    code, message = error_of(
        api.get_resource_metrics,
        **base,
        MetricQueries=[{"Metric": "db.load.avg", "Filter": {"db.colour": "red"}}],
    )
    assert code == "InvalidArgumentException" and "db.colour" in message
    code, message = error_of(
        api.describe_dimension_keys,
        **base,
        Metric="db.load.avg",
        GroupBy={"Group": "db.user"},
        AdditionalMetrics=["db.sql_tokenized.stats.calls_per_sec.avg"],
    )
    assert code == "InvalidArgumentException" and "db.sql_tokenized" in message
    code, _ = error_of(
        api.get_dimension_key_details,
        ServiceType="RDS",
        Identifier=RID,
        Group="db.sql_tokenized",
        GroupIdentifier="does-not-exist",
    )
    assert code == "InvalidArgumentException"


def test_raw_requests_with_a_wrong_target_or_body(api: Any) -> None:
    url = api.meta.endpoint_url

    def post(target: str, body: bytes) -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(  # noqa: S310 - our own server
            url, data=body, headers={"X-Amz-Target": target}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
                return response.status, json.load(response)
        except urllib.error.HTTPError as exc:
            return exc.code, json.load(exc)

    assert post("Nope.GetResourceMetrics", b"{}") == (
        400,
        {
            "__type": "UnknownOperationException",
            "message": "X-Amz-Target must be PerformanceInsightsv20180227.<Operation>, "
            "not 'Nope.GetResourceMetrics'",
        },
    )
    status, body = post("PerformanceInsightsv20180227.GetResourceMetrics", b"{not json")
    assert (status, body["__type"]) == (400, "SerializationException")
    status, body = post("PerformanceInsightsv20180227.GetResourceMetrics", b"{}")
    assert (status, body["__type"]) == (400, "InvalidArgumentException")
    assert "ServiceType" in body["message"]
