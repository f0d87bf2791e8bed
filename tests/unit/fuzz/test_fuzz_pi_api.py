"""The Performance Insights API fuzzed with bad shapes, types and sizes (valid requests of each
operation, mutated): a 2xx or an AWS-shaped 4xx ({"__type", "message"}), never a 5xx."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from hypothesis import given
from hypothesis import strategies as st

from collector.pi_api import TARGET_PREFIX, create_app
from collector.pi_query import PiQueries
from collector.pi_store import PiStore
from tests.unit.fuzz import fuzz
from tests.unit.fuzz.requests import AWS_ERROR_KEYS, HEADER_TEXT, Call, answer, bodies
from tests.unit.test_pi_api import RID, T, fill

RANGE = {"ServiceType": "RDS", "Identifier": RID, "StartTime": T, "EndTime": T + 120}
GROUP = {"Group": "db.sql", "Dimensions": ["db.sql.id", "db.sql.statement"], "Limit": 5}
VALID = {
    "GetResourceMetrics": {
        **RANGE,
        "PeriodInSeconds": 60,
        "MetricQueries": [
            {"Metric": "db.load.avg", "GroupBy": GROUP, "Filter": {"db.user.name": "app"}},
            {"Metric": "db.Transactions.xact_commit.avg"},
        ],
        "MaxResults": 10,
        "PeriodAlignment": "END_TIME",
    },
    "DescribeDimensionKeys": {
        **RANGE,
        "Metric": "db.load.avg",
        "GroupBy": GROUP,
        "PartitionBy": {"Group": "db.wait_event"},
        "AdditionalMetrics": ["db.sql_tokenized.stats.calls_per_sec.avg"],
        "Filter": {"db.wait_event.type": "CPU"},
        "MaxResults": 5,
    },
    "GetDimensionKeyDetails": {
        "ServiceType": "RDS",
        "Identifier": RID,
        "Group": "db.sql",
        "GroupIdentifier": "111",
        "RequestedDimensions": ["statement"],
    },
    "GetResourceMetadata": {"ServiceType": "RDS", "Identifier": RID},
    "ListAvailableResourceDimensions": {
        "ServiceType": "RDS",
        "Identifier": RID,
        "Metrics": ["db.load"],
        "AuthorizedActions": ["DescribeDimensionKeys"],
        "MaxResults": 10,
    },
    "ListAvailableResourceMetrics": {
        "ServiceType": "RDS",
        "Identifier": RID,
        "MetricTypes": ["os", "db"],
        "MaxResults": 10,
    },
}


@pytest.fixture(scope="module")
def app() -> Iterator[Flask]:
    with tempfile.TemporaryDirectory() as tmp:
        store = PiStore(Path(tmp) / "pi.db", retention_days=7)
        fill(store)
        queries = PiQueries(
            store,
            [RID],
            sql_literals=False,
            stats_interval_s=10,
            features=lambda rid: {"WAIT_SAMPLING": "ENABLED"},
        )
        yield create_app(queries)


@st.composite
def pi_calls(draw: st.DrawFn) -> Call:
    operation = draw(st.sampled_from([*VALID, "NoSuchOperation"]))
    target = draw(
        st.one_of(
            st.just(TARGET_PREFIX + operation),
            HEADER_TEXT,
            st.just(operation),
        )
    )
    body = draw(bodies(VALID.get(operation, {})))
    method = draw(st.sampled_from(["POST", "POST", "POST", "GET", "PUT"]))
    path = draw(st.sampled_from(["/", "/", "/healthz", "/nothing"]))
    return Call(method, path, {"X-Amz-Target": target}, body)


def test_every_operation_answers_its_valid_request(app: Flask) -> None:
    for operation, body in VALID.items():
        headers = {"X-Amz-Target": TARGET_PREFIX + operation}
        status, reply = answer(
            app, Call("POST", "/", headers, json.dumps(body).encode()), AWS_ERROR_KEYS
        )
        assert status == 200, (operation, reply)


@fuzz(250)
@given(pi_calls())
def test_bad_requests_get_an_aws_error_never_a_500(app: Flask, call: Call) -> None:
    answer(app, call, AWS_ERROR_KEYS)
