"""The collector's metrics pushed over OTLP/HTTP (protobuf) with opentelemetry-sdk's metrics
SDK, so OTLP backends (Grafana Cloud, Mimir's OTLP endpoint, any OpenTelemetry Collector)
ingest them without a Prometheus in between. Built only when
`collector.metrics.otlp_endpoint` is set.

A bridge, not a second instrumentation: every `interval` the prometheus_client registry that
serves /metrics is collected once, each family becomes an observable OTel instrument (created
the first time it is seen) and the reader exports what they observe:

- counter: an ObservableCounter (monotonic cumulative sum) named like the family, without
  `_total`, which Prometheus-compatible OTLP receivers append again;
- gauge, info (`<name>_info`), unknown, stateset: an ObservableGauge per sample name;
- histogram and summary (none today): `_count` and `_sum` as counters, buckets and quantiles
  as gauges with their `le` / `quantile` attribute.

Labels become attributes unchanged (`cluster`, `db_instance`, `role`, `az`, ...); the unit is
taken from the name's suffix (`_seconds` is `s`, `_bytes` is `By`, ...).
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from prometheus_client import CollectorRegistry
from prometheus_client.core import Metric

log = logging.getLogger(__name__)

SCOPE = "borealis.collector.metrics"
_UNITS = (
    ("_seconds", "s"),
    ("_bytes", "By"),
    ("_ratio", "1"),
    ("_percent", "%"),
    ("_milliseconds", "ms"),
)
_COUNTER_SUFFIXES = ("_total", "_count", "_sum")


def unit_for(name: str) -> str:
    base = name.removesuffix("_total")
    return next((unit for suffix, unit in _UNITS if base.endswith(suffix)), "")


@dataclass(frozen=True)
class Point:
    attributes: Mapping[str, str]
    value: float


@dataclass(frozen=True)
class Series:
    """One instrument's worth of samples from one registry collection."""

    name: str  # the OTel instrument name
    monotonic: bool
    description: str
    points: tuple[Point, ...]


def series_of(family: Metric) -> list[Series]:
    """The instruments one prometheus_client family becomes, with their current points."""
    by_name: dict[str, list[Point]] = {}
    for sample in family.samples:
        if sample.name.endswith("_created") or math.isnan(sample.value):
            continue
        by_name.setdefault(sample.name, []).append(Point(dict(sample.labels), sample.value))
    out = []
    for sample_name, points in by_name.items():
        counting = family.type in ("counter", "histogram", "summary") and sample_name.endswith(
            _COUNTER_SUFFIXES
        )
        name = family.name if family.type == "counter" else sample_name
        out.append(Series(name, counting, family.documentation, tuple(points)))
    return out


class OtlpMetricsExporter:
    """Collects `registry` every `interval_s` and exports it over OTLP/HTTP."""

    def __init__(
        self,
        registry: CollectorRegistry,
        endpoint: str,
        *,
        headers: Mapping[str, str] | None = None,
        interval_s: float = 15.0,
        resource_attributes: Mapping[str, str] | None = None,
    ) -> None:
        self.registry = registry
        self.interval_s = interval_s
        exporter = OTLPMetricExporter(endpoint=endpoint, headers=dict(headers or {}), timeout=5)
        # No timer thread of its own (math.inf): our thread refreshes the snapshot, then flushes.
        self._reader = PeriodicExportingMetricReader(exporter, export_interval_millis=math.inf)
        resource = Resource.create(
            {"service.name": "borealis-collector", **(resource_attributes or {})}
        )
        self._provider = MeterProvider(
            resource=resource, metric_readers=[self._reader], shutdown_on_exit=False
        )
        self._meter = self._provider.get_meter(SCOPE)
        self._snapshot: dict[str, Series] = {}
        self._instruments: dict[str, bool] = {}  # name -> monotonic, as first created
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.cycles = 0  # collections exported (attempted: the SDK logs a failed export)

    def _observe(self, name: str) -> Iterable[Observation]:
        series = self._snapshot.get(name)
        if series is None:
            return []
        return [Observation(p.value, dict(p.attributes)) for p in series.points]

    def refresh(self) -> None:
        """Collect the registry once; create instruments for families seen the first time."""
        snapshot: dict[str, Series] = {}
        for family in self.registry.collect():
            for series in series_of(family):
                known = self._instruments.get(series.name)
                if known is not None and known != series.monotonic:
                    continue  # a name that changed kind: keep the first, as OTel must
                snapshot[series.name] = series
        self._snapshot = snapshot
        for name, series in snapshot.items():
            if name in self._instruments:
                continue
            self._instruments[name] = series.monotonic

            def callback(options: CallbackOptions, name: str = name) -> Iterable[Observation]:
                return self._observe(name)

            create = (
                self._meter.create_observable_counter
                if series.monotonic
                else self._meter.create_observable_gauge
            )
            create(name, callbacks=[callback], unit=unit_for(name), description=series.description)

    def export_once(self, timeout_ms: float = 10_000) -> None:
        self.refresh()
        self._reader.force_flush(timeout_ms)
        self.cycles += 1

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.export_once()
            except Exception:  # one bad cycle must not end the export
                log.exception("OTLP metrics export failed")

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="otlp-metrics", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Export a last time and shut down within about `timeout_s` (an unreachable endpoint
        must not hold up `borealis down`)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

        def close() -> None:
            try:
                self.export_once(timeout_s * 1000)
            finally:
                self._provider.shutdown(timeout_millis=timeout_s * 1000)

        closer = threading.Thread(
            target=close,
            name="otlp-metrics-shutdown",
            daemon=True,
        )
        closer.start()
        closer.join(timeout_s)
