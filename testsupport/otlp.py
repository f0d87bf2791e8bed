"""A local OTLP/HTTP receiver for tests: decodes the logs and metrics the collector exports."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import flask
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)

from core.httpapi import ApiError, HttpServer, JsonErrors, api_app

# --- a local OTLP/HTTP receiver -------------------------------------------------------------


@dataclass(frozen=True)
class OtlpPoint:
    resource: dict[str, Any]
    name: str
    unit: str
    kind: str  # gauge, sum, histogram, ...
    monotonic: bool
    attributes: dict[str, Any]
    value: float


@dataclass
class OtlpReceiver:
    """Decodes every ExportLogsServiceRequest POSTed to /v1/logs (raw bodies kept too) and
    every ExportMetricsServiceRequest POSTed to /v1/metrics. Served like every Borealis API
    (core.httpapi): a body that is not protobuf is a 400."""

    port: int
    requests: list[ExportLogsServiceRequest] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    metric_requests: list[ExportMetricsServiceRequest] = field(default_factory=list)
    _server: HttpServer | None = None

    def __enter__(self) -> OtlpReceiver:
        errors = JsonErrors()
        app = api_app("otlp", errors, max_body=16 << 20)

        @app.post("/v1/logs")
        def logs() -> flask.Response:
            body = flask.request.get_data()
            export = ExportLogsServiceRequest()
            export.ParseFromString(body)  # DecodeError: a 400 (not_protobuf below)
            self.bodies.append(body)
            self.requests.append(export)
            return flask.Response(b"", content_type="application/x-protobuf")

        @app.post("/v1/metrics")
        def metrics() -> flask.Response:
            export = ExportMetricsServiceRequest()
            export.ParseFromString(flask.request.get_data())
            self.metric_requests.append(export)
            return flask.Response(b"", content_type="application/x-protobuf")

        def not_protobuf(exc: DecodeError) -> flask.Response:
            message = f"not an OTLP export request: {exc}"
            return errors.response(ApiError(400, "BadRequest", message))

        app.register_error_handler(DecodeError, not_protobuf)

        self._server = HttpServer(app, port=self.port, name="otlp", max_body=16 << 20)
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.stop()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/logs"

    @property
    def metrics_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/metrics"

    def data_points(self) -> Iterator[OtlpPoint]:
        """Every metric data point received, oldest first."""
        for request in list(self.metric_requests):
            for resource_metrics in request.resource_metrics:
                resource = {a.key: _value(a.value) for a in resource_metrics.resource.attributes}
                for scope_metrics in resource_metrics.scope_metrics:
                    for metric in scope_metrics.metrics:
                        kind = metric.WhichOneof("data")
                        data = getattr(metric, kind)
                        monotonic = bool(kind == "sum" and data.is_monotonic)
                        for point in data.data_points:
                            value_kind = point.WhichOneof("value")
                            yield OtlpPoint(
                                resource=resource,
                                name=metric.name,
                                unit=metric.unit,
                                kind=kind,
                                monotonic=monotonic,
                                attributes={a.key: _value(a.value) for a in point.attributes},
                                value=float(getattr(point, value_kind)),
                            )

    def latest(self, name: str, **attributes: str) -> OtlpPoint | None:
        """The last point received for `name` whose attributes include `attributes`."""
        found = None
        for point in self.data_points():
            if point.name == name and all(
                point.attributes.get(k) == v for k, v in attributes.items()
            ):
                found = point
        return found

    def records(self) -> Iterator[tuple[dict[str, Any], dict[str, Any], str]]:
        """(resource attributes, record attributes, body) of every record received."""
        for request in list(self.requests):
            for resource_logs in request.resource_logs:
                resource = {a.key: _value(a.value) for a in resource_logs.resource.attributes}
                for scope_logs in resource_logs.scope_logs:
                    for record in scope_logs.log_records:
                        attrs = {a.key: _value(a.value) for a in record.attributes}
                        attrs["severity_text"] = record.severity_text
                        attrs["event_name"] = record.event_name
                        yield resource, attrs, _value(record.body)


def _value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else None
