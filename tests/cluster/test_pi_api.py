"""The PI API of the running stack: its URL is in `status --json`, boto3 reads it."""

from __future__ import annotations

import time
from typing import Any

import boto3
import psycopg
import pytest

from tests.conftest import Stack, wait_for

pytestmark = pytest.mark.cluster


def test_performance_insights_answers_for_every_instance(stack: Stack) -> None:
    status = stack.status()
    url = status["services"]["pi"]
    assert url.startswith("http://127.0.0.1:")
    client = boto3.client(
        "pi",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    for instance in status["instances"]:
        meta = client.get_resource_metadata(ServiceType="RDS", Identifier=instance["resource_id"])
        assert meta["Identifier"] == instance["resource_id"]
    writer = next(i for i in status["instances"] if i["role"] == "writer")
    start = time.time()
    with psycopg.connect(
        stack.app_dsn(writer["port"]), autocommit=True, application_name="pi-stack-probe"
    ) as conn:
        conn.execute("select pg_sleep(2)")

    def keys() -> list[dict[str, Any]]:
        answer = client.describe_dimension_keys(
            ServiceType="RDS",
            Identifier=writer["resource_id"],
            StartTime=start,
            EndTime=time.time(),
            Metric="db.load.avg",
            GroupBy={"Group": "db.user"},
            Filter={"db.application.name": "pi-stack-probe"},
        )
        return list(answer["Keys"])

    found = wait_for(keys, 15, what="the probe's load in PI")
    assert found[0]["Dimensions"]["db.user.name"] == "borealis_app"
    assert found[0]["Total"] > 0
