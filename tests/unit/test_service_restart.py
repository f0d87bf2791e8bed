"""A dead service is started again and says how it ended (the supervisor's event text)."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from borealis.services import Service, ServiceSpec, exit_reason, restart_dead
from core.events import Event, EventStore
from core.waiting import wait_until


def test_exit_reason_names_the_signal_or_the_code() -> None:
    assert exit_reason(-9) == "signal SIGKILL"
    assert exit_reason(-15) == "signal SIGTERM"
    assert exit_reason(3) == "exit code 3"
    assert exit_reason(None) == "still running"


def sleeper(tmp_path: Path) -> ServiceSpec:
    """A service that sleeps for two minutes: alive until killed."""
    return ServiceSpec(
        name="sleeper",
        argv=[sys.executable, "-c", "import time; time.sleep(120)"],
        url="",
        health_path="",
        log_file=tmp_path / "sleeper.log",
        pid_file=tmp_path / "sleeper.pid",
    )


def test_a_killed_service_is_restarted_and_reports_how_it_ended(tmp_path: Path) -> None:
    spec = sleeper(tmp_path)
    service = Service(spec)
    service.start()
    try:
        assert service.ensure_running() is None  # alive: nothing to do
        first = service.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        ended = wait_until(service.ensure_running, timeout=15, what="the restart")
        assert ended == "signal SIGKILL"
        assert service.restarts == 1
        assert service.pid not in (None, first)
        assert spec.pid_file.read_text().strip() == str(service.pid)
    finally:
        service.stop()


def test_restart_dead_tells_each_restart_as_an_event(tmp_path: Path) -> None:
    """The one path both supervisors (cluster and targets) restart services through."""
    spec = sleeper(tmp_path)
    services = {"sleeper": Service(spec)}
    store = EventStore(tmp_path / "events.db")
    services["sleeper"].start()
    try:
        restart_dead(services, store, "demo")
        assert store.list() == []  # alive: nothing to tell
        first = services["sleeper"].pid
        assert first is not None
        os.kill(first, signal.SIGKILL)

        def told() -> list[Event]:
            restart_dead(services, store, "demo")
            return store.list()

        events = wait_until(told, timeout=15, what="the restart event")
        assert [(e.event_id, e.source_identifier, e.message) for e in events] == [
            (
                "BOREALIS-EVENT-0161",
                "demo",
                "The sleeper service exited (signal SIGKILL) and was restarted.",
            )
        ]
        assert services["sleeper"].pid not in (None, first)
    finally:
        services["sleeper"].stop()
