"""`borealis up`: the cluster manager, the services and the control channel in one process.

The supervisor owns every process of the stack. Ctrl-C (or SIGTERM from `borealis down`)
stops the services, then the cluster, cleanly. `--detach` runs the same supervisor in the
background and returns once every part is healthy.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any

from borealis import control, prometheus
from borealis.errors import BorealisError
from borealis.paths import StatePaths
from borealis.services import Service, ServiceSpec
from borealis.settings import Settings, settings_to_json
from cluster.events import EventStore
from cluster.manager import ClusterManager
from cluster.pgctl import is_alive, read_pid

log = logging.getLogger(__name__)


def python_service(
    settings: Settings, paths: StatePaths, name: str, port_name: str, health: str
) -> ServiceSpec:
    settings_file = paths.run / "settings.json"
    host = settings.listen_host
    return ServiceSpec(
        name=name,
        argv=[sys.executable, "-m", "borealis", name, "--settings-json", str(settings_file)],
        url=f"http://{host}:{settings.ports.port(port_name)}",
        health_path=health,
        log_file=paths.service_log(name),
        pid_file=paths.pid_file(name),
    )


class Supervisor:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.paths = StatePaths(settings.state_dir)
        self.stop_event = threading.Event()
        self.events: EventStore | None = None
        self.manager: ClusterManager | None = None
        self.services: dict[str, Service] = {}
        self.control: control.ControlServer | None = None
        self._manager_thread: threading.Thread | None = None
        self.ready = False

    # --- start ----------------------------------------------------------------------

    def run(self) -> None:
        """Bring everything up, then watch until asked to stop."""
        self._claim_state_dir()
        try:
            self._start()
            self.ready = True
            lines = "".join(f"\n  {name:<12} {url}" for name, url in sorted(self.urls().items()))
            log.info("Borealis is up (Ctrl-C stops everything):%s", lines)
            while not self.stop_event.wait(1.0):
                for service in self.services.values():
                    service.ensure_running()
        finally:
            self._stop()

    def _claim_state_dir(self) -> None:
        self.paths.root.mkdir(parents=True, exist_ok=True)
        self.paths.run.mkdir(parents=True, exist_ok=True)
        self.paths.logs.mkdir(parents=True, exist_ok=True)
        pid = read_pid(self.paths.supervisor_pid)
        if pid and pid != os.getpid() and is_alive(pid):
            raise BorealisError(
                f"a Borealis stack is already running for {self.paths.root} (pid {pid}); "
                "`borealis status` shows it, `borealis down` stops it"
            )
        self.paths.supervisor_pid.write_text(f"{os.getpid()}\n")
        # Settings may carry secrets (OTLP headers): readable by root only.
        settings_file = self.paths.run / "settings.json"
        fd = os.open(settings_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(settings_to_json(self.settings))
        os.chmod(settings_file, 0o600)

    def _start(self) -> None:
        self.events = EventStore(self.paths.events_db)
        self.manager = ClusterManager(self.settings, self.paths, self.events)
        self.control = control.ControlServer(self.paths.control_socket, self._handlers())
        self.control.start()
        self.manager.open()
        self._manager_thread = threading.Thread(
            target=self.manager.run, args=(self.stop_event,), name="manager", daemon=True
        )
        self._manager_thread.start()
        specs = [
            python_service(self.settings, self.paths, "collector", "collector", "/healthz"),
            prometheus.service(self.settings, self.paths),
            python_service(self.settings, self.paths, "ui", "ui", "/healthz"),
        ]
        for spec in specs:
            service = Service(spec)
            service.start()
            self.services[spec.name] = service
        for service in self.services.values():
            if not service.wait_healthy(60):
                raise BorealisError(
                    f"{service.spec.name} did not become healthy; see {service.spec.log_file}"
                )

    # --- control --------------------------------------------------------------------

    def _handlers(self) -> dict[str, control.Handler]:
        return {
            "status": lambda request: self.status(),
            "failover": lambda request: self._require_manager().request_failover(
                request.get("target")
            ),
            "stop": lambda request: self._request_stop(),
        }

    def _require_manager(self) -> ClusterManager:
        if self.manager is None or self.manager.topology is None:
            raise BorealisError("the cluster is still starting; try again in a moment")
        return self.manager

    def _request_stop(self) -> dict[str, Any]:
        self.stop_event.set()
        return {"stopping": True}

    def urls(self) -> dict[str, str]:
        urls = {name: service.spec.url for name, service in self.services.items()}
        if "collector" in urls:
            # The Performance Insights API lives in the collector process, on its own port.
            urls["pi"] = f"http://{self.settings.listen_host}:{self.settings.ports.port('pi')}"
        return urls

    def status(self) -> dict[str, Any]:
        manager = self._require_manager()
        status = manager.call(manager.status, timeout=30)
        status["services"] = self.urls()
        status["service_health"] = {
            name: service.healthy() for name, service in self.services.items()
        }
        status["ready"] = self.ready and manager.healthy()
        status["supervisor_pid"] = os.getpid()
        return status

    # --- stop -----------------------------------------------------------------------

    def _stop(self) -> None:
        log.info("stopping Borealis")
        self.stop_event.set()
        for service in reversed(list(self.services.values())):
            service.stop()
        if self._manager_thread is not None:
            self._manager_thread.join(timeout=30)
        if self.manager is not None and self.manager.topology is not None:
            try:
                self.manager.shutdown()
            except BorealisError as exc:
                log.error("stopping the cluster: %s", exc)
        if self.control is not None:
            self.control.stop()
        self.paths.supervisor_pid.unlink(missing_ok=True)
        log.info("Borealis stopped")


def install_signal_handlers(supervisor: Supervisor) -> None:
    def handle(signum: int, frame: object) -> None:
        supervisor.stop_event.set()

    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)


def run_foreground(settings: Settings) -> None:
    supervisor = Supervisor(settings)
    install_signal_handlers(supervisor)
    supervisor.run()


def start_detached(settings: Settings, argv: list[str], timeout: float) -> dict[str, Any]:
    """Start `borealis up` in the background; return its status once everything is healthy."""
    paths = StatePaths(settings.state_dir)
    paths.logs.mkdir(parents=True, exist_ok=True)
    log_file = paths.service_log("supervisor")
    with open(log_file, "ab") as handle:
        child = subprocess.Popen(
            [sys.executable, "-m", "borealis", *argv],
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    last_error = ""
    while time.monotonic() < deadline:
        if child.poll() is not None:
            tail = log_file.read_text(errors="replace").strip().splitlines()[-5:]
            raise BorealisError(f"borealis up exited with {child.returncode}: {' | '.join(tail)}")
        try:
            status = control.request(paths.control_socket, "status", timeout=10)
            if status.get("ready"):
                return dict(status)
        except BorealisError as exc:
            last_error = str(exc)
        time.sleep(0.5)
    raise BorealisError(
        f"the stack did not become healthy within {timeout:.0f} s ({last_error}); see {log_file}"
    )
