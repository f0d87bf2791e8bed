"""A CloudWatch-compatible API (AWS JSON 1.0, as botocore speaks it): the read side
(ListMetrics, GetMetricStatistics, GetMetricData) from Prometheus over the CloudWatch-named
series, the alarm side over an `AlarmBackend`. See alerts.cloudwatch_api.app."""

from alerts.cloudwatch_api.alarms import AlarmBackend, MemoryAlarmBackend
from alerts.cloudwatch_api.app import create_app, run, start_service

__all__ = ["AlarmBackend", "MemoryAlarmBackend", "create_app", "run", "start_service"]
