"""`collector` and `ui`: one service alone, in the foreground, until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from collections.abc import Callable

from core.settings import Settings


def _serve(run: Callable[[Settings, threading.Event], None], settings: Settings) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    run(settings, stop)
    return 0


def cmd_collector(args: argparse.Namespace, settings: Settings) -> int:
    from collector import service

    return _serve(service.run, settings)


def cmd_cloudwatch(args: argparse.Namespace, settings: Settings) -> int:
    from alerts.cloudwatch_api import app
    from borealis.alarm_reload import cloudwatch_backend

    def run(settings: Settings, stop: threading.Event) -> None:
        # Alarms persist in the state directory and reach the stack's Prometheus and
        # Alertmanager (borealis/alarm_reload.py).
        app.run(settings, stop, alarms=cloudwatch_backend(settings))

    return _serve(run, settings)


def cmd_webhook(args: argparse.Namespace, settings: Settings) -> int:
    from alerts import webhook

    return _serve(webhook.run, settings)


def cmd_ui(args: argparse.Namespace, settings: Settings) -> int:
    from dashboards import server

    return _serve(server.run, settings)
