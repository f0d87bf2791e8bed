"""`borealis up --targets FILE`: the whole monitoring stack for PostgreSQL that Borealis does
not run (any PostgreSQL 13+, RDS, Aurora), listed in a targets file.

Everything but the mini-cluster: the collector (reading the targets file), Prometheus with
the generated rules, the UI. No manager, no endpoints, no data root, no PostgreSQL binaries.
The state directory records the file it watches (`targets-file`), so every command can tell
a stack watching targets from a cluster, running or not.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from borealis import control, startup
from borealis.servicelist import grafana_status, service_urls, stack_services, start_all
from borealis.services import Service, restart_dead
from collector.targets import Target, targets_from_file
from core.errors import BorealisError
from core.events import EventStore
from core.paths import StatePaths
from core.settings import Settings

log = logging.getLogger(__name__)

RECORD_NAME = "targets-file"
# The ports this stack listens on: a service added to `servicelist.stack_services` adds its own.
PORTS = ("collector", "pi", "prometheus", "ui", "cloudwatch", "webhook", "alertmanager")
CLUSTER_OPERATIONS = ("failover", "reboot", "fault")


def record_path(paths: StatePaths) -> Path:
    return paths.root / RECORD_NAME


def watched_file(paths: StatePaths) -> str | None:
    """The targets file the stack of this state directory watches; None for a cluster's."""
    if paths.topology.exists():
        return None
    try:
        text = record_path(paths).read_text().strip()
    except OSError:
        return None
    return text or None


def no_cluster(targets_file: str) -> BorealisError:
    return BorealisError(f"no Borealis cluster: this stack watches targets from {targets_file}")


def print_targets(status: dict[str, Any]) -> None:
    """A stack watching a targets file: the file, then each target and its state."""
    if status.get("mode") != "targets":
        return
    print(f"watching {status['targets_file']}")
    for target in status.get("targets", []):
        state = {True: "up", False: "down"}.get(target.get("up"), "?")
        name = f"{target['cluster']}/{target['db_instance']}"
        print(f"  {name:<36} {target.get('role') or '-':<8} {state:<5} {target.get('dsn', '')}")


def check_same_kind(status: dict[str, Any], targets_file: str | None) -> None:
    """`up` finding a stack running: one line when it is not the kind of stack asked for."""
    running = status.get("targets_file") if status.get("mode") == "targets" else None
    if running == targets_file:
        return
    what = f"watching targets from {running}" if running else "with its mini-cluster"
    raise BorealisError(
        f"a Borealis stack is already running for {status.get('state_dir')}, {what}: "
        "`borealis down` stops it, or use another --state-dir"
    )


def require_cluster(paths: StatePaths) -> None:
    """Commands about the mini-cluster: one line when this state directory watches targets."""
    targets_file = watched_file(paths)
    if targets_file:
        raise no_cluster(targets_file)


def load_targets(targets_file: str) -> list[Target]:
    path = Path(targets_file)
    if not path.is_file():
        raise BorealisError(f"the targets file {path} does not exist (or is not a file)")
    return targets_from_file(path)


def preflight(settings: Settings, paths: StatePaths, targets_file: str) -> list[Target]:
    """What a stack watching targets can know is wrong before it starts a process."""
    if paths.topology.exists():
        raise BorealisError(
            f"{paths.root} holds a Borealis cluster: watch targets from another state "
            "directory (--state-dir DIR)"
        )
    targets = load_targets(targets_file)
    startup.check_service_binaries(settings)
    startup.stop_leftover_services(paths)
    wanted = [(settings.ports.port(name), f"ports.{name}") for name in PORTS]
    startup.check_ports(settings, paths, wanted)
    return targets


def _target_row(target: Target, up: bool | None, role: str) -> dict[str, Any]:
    return {
        "cluster": target.cluster,
        "db_instance": target.db_instance,
        "resource_id": target.resource_id,
        "az": target.az,
        "role": role,
        "up": up,
        "dsn": target.safe_dsn,
    }


def offline_status(paths: StatePaths, targets_file: str) -> dict[str, Any]:
    """`status` of a stack watching targets whose supervisor is not running."""
    return {
        "mode": "targets",
        "targets_file": targets_file,
        # Nothing watches them now: their state is unknown, not down.
        "targets": [_target_row(t, None, "unknown") for t in load_targets(targets_file)],
        "services": {},
        "ready": False,
        "state_dir": str(paths.root),
        "checked_at": time.time(),
    }


