"""Wiring: a tailer per instance that has a log directory, with its sinks and metrics."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from prometheus_client.registry import Collector

from collector.logs.counters import LogCollector, RoleView
from collector.logs.event_sink import LogEventSink
from collector.logs.follow import LogFollower
from collector.logs.limiter import EventLimiter
from collector.logs.otel_sink import OtelLogSink
from collector.logs.tailer import LogTailer, positions_file
from collector.targets import Target
from core.events import EventStore
from core.settings import LogSettings

log = logging.getLogger(__name__)


class LogPipeline:
    def __init__(
        self,
        settings: LogSettings,
        targets: list[Target],
        events: EventStore | None,
        positions_dir: Path,
    ) -> None:
        self.settings = settings
        tailed = [t for t in targets if t.log_dir] if settings.enabled else []
        self.otel = (
            OtelLogSink(
                settings.otlp_endpoint,
                tailed,
                headers=settings.otlp_headers,
                include_sql_literals=settings.include_sql_literals,
            )
            if settings.otlp_endpoint and tailed
            else None
        )
        self.tailers = [self._tailer(t, events, positions_dir) for t in tailed]

    def _tailer(self, target: Target, events: EventStore | None, positions_dir: Path) -> LogTailer:
        s = self.settings
        follower = LogFollower(
            Path(str(target.log_dir)),
            positions_file(positions_dir / target.cluster, target),
            start_at=s.start_at,
        )
        sink = (
            LogEventSink(
                target,
                events,
                EventLimiter(s.event_burst, s.event_window_s),
                include_sql_literals=s.include_sql_literals,
            )
            if events is not None
            else None
        )
        return LogTailer(target, follower, interval_s=s.interval_s, events=sink, otel=self.otel)

    def collector(self, roles: Mapping[str, RoleView]) -> Collector:
        return LogCollector(self.tailers, dict(roles))

    def start(self) -> None:
        for tailer in self.tailers:
            tailer.start()
        if self.tailers:
            log.info(
                "tailing the logs of %d instances%s",
                len(self.tailers),
                f", exporting them to {_where(self.settings.otlp_endpoint)}" if self.otel else "",
            )

    def stop(self) -> None:
        for tailer in self.tailers:
            tailer.stop()
        for tailer in self.tailers:
            tailer.join(5.0)
        if self.otel is not None:
            self.otel.shutdown()


def _where(endpoint: str | None) -> str:
    """An endpoint for the log: scheme, host and port, never credentials or query."""
    parts = urlsplit(endpoint or "")
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"
