"""`borealis up`: the cluster manager, the services and the control channel in one process.

The supervisor owns every process of the stack. Ctrl-C (or SIGTERM from `borealis down`)
stops the services, then the cluster, cleanly. `--detach` runs the same supervisor in the
background and returns once every part is healthy.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from typing import Any

from borealis import control, startup
from borealis.audit import Audit
from borealis.servicelist import grafana_status, service_urls, stack_services, start_all
from borealis.services import Service, restart_dead
from cluster.endpoints import Endpoint, EndpointProxy
from cluster.faults import FaultInjector
from cluster.manager import ClusterManager
from core.credentials import APP_DATABASE, APP_USER
from core.errors import BorealisError
from core.events import EventStore
from core.settings import Settings
from core.trail import FIS_SOURCE, RDS_SOURCE, Caller, TrailStore

log = logging.getLogger(__name__)


def app_uri(host: str, port: int) -> str:
    """A libpq URI for the application role, without its password."""
    return f"postgresql://{APP_USER}@{host}:{port}/{APP_DATABASE}"


class Supervisor:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.paths = settings.state_paths()
        self.stop_event = threading.Event()
        self.events: EventStore | None = None
        self.audit = Audit(settings.cluster_id, settings.region)
        self.manager: ClusterManager | None = None
        self.faults: FaultInjector | None = None
        self.endpoints: EndpointProxy | None = None
        self.services: dict[str, Service] = {}
        self.control: control.ControlServer | None = None
        self._manager_thread: threading.Thread | None = None
        self._stop_recorded = False
        self.ready = False
        self.start_report: list[str] = []  # what an earlier run left and this `up` did

    # --- start ----------------------------------------------------------------------

    def run(self) -> None:
        """Bring everything up, then watch until asked to stop."""
        self.start_report = startup.claim_state_dir(self.settings, self.paths)
        startup.warn_if_exposed(self.settings)
        try:
            self.start_report += startup.preflight(self.settings, self.paths)
            for line in self.start_report:
                log.warning("up: %s", line)
            self._start()
            self.ready = True
            lines = "".join(f"\n  {name:<12} {url}" for name, url in sorted(self.urls().items()))
            log.info("Borealis is up (Ctrl-C stops everything):%s", lines)
            while not self.stop_event.wait(1.0):
                self._restart_dead_services()
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

    def _start(self) -> None:
        settings = self.settings
        self.events = EventStore(self.paths.events_db, settings.retention.events_days)
        self.audit.trail = TrailStore(self.paths.trail_db, settings.retention.trail_days)
        self.manager = ClusterManager(settings, self.paths, self.events)
        self.faults = FaultInjector(self.manager)
        self.endpoints = EndpointProxy(
            settings.listen_host,
            {
                Endpoint.WRITER: settings.ports.port("cluster_endpoint"),
                Endpoint.READER: settings.ports.port("reader_endpoint"),
            },
            hold_s=settings.endpoints.hold_s,
            connect_timeout_s=settings.endpoints.connect_timeout_s,
        )
        self.endpoints.start()
        self.manager.route_listeners.append(self.endpoints.update)
        self.control = control.ControlServer(self.paths.control_socket, self._handlers())
        self.control.start()
        creating = not self.paths.topology.exists()
        name = "CreateDBCluster" if creating else "StartDBCluster"
        params: dict[str, Any] = {"dBClusterIdentifier": settings.cluster_id}
        if creating:
            params.update(engine="aurora-postgresql", engineVersion="15", readers=settings.readers)
        me = Caller.from_uid(os.getuid(), os.getpid())
        try:
            self.manager.open()
        except Exception as exc:
            self.audit.record(name, me, params, error=exc)
            raise
        self.audit.record(name, me, params, response=self.audit.cluster_elements(self.manager))
        self._manager_thread = threading.Thread(
            target=self.manager.run, args=(self.stop_event,), name="manager", daemon=True
        )
        self._manager_thread.start()
        start_all(stack_services(settings, self.paths, cluster=True), self.services)

    def _restart_dead_services(self) -> None:
        if self.events is not None:
            restart_dead(self.services, self.events, self.settings.cluster_id)

    # --- control --------------------------------------------------------------------

    def _handlers(self) -> dict[str, control.Handler]:
        cluster = {"dBClusterIdentifier": self.settings.cluster_id}
        return {
            "status": lambda request: self.status(),
            "failover": self.audit.audited(
                "FailoverDBCluster",
                RDS_SOURCE,
                params=lambda r: {**cluster, "targetDBInstanceIdentifier": r.get("target")},
                act=lambda r: self._require_manager().request_failover(r.get("target")),
                response=lambda result: self.audit.cluster_elements(self.manager),
            ),
            "reboot": self.audit.audited(
                "RebootDBInstance",
                RDS_SOURCE,
                params=lambda r: {"dBInstanceIdentifier": r.get("instance")},
                act=lambda r: self._require_manager().request_reboot(str(r.get("instance"))),
                response=lambda result: {
                    "dBInstanceIdentifier": result["instance"],
                    "dBInstanceStatus": "available",
                    **cluster,
                },
            ),
            "fault": self.audit.audited(
                "InjectFault",
                FIS_SOURCE,
                params=lambda r: {"action": r.get("fault"), "parameters": r.get("args", [])},
                act=self._inject,
                response=dict,
            ),
            "stop": self.audit.audited(
                "StopDBCluster",
                RDS_SOURCE,
                params=lambda r: cluster,
                act=lambda r: self._request_stop(),
                response=lambda result: cluster,
            ),
        }

    def _inject(self, request: dict[str, Any]) -> dict[str, Any]:
        self._require_manager()
        if self.faults is None:
            raise BorealisError("the cluster is still starting; try again in a moment")
        args = [str(a) for a in request.get("args") or []]
        return self.faults.inject(str(request.get("fault")), args)

    def _require_manager(self) -> ClusterManager:
        if self.manager is None or self.manager.topology is None:
            raise BorealisError("the cluster is still starting; try again in a moment")
        return self.manager

    def _request_stop(self) -> dict[str, Any]:
        self._stop_recorded = True
        self.stop_event.set()
        return {"stopping": True}

    def urls(self) -> dict[str, str]:
        return service_urls(self.settings, self.services)

    def endpoint_uris(self) -> dict[str, str]:
        host = self.settings.listen_host
        return {
            "writer": app_uri(host, self.settings.ports.port("cluster_endpoint")),
            "reader": app_uri(host, self.settings.ports.port("reader_endpoint")),
        }

    def status(self) -> dict[str, Any]:
        manager = self._require_manager()
        status = manager.call(manager.status, timeout=30)
        status["services"] = self.urls()
        status["grafana"] = grafana_status(self.paths)
        status["service_health"] = {
            name: service.healthy() for name, service in self.services.items()
        }
        status["endpoints"] = self.endpoint_uris()
        status["credentials"] = {
            "user": APP_USER,
            "database": APP_DATABASE,
            "password_file": str(self.paths.secrets),
            "password_key": "app",
        }
        if self.endpoints is not None:
            status["endpoint_connections"] = self.endpoints.active_connections()
        status["ready"] = self.ready and manager.healthy()
        status["state_dir"] = str(self.paths.root)
        status["data_root"] = str(self.paths.pg)
        status["supervisor_pid"] = os.getpid()
        status["start_report"] = self.start_report + status.get("start_report", [])
        return status

    # --- stop -----------------------------------------------------------------------

    def _stop(self) -> None:
        log.info("stopping Borealis")
        self.stop_event.set()
        if not self._stop_recorded and self.manager is not None:
            # Ctrl-C or SIGTERM rather than `borealis down`: the trail still gets it.
            self.audit.record(
                "StopDBCluster",
                Caller.from_uid(os.getuid(), os.getpid()),
                {"dBClusterIdentifier": self.settings.cluster_id},
                response={"dBClusterIdentifier": self.settings.cluster_id},
            )
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
        if self.endpoints is not None:
            self.endpoints.stop()
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
