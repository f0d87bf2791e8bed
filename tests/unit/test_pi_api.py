"""The PI API over a sample store of known content, through boto3's `pi` client."""

from __future__ import annotations

import json
import socket
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


def raw_post(
    url: str, head: bytes, body: bytes = b"", operation: str = "GetResourceMetadata"
) -> tuple[int, dict[str, str], Any]:
    """Send a request as written, on a raw socket: (status, lowered headers, decoded JSON)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(
            b"POST / HTTP/1.1\r\nHost: pi\r\nConnection: close\r\nX-Amz-Target: "
            b"PerformanceInsightsv20180227." + operation.encode() + b"\r\n" + head + b"\r\n" + body
        )
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    top, _, payload = answer.partition(b"\r\n\r\n")
    lines = top.decode("latin-1").split("\r\n")
    headers = {k.lower(): v for k, v in (line.split(": ", 1) for line in lines[1:])}
    return int(lines[0].split()[1]), headers, json.loads(payload)


def answers_promptly(api: Any) -> None:
    """A good call right after: no server thread is stuck on the bad one."""
    meta = api.get_resource_metadata(ServiceType="RDS", Identifier=RID)
    assert meta["Identifier"] == RID


@pytest.mark.parametrize("length", [b"abc", b"-1", b"-100", b"1e3", b""])
def test_a_non_numeric_or_negative_content_length_is_an_aws_400(api: Any, length: bytes) -> None:
    status, headers, body = raw_post(
        api.meta.endpoint_url, b"Content-Length: " + length + b"\r\n", b"{}"
    )
    assert status == 400
    assert headers["content-type"] == "application/x-amz-json-1.1"
    assert headers["x-amzn-errortype"] == "SerializationException"
    assert body == {"__type": "SerializationException", "message": "Content-Length is invalid"}
    answers_promptly(api)


def test_connections_that_never_send_their_body_hold_no_thread(api: Any) -> None:
    url = api.meta.endpoint_url
    host, port = url.removeprefix("http://").split(":")
    hanging = [socket.create_connection((host, int(port)), timeout=5) for _ in range(10)]
    try:
        for conn in hanging:
            conn.sendall(
                b"POST / HTTP/1.1\r\nHost: pi\r\nX-Amz-Target: PerformanceInsightsv20180227."
                b"GetResourceMetadata\r\nContent-Length: 1000\r\n\r\n{"
            )
        answers_promptly(api)
    finally:
        for conn in hanging:
            conn.close()


@pytest.mark.parametrize(
    ("body", "code", "words"),
    [
        (b"{not json", "SerializationException", "The body is not valid JSON"),
        (b'{"ServiceType": "RDS", "Identifier": NaN}', "SerializationException", "NaN"),
        (b'{"StartTime": 1e999}', "SerializationException", "out of range"),
        (b"[]", "SerializationException", "must be a JSON object"),
        (b'"RDS"', "SerializationException", "must be a JSON object"),
        (b'{"ServiceType": "RDS", "Identifier": 5}', "InvalidArgumentException", "Identifier"),
        (b'{"ServiceType": "RDS"}', "InvalidArgumentException", "Missing required parameter"),
        (b'{"ServiceType": "EC2", "Identifier": "x"}', "InvalidArgumentException", "use RDS"),
        (b'{"ServiceType": "RDS", "Identifier": "a b"}', "InvalidArgumentException", "DbiRes"),
    ],
)
def test_bad_bodies_get_aws_errors(api: Any, body: bytes, code: str, words: str) -> None:
    head = b"Content-Length: " + str(len(body)).encode() + b"\r\n"
    status, headers, answer = raw_post(api.meta.endpoint_url, head, body)
    assert status == 400
    assert headers["x-amzn-errortype"] == code
    assert answer["__type"] == code and words in answer["message"]
    answers_promptly(api)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"StartTime": "yesterday"}, "StartTime: must be a timestamp"),
        ({"StartTime": 1e300}, "StartTime: must be a timestamp"),
        ({"StartTime": -1}, "StartTime: must be a timestamp"),
        ({"StartTime": True}, "StartTime: must be a timestamp"),
        ({"PeriodInSeconds": 1e20}, "PeriodInSeconds: Input should be a valid integer"),
        ({"PeriodInSeconds": "60"}, "PeriodInSeconds: Input should be a valid integer"),
        ({"MetricQueries": "db.load.avg"}, "MetricQueries: Input should be a valid list"),
        ({"MetricQueries": []}, "MetricQueries: List should have at least 1 item"),
        ({"MetricQueries": [{"Metric": 5}]}, "MetricQueries.0.Metric: Input should be a valid"),
        (
            {"MetricQueries": [{"Metric": "db.load.avg", "GroupBy": {"Group": "db", "Limit": 99}}]},
            "MetricQueries.0.GroupBy.Limit: Input should be less than or equal to 25",
        ),
        (
            {"MetricQueries": [{"Metric": "db.load.avg", "Filter": {"db.name": 1}}]},
            "MetricQueries.0.Filter.db.name: Input should be a valid string",
        ),
        ({"PeriodAlignment": "MIDDLE"}, "PeriodAlignment: Input should be 'END_TIME'"),
        ({"EndTime": T + 10**9}, "more than 100000 periods"),
    ],
)
def test_wrong_types_and_sizes_name_the_parameter(
    api: Any, change: dict[str, Any], words: str
) -> None:
    body = {
        "ServiceType": "RDS",
        "Identifier": RID,
        "StartTime": T,
        "EndTime": T + 60,
        "PeriodInSeconds": 1,
        "MetricQueries": [{"Metric": "db.load.avg"}],
        **change,
    }
    raw = json.dumps(body).encode()
    status, _, answer = raw_post(
        api.meta.endpoint_url,
        b"Content-Length: " + str(len(raw)).encode() + b"\r\n",
        raw,
        "GetResourceMetrics",
    )
    assert status == 400, answer
    assert answer["__type"] == "InvalidArgumentException"
    assert words in answer["message"], answer["message"]
    answers_promptly(api)


def test_unknown_operations_routes_and_methods(api: Any) -> None:
    url = api.meta.endpoint_url
    request = urllib.request.Request(  # noqa: S310 - our own server
        url,
        data=b"{}",
        headers={"X-Amz-Target": "PerformanceInsightsv20180227.DeleteEverything"},
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=5)  # noqa: S310
    assert caught.value.code == 400
    assert json.load(caught.value)["__type"] == "UnknownOperationException"
    for path, method, status in (("/nope", "POST", 404), ("/", "GET", 405)):
        request = urllib.request.Request(  # noqa: S310
            url + path, data=b"{}" if method == "POST" else None, method=method
        )
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(request, timeout=5)  # noqa: S310
        assert caught.value.code == status
        assert caught.value.headers["Content-Type"] == "application/x-amz-json-1.1"
        assert set(json.load(caught.value)) == {"__type", "message"}
    answers_promptly(api)


def test_a_group_that_is_not_an_object_says_so_without_naming_our_classes(api: Any) -> None:
    base = {"ServiceType": "RDS", "Identifier": RID, "StartTime": T, "EndTime": T + 60}
    for group_by, message in (
        ("db", "MetricQueries.0.GroupBy: Input should be an object"),
        (
            {"Group": "db.user", "Limit": 0},
            "MetricQueries.0.GroupBy.Limit: Input should be greater than or equal to 1",
        ),
    ):
        raw = json.dumps(
            {**base, "MetricQueries": [{"Metric": "db.load.avg", "GroupBy": group_by}]}
        )
        status, _, answer = raw_post(
            api.meta.endpoint_url,
            b"Content-Length: " + str(len(raw)).encode() + b"\r\n",
            raw.encode(),
            "GetResourceMetrics",
        )
        assert (status, answer) == (
            400,
            {"__type": "InvalidArgumentException", "message": message},
        )
