"""The collector's HTTP API served for real on 127.0.0.1: events, health, /metrics in both
exposition formats, and bad parameters answered with a 400 JSON error."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families

from collector.http import CollectorHttp
from core.events import EventStore, make_event
from tests.conftest import PORT_BASE

PORT = PORT_BASE + 760
# What Prometheus 2.42 (Debian's) sends when it scrapes.
PROMETHEUS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CollectorHttp]:
    events = EventStore(Path(tmp_path_factory.mktemp("events")) / "events.db")
    now = datetime.now(UTC)
    events.add(make_event("RDS-EVENT-0170", "c1", when=now - timedelta(minutes=5)))
    events.add(make_event("RDS-EVENT-0150", "c1", when=now - timedelta(hours=3)))
    registry = CollectorRegistry()
    lag = Gauge("x_lag_seconds", "Lag.", ["db_instance"], registry=registry)
    lag.labels("i-1").set(0.25)
    Counter("x_reads", "Reads.", registry=registry).inc(3)
    server = CollectorHttp("127.0.0.1", PORT, registry, [], events)
    server.start()
    yield server
    server.stop()


def get(url: str, accept: str | None = None) -> tuple[int, str, bytes]:
    headers = {"Accept": accept} if accept else {}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read()


def get_json(url: str) -> tuple[int, Any]:
    status, content_type, body = get(url)
    assert content_type == "application/json"
    return status, json.loads(body)


def test_events_by_minutes(api: CollectorHttp) -> None:
    status, body = get_json(f"{api.url}/api/events?minutes=60")
    assert status == 200
    assert [e["EventId"] for e in body["Events"]] == ["RDS-EVENT-0170"]
    _, body = get_json(f"{api.url}/api/events")  # default: the last hour
    assert [e["EventId"] for e in body["Events"]] == ["RDS-EVENT-0170"]
    _, body = get_json(f"{api.url}/api/events?minutes=1e6")
    assert [e["EventId"] for e in body["Events"]] == ["RDS-EVENT-0150", "RDS-EVENT-0170"]


@pytest.mark.parametrize(
    ("minutes", "words"),
    [
        ("nan", "finite number"),
        ("inf", "finite number"),
        ("1e12", "less than or equal to"),
        ("-1", "greater than 0"),
        ("0", "greater than 0"),
        ("abc", "valid number"),
    ],
)
def test_bad_minutes_get_a_400_and_the_server_keeps_serving(
    api: CollectorHttp, minutes: str, words: str
) -> None:
    status, body = get_json(f"{api.url}/api/events?minutes={minutes}")
    assert status == 400
    assert body["code"] == "ValidationError"
    assert body["error"].startswith("minutes: ") and words in body["error"]
    assert get_json(f"{api.url}/healthz") == (200, {"status": "ok", "targets": 0, "up": 0})


def test_unknown_paths_and_methods_get_json_errors(api: CollectorHttp) -> None:
    assert get_json(f"{api.url}/api/nothing")[0] == 404
    request = urllib.request.Request(f"{api.url}/api/events", data=b"{}")  # noqa: S310
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=5)  # noqa: S310
    assert caught.value.code == 405
    assert json.load(caught.value)["code"] == "MethodNotAllowed"


def test_metrics_in_the_classic_text_format_by_default(api: CollectorHttp) -> None:
    status, content_type, body = get(f"{api.url}/metrics")
    assert status == 200
    assert content_type == "text/plain; version=0.0.4; charset=utf-8"
    families = {f.name: f for f in text_string_to_metric_families(body.decode())}
    assert families["x_lag_seconds"].samples[0].value == 0.25
    assert families["x_reads"].samples[0].value == 3.0
    assert b"# EOF" not in body


def test_metrics_in_openmetrics_when_the_scraper_asks(api: CollectorHttp) -> None:
    status, content_type, body = get(f"{api.url}/metrics", PROMETHEUS_ACCEPT)
    assert status == 200
    assert content_type.startswith("application/openmetrics-text; version=1.0.0")
    assert body.endswith(b"# EOF\n")
    families = {f.name: f for f in openmetrics_families(body.decode())}
    assert families["x_reads"].type == "counter"
    assert [s.value for s in families["x_reads"].samples if s.name == "x_reads_total"] == [3.0]
    # Asked for text explicitly: text.
    _, content_type, _ = get(f"{api.url}/metrics", "text/plain;version=0.0.4")
    assert content_type.startswith("text/plain; version=0.0.4")


def test_a_broken_request_line_or_length_is_a_json_400(api: CollectorHttp) -> None:
    for request in (
        b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n",
        b"BROKEN\r\n\r\n",
    ):
        with socket.create_connection(("127.0.0.1", PORT), timeout=5) as conn:
            conn.sendall(request)
            answer = b""
            while chunk := conn.recv(65536):
                answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.split(b" ", 2)[1] == b"400"
        assert json.loads(body)["code"] == "BadRequest"
    assert get(f"{api.url}/metrics")[0] == 200
