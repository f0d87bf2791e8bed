"""Serve the Dash UI (`borealis ui`) with the same waitress runner as every Borealis API."""

from __future__ import annotations

import logging
import threading

from core.httpapi import HttpServer
from core.settings import Settings
from core.waiting import until_stopped
from core.webauth import internal_header, service_users
from dashboards.app import create_app
from dashboards.context import UiContext

log = logging.getLogger(__name__)

# Dash callbacks wait on Prometheus and the collector: enough threads that one slow page does
# not hold the others.
UI_THREADS = 8


def run(settings: Settings, stop: threading.Event) -> None:
    app = create_app(UiContext.from_settings(settings, internal_header(settings)))
    app.server.add_url_rule("/healthz", "healthz", lambda: {"status": "ok"})
    http = HttpServer(
        app.server,
        host=settings.listen_host,
        port=settings.ports.port("ui"),
        name="ui",
        threads=UI_THREADS,
        setting="ports.ui",
        users=service_users(settings),
    )
    http.start()
    log.info("UI on %s/", http.url)
    try:
        until_stopped(stop)
    finally:
        http.stop()
