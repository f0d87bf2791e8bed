"""Log lines as OpenTelemetry log records, exported over OTLP/HTTP (opentelemetry-sdk's
LoggerProvider + BatchLogRecordProcessor + OTLPLogExporter).

Built only when `collector.logs.otlp_endpoint` is set; nothing is exported otherwise. One
LoggerProvider per instance, so each record's resource names its cluster and instance.
Exported: classified lines (connections, disconnections, authentication failures, pgaudit
records, errors) and every line at WARNING or above; routine LOG lines (checkpoints, ...) are
only counted. SQL is reduced as everywhere else (see redact).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping

from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.util.types import AnyValue

from collector.logs import redact
from collector.logs.classify import Classified, LineKind
from collector.targets import Target
from core.waiting import WaitTimeout, wait_until

log = logging.getLogger(__name__)

SCOPE = "borealis.collector.logs"
_SEVERITY = {
    "DEBUG": SeverityNumber.DEBUG,
    "LOG": SeverityNumber.INFO,
    "INFO": SeverityNumber.INFO,
    "NOTICE": SeverityNumber.INFO2,
    "WARNING": SeverityNumber.WARN,
    "ERROR": SeverityNumber.ERROR,
    "FATAL": SeverityNumber.FATAL,
    "PANIC": SeverityNumber.FATAL4,
}
_EXPORTED_SEVERITIES = frozenset({"WARNING", "ERROR", "FATAL", "PANIC"})


def resource_for(target: Target) -> Resource:
    attributes: dict[str, str] = {
        "service.name": "borealis-collector",
        "db.system.name": "postgresql",
        "borealis.cluster": target.cluster,
        "borealis.db_instance": target.db_instance,
    }
    if target.az:
        attributes["cloud.availability_zone"] = target.az
    if target.resource_id:
        attributes["borealis.resource_id"] = target.resource_id
    return Resource.create(attributes)


def wanted(item: Classified) -> bool:
    return item.kind is not LineKind.OTHER or item.severity in _EXPORTED_SEVERITIES


def attributes(item: Classified, include_literals: bool) -> dict[str, AnyValue]:
    line = item.line
    out: dict[str, AnyValue] = {
        "postgresql.log.kind": item.kind.value,
        "postgresql.severity": line.severity,
    }
    optional: dict[str, str] = {
        "db.namespace": line.database,
        "db.user.name": line.user,
        "client.address": line.remote_host,
        "db.response.status_code": line.state_code,
        "postgresql.application_name": line.application_name,
        "postgresql.backend_type": line.backend_type,
        "postgresql.session_id": line.session_id,
        "postgresql.detail": redact.detail(item, include_literals),
    }
    if line.statement:
        optional["db.query.text"] = redact.sql(line.statement, include_literals)
    if item.auth_failure is not None:
        optional["postgresql.auth.failure_reason"] = item.auth_failure.value
    if item.audit is not None:
        optional.update(
            {
                "postgresql.audit.type": item.audit.audit_type,
                "postgresql.audit.class": item.audit.audit_class,
                "postgresql.audit.command": item.audit.command,
                "postgresql.audit.object_type": item.audit.object_type,
                "postgresql.audit.object_name": item.audit.object_name,
                "db.query.text": redact.sql(item.audit.statement, include_literals),
            }
        )
    out.update({key: value for key, value in optional.items() if value})
    if line.pid:
        out["process.pid"] = line.pid
    if line.query_id:
        out["postgresql.query_id"] = line.query_id
    if item.session_seconds is not None:
        out["postgresql.session.duration_s"] = item.session_seconds
    return out


class OtelLogSink:
    """One LoggerProvider (and batch processor thread) per instance."""

    def __init__(
        self,
        endpoint: str,
        targets: list[Target],
        *,
        headers: Mapping[str, str] | None = None,
        include_sql_literals: bool = False,
        schedule_delay_ms: int = 1000,
    ) -> None:
        self.include_literals = include_sql_literals
        self._providers: dict[str, LoggerProvider] = {}
        for target in targets:
            provider = LoggerProvider(resource=resource_for(target), shutdown_on_exit=False)
            exporter = OTLPLogExporter(endpoint=endpoint, headers=dict(headers or {}), timeout=5)
            processor = BatchLogRecordProcessor(exporter, schedule_delay_millis=schedule_delay_ms)
            provider.add_log_record_processor(processor)
            self._providers[target.db_instance] = provider
        self._loggers = {
            name: provider.get_logger(SCOPE) for name, provider in self._providers.items()
        }

    def emit(self, target: Target, item: Classified) -> None:
        if not wanted(item):
            return
        logger = self._loggers.get(target.db_instance)
        if logger is None:
            return
        timestamp = int(item.line.time * 1e9)
        logger.emit(
            timestamp=timestamp,
            observed_timestamp=None,
            severity_number=_SEVERITY.get(item.severity, SeverityNumber.UNSPECIFIED),
            severity_text=item.line.severity,
            body=redact.message(item, self.include_literals),
            attributes=attributes(item, self.include_literals),
            event_name=f"postgresql.{item.kind.value}",
        )

    def flush(self, timeout_ms: int = 5000) -> None:
        for provider in self._providers.values():
            provider.force_flush(timeout_ms)

    def shutdown(self, timeout_s: float = 5.0) -> None:
        """Flush what is queued, all instances at once, within `timeout_s` in total (an
        unreachable endpoint must not hold up `borealis down`)."""
        threads = [
            threading.Thread(target=provider.shutdown, name="otlp-shutdown", daemon=True)
            for provider in self._providers.values()
        ]
        for thread in threads:
            thread.start()
        try:
            wait_until(
                lambda: not any(thread.is_alive() for thread in threads),
                timeout=timeout_s,
                interval=0.01,
                what="the OTLP exporters to flush",
            )
        except WaitTimeout as exc:
            log.warning("OTLP shutdown gives up: %s", exc)
