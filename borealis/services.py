"""Child services of the supervisor (collector, UI, Prometheus): start, watch, restart, stop."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cluster.pgctl import is_alive, read_pid, stop_process
from core.events import EventStore, make_event
from core.waiting import WaitTimeout, wait_until

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    argv: list[str]
    url: str  # base URL users open ("" for a service without one)
    health_path: str  # "" when only being alive counts
    log_file: Path
    pid_file: Path
    env: dict[str, str] = field(default_factory=dict)
    # What the supervisor's health checks send (the internal user's Authorization when the
    # stack's auth is on: Prometheus' and Alertmanager's /-/ready are behind it).
    headers: dict[str, str] = field(default_factory=dict, repr=False)


def http_ok(url: str, timeout: float = 1.0, headers: dict[str, str] | None = None) -> bool:
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 - our own URL
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - our own URL
            return bool(200 <= response.status < 300)
    except (urllib.error.URLError, OSError, ValueError):
        return False


class Service:
    def __init__(self, spec: ServiceSpec) -> None:
        self.spec = spec
        self.popen: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        self.started_at = 0.0

    @property
    def pid(self) -> int | None:
        if self.popen is not None and self.popen.poll() is None:
            return self.popen.pid
        return None

    def alive(self) -> bool:
        return self.pid is not None

    def healthy(self) -> bool:
        if not self.spec.health_path:  # no HTTP side (the workload): alive is healthy
            return self.alive()
        return self.alive() and http_ok(
            self.spec.url + self.spec.health_path, headers=self.spec.headers
        )

    def start(self) -> None:
        stop_stale(self.spec.pid_file)
        self.spec.log_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.spec.log_file, "ab") as log_handle:
            self.popen = subprocess.Popen(
                self.spec.argv,
                stdin=subprocess.DEVNULL,
                stdout=log_handle,
                stderr=subprocess.STDOUT,
                env={**os.environ, **self.spec.env},
                start_new_session=True,
            )
        self.started_at = time.monotonic()
        self.spec.pid_file.write_text(f"{self.popen.pid}\n")
        log.info("started %s (pid %d): %s", self.spec.name, self.popen.pid, self.spec.url)

    def ensure_running(self) -> str | None:
        """Restart the service if it died (with a short backoff); say how it ended when it
        was restarted ("exit code 1", "signal SIGKILL"), else None."""
        if self.popen is None or self.alive():
            return None
        if time.monotonic() - self.started_at < 2.0:
            return None
        code = self.popen.returncode
        log.warning("%s exited with %s; restarting it", self.spec.name, code)
        self.restarts += 1
        self.start()
        return exit_reason(code)

    def wait_healthy(self, timeout: float) -> bool:
        """True once healthy; False when it exits first or `timeout` passes."""

        def settled() -> str:
            if self.healthy():
                return "healthy"
            if self.popen is not None and self.popen.poll() is not None:
                return "exited"
            return ""

        try:
            return wait_until(settled, timeout=timeout, interval=0.1, what=self.spec.name) == (
                "healthy"
            )
        except WaitTimeout:
            return False

    def stop(self, timeout: float = 10.0) -> None:
        if self.popen is not None:
            stop_process(self.popen.pid, sig=signal.SIGTERM, timeout=timeout)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=2)
        self.spec.pid_file.unlink(missing_ok=True)


def exit_reason(returncode: int | None) -> str:
    """Popen's returncode in words: a negative one is the signal that ended the process."""
    if returncode is None:
        return "still running"
    if returncode < 0:
        try:
            return f"signal {signal.Signals(-returncode).name}"
        except ValueError:
            return f"signal {-returncode}"
    return f"exit code {returncode}"


def stop_stale(pid_file: Path) -> str | None:
    """Stop a process left behind by an earlier supervisor that died without cleaning up;
    say what was found (None: nothing was left)."""
    pid = read_pid(pid_file)
    name = pid_file.stem
    found = None
    if pid is not None and is_alive(pid):
        log.warning("stopping leftover process %d from %s", pid, pid_file)
        stop_process(pid, sig=signal.SIGTERM, timeout=5)
        found = f"{name} (pid {pid}) was left running by an earlier supervisor: stopped"
    elif pid_file.exists():
        found = f"{name} was not stopped cleanly: stale pid file removed"
    pid_file.unlink(missing_ok=True)
    return found


def restart_dead(services: Mapping[str, Service], events: EventStore, source: str) -> None:
    """Start again every service that died, each restart told as BOREALIS-EVENT-0161 from
    `source` (the stack's cluster id): the one path of the cluster's supervisor and of the
    one watching targets."""
    for name, service in services.items():
        ended = service.ensure_running()
        if ended is not None:
            events.add(make_event("BOREALIS-EVENT-0161", source, service=name, code=ended))
