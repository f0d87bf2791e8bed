"""collector.exposition renders what prometheus_client's generate_latest renders."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from prometheus_client import generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
    StateSetMetricFamily,
    SummaryMetricFamily,
    UnknownMetricFamily,
)
from prometheus_client.openmetrics.exposition import generate_latest as openmetrics_latest
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Exemplar

from collector.exposition import render, render_openmetrics


class Fixed:
    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterable[Metric]:
        return self.families


def parsed(text: bytes) -> list[tuple[str, str, str, list[tuple[str, object, str, object]]]]:
    """Families as the Prometheus parser reads them (values by repr: NaN == NaN)."""
    return [
        (
            f.name,
            f.type,
            f.documentation,
            [(s.name, sorted(s.labels.items()), repr(s.value), s.timestamp) for s in f.samples],
        )
        for f in text_string_to_metric_families(text.decode())
    ]


def every_kind() -> list[Metric]:
    counter = CounterMetricFamily("x_reads", "Reads.\nTwo lines, a \\ too.", labels=["a", "b"])
    counter.add_metric(["one", 'quote " and \\ and\nnewline'], 3.0)
    counter.add_metric(["two", ""], 1e21)
    created = CounterMetricFamily("x_born", "With a created sample.", created=1700000000.5)
    gauge = GaugeMetricFamily("x_lag_seconds", "Lag.", labels=["db_instance"])
    gauge.add_metric(["i-1"], float("inf"))
    gauge.add_metric(["i-2"], float("-inf"))
    gauge.add_metric(["i-3"], float("nan"))
    gauge.add_metric(["i-4"], 0.1 + 0.2, timestamp=1700000000.25)
    info = InfoMetricFamily("x_build", "Build.", value={"version": "1.2"})
    histogram = HistogramMetricFamily(
        "x_latency_seconds", "Latency.", buckets=[("0.1", 2), ("+Inf", 5)], sum_value=0.9
    )
    summary = SummaryMetricFamily("x_size_bytes", "Size.", count_value=3, sum_value=12)
    stateset = StateSetMetricFamily("x_state", "State.", value={"up": True, "down": False})
    unknown = UnknownMetricFamily("x_thing", "Untyped.", value=7)
    plain = GaugeMetricFamily("x_up", "No labels.", value=1)
    return [counter, created, gauge, info, histogram, summary, stateset, unknown, plain]


def test_same_families_samples_and_values_as_prometheus_client() -> None:
    registry = Fixed(every_kind())
    ours, theirs = render(registry), generate_latest(registry)
    assert parsed(ours) == parsed(theirs)
    # Escaped label values and help text survive the round trip.
    assert b'b="quote \\" and \\\\ and\\nnewline"' in ours
    assert b"# HELP x_reads_total Reads.\\nTwo lines, a \\\\ too.\n" in ours
    assert b'x_lag_seconds{db_instance="i-4"} 0.30000000000000004 1700000000250\n' in ours


def test_the_same_label_set_renders_the_same_after_it_is_cached() -> None:
    first = GaugeMetricFamily("x_cached", "Cached.", labels=["a"])
    first.add_metric(["v"], 1)
    second = GaugeMetricFamily("x_cached", "Cached.", labels=["a"])
    second.add_metric(["v"], 2)
    assert render(Fixed([first])).replace(b"1.0", b"2.0") == render(Fixed([second]))


def test_names_outside_the_classic_charset_go_to_prometheus_client() -> None:
    odd = GaugeMetricFamily("x.dotted", "UTF-8 name.", labels=["label.dot"])
    odd.add_metric(["v"], 1)
    registry = Fixed([odd])
    assert render(registry) == generate_latest(registry)


def openmetrics_parsed(text: bytes) -> list[tuple[str, str, str, str, list[Any]]]:
    """Families as the strict OpenMetrics parser reads them (it also checks `# EOF`)."""
    return [
        (
            f.name,
            f.type,
            f.documentation,
            f.unit,
            [
                (s.name, sorted(s.labels.items()), repr(s.value), s.timestamp, s.exemplar)
                for s in f.samples
            ],
        )
        for f in openmetrics_families(text.decode())
    ]


def test_openmetrics_same_families_samples_and_values_as_prometheus_client() -> None:
    with_unit = GaugeMetricFamily("x_size_bytes_total", "Sized.", unit="bytes")
    registry = Fixed([*every_kind(), with_unit])
    ours, theirs = render_openmetrics(registry), openmetrics_latest(registry)
    assert openmetrics_parsed(ours) == openmetrics_parsed(theirs)
    assert ours.endswith(b"\n# EOF\n")
    assert b"# HELP x_reads Reads.\\nTwo lines, a \\\\ too.\n# TYPE x_reads counter\n" in ours
    assert b'x_lag_seconds{db_instance="i-4"} 0.30000000000000004 1700000000.25\n' in ours
    assert b'x_reads_total{a="two",b=""} 1e+21\n' in ours  # Go's float format


def test_openmetrics_exemplars_and_odd_names_go_to_prometheus_client() -> None:
    counter = CounterMetricFamily("x_hits", "Hits.", labels=["a"])
    counter.add_metric(["v"], 2, exemplar=Exemplar({"trace_id": "abc"}, 1.0))
    odd = GaugeMetricFamily("x.dotted", "UTF-8 name.", value=1)
    for families in ([counter], [odd]):
        registry = Fixed(families)
        assert render_openmetrics(registry) == openmetrics_latest(registry)
