"""Serve the Dash UI (`borealis ui`)."""

from __future__ import annotations

import logging
import threading

from werkzeug.serving import make_server

from core.settings import Settings
from dashboards.app import create_app
from dashboards.context import UiContext

log = logging.getLogger(__name__)


def run(settings: Settings, stop: threading.Event) -> None:
    app = create_app(UiContext.from_settings(settings))
    server = app.server
    server.add_url_rule("/healthz", "healthz", lambda: {"status": "ok"})
    http = make_server(settings.listen_host, settings.ports.port("ui"), server, threaded=True)
    thread = threading.Thread(target=http.serve_forever, name="ui", daemon=True)
    thread.start()
    log.info("UI on http://%s:%d/", settings.listen_host, settings.ports.port("ui"))
    try:
        stop.wait()
    finally:
        http.shutdown()