class TargetsSupervisor:
    """Starts, watches and stops the monitoring services; answers the control socket."""

    def __init__(self, settings: Settings) -> None:
        if not settings.collector.targets_file:
            raise BorealisError("no targets file: pass --targets FILE")
        self.settings = settings
        self.paths = settings.state_paths()
        self.targets_file = str(Path(settings.collector.targets_file).absolute())
        self.targets: list[Target] = []
        self.stop_event = threading.Event()
        self.services: dict[str, Service] = {}
        self.events: EventStore | None = None
        self.control: control.ControlServer | None = None
        self.ready = False

    def run(self) -> None:
        startup.claim_state_dir(self.settings, self.paths)
        startup.warn_if_exposed(self.settings)
        try:
            self.targets = preflight(self.settings, self.paths, self.targets_file)
            record_path(self.paths).write_text(self.targets_file + "\n")
            # The collector writes the targets' events here; restarts of services go in too.
            events = EventStore(self.paths.events_db, self.settings.retention.events_days)
            self.events = events
            self.control = control.ControlServer(self.paths.control_socket, self._handlers())
            self.control.start()
            start_all(stack_services(self.settings, self.paths, cluster=False), self.services)
            self.ready = True
            lines = "".join(f"\n  {name:<12} {url}" for name, url in sorted(self.urls().items()))
            log.info("Borealis watches %s (Ctrl-C stops it):%s", self.targets_file, lines)
            while not self.stop_event.wait(1.0):
                restart_dead(self.services, events, self.settings.cluster_id)
        except BorealisError as exc:
            startup.record_failure(self.paths, str(exc))
            raise
        except Exception as exc:
            log.exception("the start failed")
            log_file = self.paths.service_log("supervisor")
            reason = f"the start failed ({type(exc).__name__}: {exc}); see {log_file}"
            startup.record_failure(self.paths, reason)
            raise BorealisError(reason) from None
        finally:
            self._stop()

    def _handlers(self) -> dict[str, control.Handler]:
        def refuse(request: dict[str, Any]) -> Any:
            raise no_cluster(self.targets_file)

        handlers: dict[str, control.Handler] = {
            "status": lambda request: self.status(),
            "stop": lambda request: self._request_stop(),
        }
        handlers.update({op: refuse for op in CLUSTER_OPERATIONS})
        return handlers

    def _request_stop(self) -> dict[str, Any]:
        self.stop_event.set()
        return {"stopping": True}

    def urls(self) -> dict[str, str]:
        return service_urls(self.settings, self.services)

    def target_states(self) -> list[dict[str, Any]]:
        """Each target with its up/down state and role, as the collector sees them now."""
        collector = self.services.get("collector")
        if collector is not None:
            try:
                request = urllib.request.Request(  # noqa: S310 - ours
                    f"{collector.spec.url}/api/targets", headers=collector.spec.headers
                )
                with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - ours
                    rows = json.load(response)["targets"]
                keys = ("cluster", "db_instance", "resource_id", "az", "role", "up", "dsn")
                return [{key: row.get(key) for key in keys} for row in rows]
            except (urllib.error.URLError, OSError, ValueError, KeyError, TypeError):
                pass  # the collector is (re)starting: every target counts as down
        return [_target_row(t, False, "unknown") for t in self.targets]

    def status(self) -> dict[str, Any]:
        health = {name: service.healthy() for name, service in self.services.items()}
        return {
            "mode": "targets",
            "targets_file": self.targets_file,
            "targets": self.target_states(),
            "services": self.urls(),
            "grafana": grafana_status(self.paths),
            "service_health": health,
            "ready": self.ready and all(health.values()),
            "state_dir": str(self.paths.root),
            "supervisor_pid": os.getpid(),
        }

    def _stop(self) -> None:
        log.info("stopping Borealis")
        self.stop_event.set()
        for service in reversed(list(self.services.values())):
            service.stop()
        if self.control is not None:
            self.control.stop()
        self.paths.supervisor_pid.unlink(missing_ok=True)
        log.info("Borealis stopped")


def run_foreground(settings: Settings) -> None:
    supervisor = TargetsSupervisor(settings)

    def handle(signum: int, frame: object) -> None:
        supervisor.stop_event.set()

    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)
    supervisor.run()
