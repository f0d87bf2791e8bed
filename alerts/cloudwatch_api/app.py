"""The CloudWatch-compatible API: one Flask app speaking AWS JSON 1.0 as botocore does for
CloudWatch (`POST /`, `X-Amz-Target: GraniteServiceVersion20100801.<Operation>`), with
awsQueryCompatible errors (`x-amzn-query-error: <Code>;Sender`), so boto3's `cloudwatch`
client and `aws cloudwatch` work against it with `endpoint_url`."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask, Response, request
from pydantic import BaseModel, ValidationError

from alerts.cloudwatch_api import alarm_ops, reads
from alerts.cloudwatch_api.alarm_models import (
    DeleteAlarmsRequest,
    DescribeAlarmHistoryRequest,
    DescribeAlarmsRequest,
    PutCompositeAlarmRequest,
    PutMetricAlarmRequest,
    SetAlarmStateRequest,
)
from alerts.cloudwatch_api.alarms import AlarmBackend, MemoryAlarmBackend
from alerts.cloudwatch_api.models import (
    GetMetricDataRequest,
    GetMetricStatisticsRequest,
    ListMetricsRequest,
)
from alerts.cloudwatch_api.series import PrometheusReader
from core.httpapi import ApiError, AwsJsonErrors, HttpServer, api_app, json_body
from core.settings import Settings
from core.waiting import until_stopped
from core.webauth import internal_header, service_users

log = logging.getLogger(__name__)

TARGET_PREFIX = "GraniteServiceVersion20100801."
CONTENT_TYPE = "application/x-amz-json-1.0"


class CloudWatchErrors(AwsJsonErrors):
    """AWS JSON 1.0 errors with CloudWatch's query-compatible codes: a missing parameter is
    MissingParameter, any other bad one InvalidParameterValue."""

    def __init__(self) -> None:
        super().__init__(
            "1.0",
            validation_code="InvalidParameterValue",
            bad_request_code="InvalidParameterValue",
            query_compatible=True,
        )

    def from_validation(self, exc: ValidationError) -> ApiError:
        error = super().from_validation(exc)
        if all(e["type"] == "missing" for e in exc.errors()):
            error.code = "MissingParameter"
        return error


Handler = Callable[[Any], dict[str, Any]]


def _operations(
    reader: PrometheusReader, alarms: AlarmBackend
) -> dict[str, tuple[type[BaseModel], Handler]]:
    def on_reader(fn: Callable[[PrometheusReader, Any], dict[str, Any]]) -> Handler:
        return lambda req: fn(reader, req)

    def on_alarms(fn: Callable[[AlarmBackend, Any], dict[str, Any]]) -> Handler:
        return lambda req: fn(alarms, req)

    return {
        "ListMetrics": (ListMetricsRequest, on_reader(reads.list_metrics)),
        "GetMetricStatistics": (GetMetricStatisticsRequest, on_reader(reads.get_metric_statistics)),
        "GetMetricData": (GetMetricDataRequest, on_reader(reads.get_metric_data)),
        "PutMetricAlarm": (PutMetricAlarmRequest, on_alarms(alarm_ops.put_metric_alarm)),
        "PutCompositeAlarm": (PutCompositeAlarmRequest, on_alarms(alarm_ops.put_composite_alarm)),
        "DescribeAlarms": (DescribeAlarmsRequest, on_alarms(alarm_ops.describe_alarms)),
        "DescribeAlarmHistory": (
            DescribeAlarmHistoryRequest,
            on_alarms(alarm_ops.describe_alarm_history),
        ),
        "DeleteAlarms": (DeleteAlarmsRequest, on_alarms(alarm_ops.delete_alarms)),
        "SetAlarmState": (SetAlarmStateRequest, on_alarms(alarm_ops.set_alarm_state)),
    }


def create_app(
    prometheus_url: str,
    alarms: AlarmBackend | None = None,
    prometheus_headers: Mapping[str, str] | None = None,
) -> Flask:
    """The API over the Prometheus at `prometheus_url` (sent `prometheus_headers`) and
    `alarms` (in memory if None)."""
    app = api_app("cloudwatch", CloudWatchErrors())
    reader = PrometheusReader(prometheus_url, headers=prometheus_headers)
    operations = _operations(reader, alarms or MemoryAlarmBackend())

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/")
    def dispatch() -> Response:
        target = request.headers.get("X-Amz-Target", "")
        name = target.removeprefix(TARGET_PREFIX) if target.startswith(TARGET_PREFIX) else ""
        if name not in operations:
            raise ApiError(400, "InvalidAction", f"Unknown operation {target or '(none)'}.")
        model, handler = operations[name]
        body = json_body()
        if not isinstance(body, dict):
            raise ApiError(400, "InvalidParameterValue", "The request body must be an object.")
        result = handler(model.model_validate(body))
        return Response(json.dumps(result), content_type=CONTENT_TYPE)

    return app


def start_service(
    *,
    port: int,
    prometheus_url: str,
    alarms: AlarmBackend | None = None,
    host: str = "127.0.0.1",
    users: Mapping[str, str] | None = None,
    prometheus_headers: Mapping[str, str] | None = None,
) -> HttpServer:
    """The API served (waitress, threaded) on `host:port` (setting `ports.cloudwatch`);
    `stop()` it to free the port."""
    server = HttpServer(
        create_app(prometheus_url, alarms, prometheus_headers),
        host=host,
        port=port,
        name="cloudwatch",
        setting="ports.cloudwatch",
        users=users,
    )
    server.start()
    return server


def run(settings: Settings, stop: threading.Event, alarms: AlarmBackend | None = None) -> None:
    """The `cloudwatch` service until `stop` is set: on `ports.cloudwatch`, reading the
    stack's Prometheus (`ports.prometheus`); health at GET /healthz."""
    host = settings.listen_host
    prometheus_url = f"http://{host}:{settings.ports.port('prometheus')}"
    server = start_service(
        port=settings.ports.port("cloudwatch"),
        prometheus_url=prometheus_url,
        alarms=alarms,
        host=host,
        users=service_users(settings),
        prometheus_headers=internal_header(settings),
    )
    log.info("CloudWatch API on %s/ over %s", server.url, prometheus_url)
    try:
        until_stopped(stop)
    finally:
        server.stop()
