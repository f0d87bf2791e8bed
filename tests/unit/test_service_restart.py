"""A dead service is started again and says how it ended (the supervisor's event text)."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from borealis.services import Service, ServiceSpec, exit_reason
from core.waiting import wait_until


def test_exit_reason_names_the_signal_or_the_code() -> None:
    assert exit_reason(-9) == "signal SIGKILL"
    assert exit_reason(-15) == "signal SIGTERM"
    assert exit_reason(3) == "exit code 3"
    assert exit_reason(None) == "still running"


def test_a_killed_service_is_restarted_and_reports_how_it_ended(tmp_path: Path) -> None:
    spec = ServiceSpec(
        name="sleeper",
        argv=[sys.executable, "-c", "import time; time.sleep(120)"],
        url="",
        health_path="",
        log_file=tmp_path / "sleeper.log",
        pid_file=tmp_path / "sleeper.pid",
    )
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
