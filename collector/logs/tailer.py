"""One thread per instance: follow its jsonlog, classify each line, feed the counters, the
event store and OpenTelemetry. A bad line is counted and skipped; a failed round is counted
and retried on the next tick; nothing here can stop the collector."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Protocol

from collector.logs.classify import Classified, MalformedAudit, classify
from collector.logs.counters import LogCounters
from collector.logs.event_sink import LogEventSink
from collector.logs.follow import LogFollower
from collector.logs.records import parse_line
from collector.targets import Target
from collector.worker import Worker

log = logging.getLogger(__name__)


class OtelEmitter(Protocol):
    def emit(self, target: Target, item: Classified) -> None: ...


class LogTailer(Worker):
    def __init__(
        self,
        target: Target,
        follower: LogFollower,
        *,
        interval_s: float = 1.0,
        events: LogEventSink | None = None,
        otel: OtelEmitter | None = None,
    ) -> None:
        self.target = target
        self.follower = follower
        self.interval_s = interval_s
        self.events = events
        self.otel = otel
        self.counters = LogCounters()
        self.healthy = False
        self.last_duration = 0.0
        self.errors_total = 0
        self._last_error = ""
        super().__init__(f"logs-{target.db_instance}")

    # --- the view the metrics collector reads ---------------------------------------------

    @property
    def bytes_read(self) -> int:
        return self.follower.stats.bytes_read

    @property
    def events_suppressed(self) -> dict[str, int]:
        return dict(self.events.limiter.suppressed_total) if self.events else {}

    # --- lifecycle ------------------------------------------------------------------------

    def _run(self) -> None:
        self.tick()
        while not self._stop.wait(self.interval_s):
            self.tick()
        if self.events is not None:
            try:
                self.events.close(time.time())
            except Exception:
                log.exception("logs of %s: final events failed", self.target.db_instance)

    def tick(self) -> None:
        started = time.perf_counter()
        try:
            self._read()
            if self.events is not None:
                self.events.tick(time.time())
            self.healthy = True
            self._last_error = ""
        except OSError as exc:
            self._failed(f"{exc.strerror or exc}: {exc.filename or self.follower.directory}")
        except Exception as exc:
            log.exception("logs of %s: tailing failed", self.target.db_instance)
            self._failed(type(exc).__name__)
        self.last_duration = time.perf_counter() - started

    def _failed(self, error: str) -> None:
        self.healthy = False
        self.errors_total += 1
        if error != self._last_error:  # say it once, not every second
            log.warning("logs of %s: %s", self.target.db_instance, error)
            self._last_error = error

    def _read(self) -> None:
        for batch in self.follower.read():
            if batch.oversized:
                self.counters.malformed(batch.oversized)
            for raw, origin in zip(batch.lines, batch.origins(), strict=True):
                self._handle(raw, origin)
            if self.events is not None:
                self.events.end_batch()
            self.follower.save()
            if self._stop.is_set():
                break
        self.follower.save()

    def _handle(self, raw: bytes, origin: str = "") -> None:
        line = parse_line(raw)
        if line is None:
            self.counters.malformed()
            return
        try:
            item = classify(line)
        except MalformedAudit:
            self.counters.malformed()
            return
        self.counters.record(item)
        try:
            if self.events is not None:
                self.events.consume(item, origin)
            if self.otel is not None:
                self.otel.emit(self.target, item)
        except Exception:
            # A failing sink must not stall the file: the line stays counted and we move on.
            log.exception(
                "logs of %s: handling a %s line failed", self.target.db_instance, item.kind
            )
            self.errors_total += 1


def positions_file(directory: Path, target: Target) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in target.db_instance)
    return directory / f"{safe}.json"
