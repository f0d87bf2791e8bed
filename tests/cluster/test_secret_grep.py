"""Secrets planted in the running stack leave no trace in anything Borealis writes or serves.

Planted: a password in a failed login, the literal 'sekrit-4711' and a card-like number in
statements through the cluster endpoint (a sampled one, a DDL pgaudit records, one that fails
with the literal in PostgreSQL's error). Searched, once each plant is seen to have gone
through: every file under the state directory (logs, SQLite stores, the trail, Prometheus'
data), the collector's /metrics and /api/events, the PI API's answers (statements included),
Prometheus' series (/api/v1/series) and the UI's pages."""

from __future__ import annotations

import contextlib
import json
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from tests.cluster.helpers import endpoint_dsn
from tests.conftest import Stack, wait_for

pytestmark = pytest.mark.cluster

LITERAL = "sekrit-4711"
CARD = "4111111111111111"
PASSWORD = "Pw-sekrit-9123"
SECRETS = (LITERAL, CARD, PASSWORD)
APPLICATION = "secret-grep-probe"


def get(url: str, data: bytes | None = None, headers: dict[str, str] | None = None) -> bytes:
    request = urllib.request.Request(url, data=data, headers=headers or {})  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return bytes(response.read())


def pi(url: str, operation: str, body: dict[str, Any]) -> bytes:
    headers = {
        "X-Amz-Target": f"PerformanceInsightsv20180227.{operation}",
        "Content-Type": "application/x-amz-json-1.1",
    }
    return get(url, json.dumps(body).encode(), headers)


def plant(stack: Stack) -> None:
    dsn = endpoint_dsn(stack, "writer")
    with psycopg.connect(dsn, autocommit=True, application_name=APPLICATION) as conn:
        conn.execute(f"select pg_sleep(2.5), '{LITERAL}'::text, {CARD} + 0")
        conn.execute(f"create table if not exists secret_probe (note text default '{LITERAL}')")
        with contextlib.suppress(psycopg.errors.InvalidTextRepresentation):
            conn.execute(f"select '{LITERAL}'::int")
    writer = stack.writer()
    with contextlib.suppress(psycopg.OperationalError):
        psycopg.connect(
            make_conninfo(
                host="127.0.0.1",
                port=writer["port"],
                user="borealis_app",
                password=PASSWORD,
                dbname="app",
                connect_timeout=3,
            )
        ).close()


def leaks(where: str, data: bytes) -> list[str]:
    return [f"{secret} in {where}" for secret in SECRETS if secret.encode() in data]


def test_planted_secrets_appear_nowhere(stack: Stack) -> None:
    status = stack.status()
    services = status["services"]
    writer = stack.writer()
    start = time.time()
    plant(stack)

    def seen() -> list[dict[str, Any]] | None:
        events = stack.events(minutes=10)
        ids = {e["EventId"] for e in events}
        wanted = {"BOREALIS-EVENT-0101", "BOREALIS-EVENT-0111"}
        probe = [e for e in events if "secret_probe" in e["Message"]]
        return events if wanted <= ids and probe else None

    events = wait_for(seen, 60, what="the failed login and the DDL as events")
    window = {"StartTime": start - 5, "EndTime": time.time() + 5}
    rid = {"ServiceType": "RDS", "Identifier": writer["resource_id"]}

    def sampled() -> bytes | None:
        answer = pi(
            services["pi"],
            "DescribeDimensionKeys",
            {
                **rid,
                **window,
                "Metric": "db.load.avg",
                "GroupBy": {"Group": "db.sql_tokenized"},
                "Filter": {"db.application.name": APPLICATION},
            },
        )
        return answer if b"pg_sleep(?)" in answer else None

    statements = wait_for(sampled, 60, what="the sampled statement in PI, digested")
    found: list[str] = []
    found += leaks("PI DescribeDimensionKeys", statements)
    for group in ("db.sql", "db.sql_tokenized", "db.application", "db.user"):
        answer = pi(
            services["pi"],
            "DescribeDimensionKeys",
            {**rid, **window, "Metric": "db.load.avg", "GroupBy": {"Group": group}},
        )
        found += leaks(f"PI keys by {group}", answer)
        for key in json.loads(answer)["Keys"]:
            for dimension, value in key["Dimensions"].items():
                if dimension.endswith(".id") and group.startswith("db.sql"):
                    details = pi(
                        services["pi"],
                        "GetDimensionKeyDetails",
                        {**rid, "Group": group, "GroupIdentifier": value},
                    )
                    found += leaks(f"PI details of {value}", details)
    found += leaks("events", json.dumps(events).encode())
    collector = services["collector"]
    found += leaks("collector /metrics", get(f"{collector}/metrics"))
    found += leaks("collector /api/events", get(f"{collector}/api/events?minutes=60"))
    found += leaks("collector /api/targets", get(f"{collector}/api/targets"))
    series = get(
        f"{services['prometheus']}/api/v1/series?"
        + urllib.parse.urlencode({"match[]": '{__name__=~".+"}', "start": str(start - 60)})
    )
    found += leaks("Prometheus series", series)
    for page in ("", "pi", "events", "alerts"):
        with contextlib.suppress(OSError):
            found += leaks(f"UI /{page}", get(f"{services['ui']}/{page}"))
    trail = stack.cli("trail", "--json")
    assert trail.returncode == 0, trail.stderr
    found += leaks("trail", trail.stdout.encode())
    for path in sorted(Path(stack.state_dir).rglob("*")):
        if path.is_file() and not path.is_symlink():
            with contextlib.suppress(OSError):
                found += leaks(str(path.relative_to(stack.state_dir)), path.read_bytes())
    assert found == []
