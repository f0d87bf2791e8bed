"""Per-instance log counters and their Prometheus collector.

Every label value comes from a fixed set (severities, authentication-failure reasons, pgaudit
classes and command tags, SQLSTATE classes). Counters live with the tailer, not the poller,
so they keep counting while an instance is down: its FATAL and PANIC lines matter most then.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from collector.logs.classify import SEVERITIES, AuthFailure, Classified, LineKind
from collector.sources.base import INSTANCE_LABELS
from collector.targets import Target


@dataclass
class LogCounts:
    lines: Counter[str] = field(default_factory=Counter)  # by severity
    malformed: int = 0
    received: int = 0
    authorized: int = 0
    disconnections: int = 0
    session_seconds: float = 0.0
    auth_failures: Counter[str] = field(default_factory=Counter)  # by reason
    audit: Counter[tuple[str, str]] = field(default_factory=Counter)  # by (class, command)
    errors: Counter[tuple[str, str]] = field(default_factory=Counter)  # (severity, class)


class LogCounters:
    """Written by one tailer thread, read by scrapes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = LogCounts()

    def record(self, item: Classified) -> None:
        with self._lock:
            counts = self._counts
            counts.lines[item.severity] += 1
            kind = item.kind
            if kind is LineKind.CONNECTION_RECEIVED:
                counts.received += 1
            elif kind is LineKind.CONNECTION_AUTHORIZED:
                counts.authorized += 1
            elif kind is LineKind.DISCONNECTION:
                counts.disconnections += 1
                counts.session_seconds += item.session_seconds or 0.0
            elif kind is LineKind.AUTHENTICATION_FAILURE and item.auth_failure is not None:
                counts.auth_failures[item.auth_failure.value] += 1
            elif kind is LineKind.AUDIT and item.audit is not None:
                counts.audit[(item.audit.audit_class, item.audit.command)] += 1
            if item.severity in ("ERROR", "FATAL", "PANIC"):
                counts.errors[(item.severity, item.sqlstate_class)] += 1

    def malformed(self, count: int = 1) -> None:
        with self._lock:
            self._counts.malformed += count

    def snapshot(self) -> LogCounts:
        with self._lock:
            c = self._counts
            return LogCounts(
                lines=Counter(c.lines),
                malformed=c.malformed,
                received=c.received,
                authorized=c.authorized,
                disconnections=c.disconnections,
                session_seconds=c.session_seconds,
                auth_failures=Counter(c.auth_failures),
                audit=Counter(c.audit),
                errors=Counter(c.errors),
            )


class TailerView(Protocol):
    """What the collector reads from a tailer (kept narrow so tests can fake one)."""

    target: Target
    counters: LogCounters

    @property
    def healthy(self) -> bool: ...

    @property
    def last_duration(self) -> float: ...

    @property
    def bytes_read(self) -> int: ...

    @property
    def errors_total(self) -> int: ...

    @property
    def events_suppressed(self) -> dict[str, int]: ...


class RoleView(Protocol):
    @property
    def role(self) -> str: ...


class LogCollector(Collector):
    """Fresh families on every scrape from each tailer's counters."""

    def __init__(self, tailers: Sequence[TailerView], roles: dict[str, RoleView]) -> None:
        self.tailers = tailers
        self.roles = roles  # db_instance -> its poller, for the role label

    def _labels(self, target: Target) -> list[str]:
        owner = self.roles.get(target.db_instance)
        role = owner.role if owner is not None else "unknown"
        return [target.cluster, target.db_instance, role, target.az]

    def collect(self) -> Iterable[Metric]:
        def counter(name: str, doc: str, extra: Sequence[str] = ()) -> CounterMetricFamily:
            return CounterMetricFamily(name, doc, labels=[*INSTANCE_LABELS, *extra])

        def gauge(name: str, doc: str) -> GaugeMetricFamily:
            return GaugeMetricFamily(name, doc, labels=list(INSTANCE_LABELS))

        lines = counter("borealis_log_lines", "Log lines read, by severity.", ["severity"])
        malformed = counter(
            "borealis_log_malformed_lines", "Log lines that could not be parsed and were skipped."
        )
        received = counter("borealis_connections_received", "Connection attempts received.")
        authorized = counter("borealis_connections_authorized", "Connections authorized.")
        disconnections = counter("borealis_disconnections", "Sessions that ended.")
        session = counter(
            "borealis_session_duration_seconds",
            "Total duration of the sessions that ended (from disconnection lines).",
        )
        auth = counter(
            "borealis_authentication_failures",
            "Failed authentications (FATAL 28P01/28000, pg_hba.conf rejections), by reason.",
            ["reason"],
        )
        audit = counter(
            "borealis_audit_records",
            "pgaudit records, by audit class and command tag.",
            ["class", "command"],
        )
        errors = counter(
            "borealis_log_errors",
            "ERROR, FATAL and PANIC lines by severity and SQLSTATE class (first two characters).",
            ["severity", "sqlstate_class"],
        )
        suppressed = counter(
            "borealis_log_events_suppressed",
            "Events from logs held back by the rate limit and summed up in an aggregate event.",
            ["event_id"],
        )
        read = counter("borealis_log_read_bytes", "Bytes of log read.")
        tail_errors = counter(
            "borealis_log_tail_errors", "Log tailing rounds that failed (directory unreadable)."
        )
        success = gauge(
            "borealis_log_tail_success", "1 when the last round of log tailing succeeded."
        )
        duration = gauge(
            "borealis_log_tail_duration_seconds", "How long the last round of log tailing took."
        )
        for tailer in self.tailers:
            labels = self._labels(tailer.target)
            counts = tailer.counters.snapshot()
            # Every severity and reason is always present, so increase() sees the first one.
            for severity in sorted(set(SEVERITIES) | set(counts.lines)):
                lines.add_metric([*labels, severity], counts.lines.get(severity, 0))
            malformed.add_metric(labels, counts.malformed)
            received.add_metric(labels, counts.received)
            authorized.add_metric(labels, counts.authorized)
            disconnections.add_metric(labels, counts.disconnections)
            session.add_metric(labels, counts.session_seconds)
            for reason in sorted({r.value for r in AuthFailure} | set(counts.auth_failures)):
                auth.add_metric([*labels, reason], counts.auth_failures.get(reason, 0))
            for (audit_class, command), value in sorted(counts.audit.items()):
                audit.add_metric([*labels, audit_class, command], value)
            for (severity, sqlstate_class), value in sorted(counts.errors.items()):
                errors.add_metric([*labels, severity, sqlstate_class], value)
            for event_id, value in sorted(tailer.events_suppressed.items()):
                suppressed.add_metric([*labels, event_id], value)
            read.add_metric(labels, tailer.bytes_read)
            tail_errors.add_metric(labels, tailer.errors_total)
            success.add_metric(labels, 1 if tailer.healthy else 0)
            duration.add_metric(labels, tailer.last_duration)
        yield from (
            lines,
            malformed,
            received,
            authorized,
            disconnections,
            session,
            auth,
            audit,
            errors,
            suppressed,
            read,
            tail_errors,
            success,
            duration,
        )
