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
from borealis.services import Service, ServiceSpec
from cluster.endpoints import Endpoint, EndpointProxy
from cluster.faults import FaultInjector
from cluster.manager import ClusterManager
from cluster.pgctl import is_alive, read_pid
from core.credentials import APP_DATABASE, APP_USER
from core.errors import BorealisError
from core.events import EventStore
from core.paths import StatePaths
from core.settings import Settings, settings_to_json
from core.trail import FIS_SOURCE, RDS_SOURCE, Caller, TrailRecord, TrailStore

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


def workload_service(settings: Settings, paths: StatePaths) -> ServiceSpec:
    """The light default workload: a child process, through the cluster endpoint."""
    load = settings.light_workload
    return ServiceSpec(
        name="workload",
        argv=[
            sys.executable,
            "-m",
            "borealis",
            "workload",
            "--settings-json",
            str(paths.run / "settings.json"),
            "--scenario",
            load.scenario,
            "--rate",
            str(load.rate_tps),
            "--clients",
            str(load.clients),
            "--quiet",
        ],
        url="",
        health_path="",
        log_file=paths.service_log("workload"),
        pid_file=paths.pid_file("workload"),
    )


def app_uri(host: str, port: int) -> str:
    """A libpq URI for the application role, without its password."""
    return f"postgresql://{APP_USER}@{host}:{port}/{APP_DATABASE}"


class Supervisor:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.paths = StatePaths(settings.state_dir)
        self.stop_event = threading.Event()
        self.events: EventStore | None = None
        self.trail: TrailStore | None = None
        self.manager: ClusterManager | None = None
        self.faults: FaultInjector | None = None
        self.endpoints: EndpointProxy | None = None
        self.services: dict[str, Service] = {}
        self.control: control.ControlServer | None = None
        self._manager_thread: threading.Thread | None = None
        self._stop_recorded = False
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
        settings = self.settings
        self.events = EventStore(self.paths.events_db, settings.retention.events_days)
        self.trail = TrailStore(self.paths.trail_db, settings.retention.trail_days)
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
            self._record(name, me, params, error=exc)
            raise
        self._record(name, me, params, response=self._cluster_elements())
        self._manager_thread = threading.Thread(
            target=self.manager.run, args=(self.stop_event,), name="manager", daemon=True
        )
        self._manager_thread.start()
        specs = [
            python_service(settings, self.paths, "collector", "collector", "/healthz"),
            prometheus.service(settings, self.paths),
            python_service(settings, self.paths, "ui", "ui", "/healthz"),
        ]
        if settings.workload:
            specs.append(workload_service(settings, self.paths))
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
        cluster = {"dBClusterIdentifier": self.settings.cluster_id}
        return {
            "status": lambda request: self.status(),
            "failover": self._audited(
                "FailoverDBCluster",
                RDS_SOURCE,
                params=lambda r: {**cluster, "targetDBInstanceIdentifier": r.get("target")},
                act=lambda r: self._require_manager().request_failover(r.get("target")),
                response=lambda result: self._cluster_elements(),
            ),
            "reboot": self._audited(
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
            "fault": self._audited(
                "InjectFault",
                FIS_SOURCE,
                params=lambda r: {"action": r.get("fault"), "parameters": r.get("args", [])},
                act=self._inject,
                response=dict,
            ),
            "stop": self._audited(
                "StopDBCluster",
                RDS_SOURCE,
                params=lambda r: cluster,
                act=lambda r: self._request_stop(),
                response=lambda result: cluster,
            ),
        }

    def _audited(
        self,
        name: str,
        source: str,
        *,
        params: control.Handler,
        act: control.Handler,
        response: control.Handler,
    ) -> control.Handler:
        """A control handler whose every call, answered or refused, lands in the trail."""

        def handle(request: dict[str, Any]) -> Any:
            peer = request.get("_peer") or {}
            caller = Caller.from_uid(int(peer.get("uid", os.getuid())), peer.get("pid"))
            agent = str(request.get("user_agent") or "unknown")
            parameters = params(request)
            try:
                result = act(request)
            except Exception as exc:
                self._record(name, caller, parameters, error=exc, source=source, agent=agent)
                raise
            self._record(
                name, caller, parameters, response=response(result), source=source, agent=agent
            )
            return result

        return handle

    def _record(
        self,
        name: str,
        caller: Caller,
        parameters: dict[str, Any],
        *,
        response: dict[str, Any] | None = None,
        error: BaseException | None = None,
        source: str = RDS_SOURCE,
        agent: str = "borealis-supervisor",
    ) -> None:
        if self.trail is None:
            return
        code = None
        if error is not None:
            code = getattr(error, "error_code", None) or (
                "InvalidDBClusterStateFault"
                if isinstance(error, BorealisError)
                else "InternalFailure"
            )
        self.trail.add(
            TrailRecord(
                event_name=name,
                caller=caller,
                request_parameters=parameters,
                response_elements=response,
                error_code=code,
                error_message=str(error) if error is not None else None,
                event_source=source,
                user_agent=agent,
                region=self.settings.region,
            )
        )

    def _inject(self, request: dict[str, Any]) -> dict[str, Any]:
        self._require_manager()
        if self.faults is None:
            raise BorealisError("the cluster is still starting; try again in a moment")
        args = [str(a) for a in request.get("args") or []]
        return self.faults.inject(str(request.get("fault")), args)

    def _cluster_elements(self) -> dict[str, Any]:
        """The DBCluster shape CloudTrail shows in responseElements (members, writer)."""
        manager = self.manager
        if manager is None or manager.topology is None:
            return {"dBClusterIdentifier": self.settings.cluster_id}
        topology = manager.topology
        return {
            "dBClusterIdentifier": topology.cluster_id,
            "dbClusterResourceId": topology.cluster_resource_id,
            "engine": "aurora-postgresql",
            "dBClusterMembers": [
                {
                    "dBInstanceIdentifier": spec.id,
                    "isClusterWriter": spec.id == topology.writer_id,
                    "promotionTier": spec.tier,
                }
                for spec in topology.instances
            ],
        }

    def _require_manager(self) -> ClusterManager:
        if self.manager is None or self.manager.topology is None:
            raise BorealisError("the cluster is still starting; try again in a moment")
        return self.manager

    def _request_stop(self) -> dict[str, Any]:
        self._stop_recorded = True
        self.stop_event.set()
        return {"stopping": True}

    def urls(self) -> dict[str, str]:
        urls = {
            name: service.spec.url for name, service in self.services.items() if service.spec.url
        }
        if "collector" in urls:
            # The Performance Insights API lives in the collector process, on its own port.
            urls["pi"] = f"http://{self.settings.listen_host}:{self.settings.ports.port('pi')}"
        return urls

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
        status["supervisor_pid"] = os.getpid()
        return status

    # --- stop -----------------------------------------------------------------------

    def _stop(self) -> None:
        log.info("stopping Borealis")
        self.stop_event.set()
        if not self._stop_recorded and self.manager is not None:
            # Ctrl-C or SIGTERM rather than `borealis down`: the trail still gets it.
            self._record(
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
