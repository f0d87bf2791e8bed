"""The collector's HTTP endpoints: /metrics, /healthz and a small JSON API."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from collector.exposition import render
from collector.poller import InstancePoller
from core.events import EventStore

log = logging.getLogger(__name__)

Route = Callable[[dict[str, list[str]]], tuple[int, Any]]


class CollectorHttp:
    def __init__(
        self,
        host: str,
        port: int,
        registry: CollectorRegistry,
        pollers: list[InstancePoller],
        events: EventStore | None,
    ) -> None:
        self.registry = registry
        self.pollers = pollers
        self.events = events
        self.routes: dict[str, Route] = {
            "/healthz": self._healthz,
            "/api/targets": self._targets,
            "/api/events": self._events,
        }
        handler = self._handler_class()
        self.server = ThreadingHTTPServer((host, port), handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, name="http", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _healthz(self, query: dict[str, list[str]]) -> tuple[int, Any]:
        now = time.monotonic()
        up = sum(1 for p in self.pollers if p.is_up(now))
        return 200, {"status": "ok", "targets": len(self.pollers), "up": up}

    def _targets(self, query: dict[str, list[str]]) -> tuple[int, Any]:
        now = time.monotonic()
        return 200, {
            "targets": [
                {
                    "cluster": p.target.cluster,
                    "db_instance": p.target.db_instance,
                    "resource_id": p.target.resource_id,
                    "az": p.target.az,
                    "role": p.role,
                    "up": p.is_up(now),
                    "dsn": p.target.safe_dsn,
                    "errors": p.latest.errors if p.latest else {},
                }
                for p in self.pollers
            ]
        }

    def _events(self, query: dict[str, list[str]]) -> tuple[int, Any]:
        if self.events is None:
            return 200, {"Events": []}
        try:
            minutes = float(query.get("minutes", ["60"])[0])
        except ValueError:
            return 400, {"error": "minutes must be a number"}
        since = datetime.now(UTC) - timedelta(minutes=minutes)
        return 200, {"Events": [e.to_api() for e in self.events.list(since=since)]}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "borealis-collector"

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("http: " + format, *args)

            def do_GET(self) -> None:
                url = urlparse(self.path)
                if url.path == "/metrics":
                    # The classic text format, whatever the Accept header says: Prometheus
                    # takes it, and we gain nothing from OpenMetrics (no exemplars here).
                    body = render(outer.registry)
                    content_type = CONTENT_TYPE_LATEST
                    self._send(200, body, content_type)
                    return
                route = outer.routes.get(url.path)
                if route is None:
                    self._send(404, b'{"error": "not found"}\n', "application/json")
                    return
                status, payload = route(parse_qs(url.query))
                self._send(status, (json.dumps(payload) + "\n").encode(), "application/json")

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler
