"""The OTLP metrics bridge: a prometheus_client registry's families exported with the OTel
metrics SDK's real OTLP/HTTP exporter to a local receiver that decodes the protobuf."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from collector.otlp_metrics import OtlpMetricsExporter, unit_for
from tests.conftest import INTEGRATION_PORTS, wait_for
from testsupport.otlp import OtlpReceiver

RECEIVER_PORT = INTEGRATION_PORTS + 820
LABELS = ["cluster", "db_instance", "role", "az"]


class Changing(Collector):
    """A registry collector whose values the test sets."""

    def __init__(self) -> None:
        self.commits = 10.0
        self.lag: float | None = 0.5

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily("borealis_up", "1 when up.", labels=LABELS)
        up.add_metric(["c1", "c1-instance-1", "writer", "local-1a"], 1)
        up.add_metric(["c2", "c2-instance-1", "writer", "local-1b"], 0)
        commits = CounterMetricFamily(
            "borealis_xact_commits", "Commits.", labels=LABELS, created=1.0
        )
        commits.add_metric(["c1", "c1-instance-1", "writer", "local-1a"], self.commits)
        info = InfoMetricFamily("borealis_db_sql_digest", "Digest text.", labels=["digest"])
        info.add_metric(["d1"], {"text": "select ?"})
        families: list[Metric] = [up, commits, info]
        if self.lag is not None:
            lag = GaugeMetricFamily("borealis_replica_lag_seconds", "Lag.", labels=LABELS)
            lag.add_metric(["c1", "c1-instance-2", "reader", "local-1b"], self.lag)
            families.append(lag)
        return families


@pytest.fixture(autouse=True)
def no_exporter_thread_left() -> Iterator[None]:
    """Each test waits for the SDK's retries to end: its backoff draws from the global `random`,
    which hypothesis, running later in the same process, takes for a strategy's misuse."""
    yield
    wait_for(
        lambda: not any(t.name.startswith("otlp-metrics") for t in threading.enumerate()),
        30,
        what="the OTLP exporter's threads to end",
    )


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver(RECEIVER_PORT) as running:
        yield running


def exporter_for(registry: CollectorRegistry, receiver: OtlpReceiver) -> OtlpMetricsExporter:
    return OtlpMetricsExporter(
        registry,
        receiver.metrics_endpoint,
        headers={"authorization": "Bearer t"},
        resource_attributes={"service.instance.id": "collector-a"},
    )


def test_names_units_labels_and_values_arrive(receiver: OtlpReceiver) -> None:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(Changing())
    exporter = exporter_for(registry, receiver)
    try:
        exporter.export_once()
        up = receiver.latest("borealis_up", cluster="c2")
        assert up is not None
        assert up.kind == "gauge"
        assert up.value == 0
        assert up.attributes == {
            "cluster": "c2",
            "db_instance": "c2-instance-1",
            "role": "writer",
            "az": "local-1b",
        }
        assert up.resource["service.name"] == "borealis-collector"
        assert up.resource["service.instance.id"] == "collector-a"
        commits = receiver.latest("borealis_xact_commits")  # no _total: receivers add it
        assert commits is not None
        assert (commits.kind, commits.monotonic, commits.value) == ("sum", True, 10)
        assert receiver.latest("borealis_xact_commits_created") is None
        lag = receiver.latest("borealis_replica_lag_seconds", role="reader")
        assert lag is not None
        assert (lag.unit, lag.value) == ("s", 0.5)
        info = receiver.latest("borealis_db_sql_digest_info")
        assert info is not None
        assert info.attributes == {"digest": "d1", "text": "select ?"}
        assert info.value == 1
    finally:
        exporter.stop()


def test_later_exports_follow_the_registry(receiver: OtlpReceiver) -> None:
    registry = CollectorRegistry(auto_describe=False)
    source = Changing()
    registry.register(source)
    exporter = exporter_for(registry, receiver)
    try:
        exporter.export_once()
        source.commits = 25
        source.lag = None  # the reader went away: its series goes with it
        exporter.export_once()
        last = receiver.metric_requests[-1]
        names = {
            m.name for rm in last.resource_metrics for sm in rm.scope_metrics for m in sm.metrics
        }
        assert "borealis_replica_lag_seconds" not in names
        commits = receiver.latest("borealis_xact_commits")
        assert commits is not None
        assert commits.value == 25  # cumulative, as Prometheus counts
    finally:
        exporter.stop()
    assert exporter.cycles == 3  # two by hand, one last on stop


def test_an_unreachable_endpoint_is_not_fatal() -> None:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(Changing())
    exporter = OtlpMetricsExporter(registry, f"http://127.0.0.1:{RECEIVER_PORT + 1}/v1/metrics")
    exporter.export_once(timeout_ms=2000)
    exporter.stop(timeout_s=2)
    assert exporter.cycles >= 1


@pytest.mark.parametrize(
    ("name", "unit"),
    [
        ("borealis_replica_lag_seconds", "s"),
        ("borealis_wal_sync_seconds_total", "s"),
        ("borealis_database_size_bytes", "By"),
        ("borealis_up", ""),
    ],
)
def test_units_come_from_the_name(name: str, unit: str) -> None:
    assert unit_for(name) == unit
