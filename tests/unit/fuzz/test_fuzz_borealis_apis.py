"""Borealis' own APIs fuzzed: the collector's (/metrics, /healthz, /api/targets, /api/events)
and the Alertmanager webhook's (POST /webhook with mutated Alertmanager payloads, the inbox and
alarm-history reads): a 2xx or a 4xx in Borealis' error shape ({"error", "code"}), never a 5xx."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Gauge

from alerts import webhook
from alerts.inbox import AlertInbox
from collector import http
from core.events import EventStore, make_event
from tests.unit.fuzz import fuzz
from tests.unit.fuzz.requests import BOREALIS_ERROR_KEYS, HEADER_TEXT, Call, answer, bodies

QUERY_VALUES = st.one_of(
    HEADER_TEXT,
    st.sampled_from(["0", "-1", "1e309", "nan", "inf", "60", "1e-300", "9" * 400, ""]),
    st.floats().map(str),
)
ALERT = {
    "status": "firing",
    "labels": {"alertname": "AuroraReplicaLagHigh", "severity": "warning", "cluster": "c1"},
    "annotations": {"summary": "lag"},
    "startsAt": "2026-11-27T11:45:54.376Z",
    "endsAt": "0001-01-01T00:00:00Z",
    "generatorURL": "http://127.0.0.1:9090/graph",
    "fingerprint": "c0ffee",
}
PAYLOAD = {
    "version": "4",
    "groupKey": '{}:{alertname="AuroraReplicaLagHigh"}',
    "truncatedAlerts": 0,
    "status": "firing",
    "receiver": "borealis",
    "groupLabels": {"alertname": "AuroraReplicaLagHigh"},
    "commonLabels": {"severity": "warning"},
    "commonAnnotations": {},
    "externalURL": "http://127.0.0.1:9093",
    "alerts": [ALERT, {**ALERT, "status": "resolved", "endsAt": "2026-11-27T11:50:00Z"}],
}


@pytest.fixture(scope="module")
def collector_app() -> Iterator[Flask]:
    with tempfile.TemporaryDirectory() as tmp:
        events = EventStore(Path(tmp) / "events.db")
        events.add(make_event("RDS-EVENT-0170", "c1", when=datetime.now(UTC)))
        registry = CollectorRegistry()
        Gauge("x_lag_seconds", "Lag.", ["db_instance"], registry=registry).labels("i").set(1)
        yield http.create_app(registry, [], events)


@pytest.fixture(scope="module")
def webhook_app() -> Iterator[Flask]:
    with tempfile.TemporaryDirectory() as tmp:
        yield webhook.create_app(AlertInbox(Path(tmp) / "alerts"))


@st.composite
def collector_calls(draw: st.DrawFn) -> Call:
    path = draw(st.sampled_from(["/metrics", "/healthz", "/api/targets", "/api/events", "/x"]))
    query = draw(st.dictionaries(st.sampled_from(["minutes", "x"]), QUERY_VALUES, max_size=2))
    headers = {"Accept": draw(st.one_of(HEADER_TEXT, st.just("application/openmetrics-text")))}
    method = draw(st.sampled_from(["GET", "GET", "GET", "POST", "HEAD"]))
    return Call(method, path, headers, draw(st.binary(max_size=50)), query)


@st.composite
def webhook_calls(draw: st.DrawFn) -> Call:
    if draw(st.booleans()):
        body = draw(bodies(PAYLOAD))
        return Call(draw(st.sampled_from(["POST", "POST", "GET"])), webhook.WEBHOOK_PATH, body=body)
    path = draw(st.sampled_from(["/api/notifications", "/api/alarm-history", "/healthz"]))
    keys = st.sampled_from(["minutes", "AlarmName"])
    query = draw(st.dictionaries(keys, QUERY_VALUES, max_size=2))
    return Call("GET", path, query=query)


def test_the_valid_webhook_payload_is_stored(webhook_app: Flask) -> None:
    call = Call("POST", webhook.WEBHOOK_PATH, body=json.dumps(PAYLOAD).encode())
    assert answer(webhook_app, call, BOREALIS_ERROR_KEYS) == (200, {"stored": 2, "stateChanges": 2})


@fuzz(200)
@given(collector_calls())
def test_collector_api_never_answers_500(collector_app: Flask, call: Call) -> None:
    answer(collector_app, call, BOREALIS_ERROR_KEYS)


@fuzz(200)
@given(webhook_calls())
def test_webhook_never_answers_500(webhook_app: Flask, call: Call) -> None:
    answer(webhook_app, call, BOREALIS_ERROR_KEYS)
