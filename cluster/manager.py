"""The cluster manager: observe, decide, act, in one loop on one thread.

Each cycle builds a `ClusterView` from the probers, lets `cluster.decide` choose what to do
(with a reason), and acts: restarts, rejoins, segment restarts here; failover in
`cluster.failover`, reboots in `cluster.reboot`; what it remembers between cycles is in
`cluster.runtime`, what it reports in `cluster.status` and `cluster.storage_events`.

Control requests (failover, reboot, faults) are queued to the loop thread, so no two actions
ever race. Slow healing (rewinding or recloning a reader) runs in background jobs so that the
loop keeps watching the writer meanwhile.
"""

from __future__ import annotations

import logging
import queue
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from cluster import pgconf, recovery
from cluster.controller import ClusterController, ClusterError
from cluster.decide import Action, ClusterView, Decision, InstanceView, decide
from cluster.endpoints import Routes, routes_from_view
from cluster.failover import Failover, FailoverFailed
from cluster.observe import Prober
from cluster.pgctl import PgCommandError
from cluster.reachability import reachability_events
from cluster.reboot import Reboot
from cluster.runtime import (
    STORAGE_SETTLE_S,
    InstanceRuntime,
    ManagerState,
    SegmentRuntime,
)
from cluster.sqlconn import InstanceUnreachable
from cluster.status import instance_state, is_healthy, status_report
from cluster.storage_events import storage_events
from cluster.view import build_view
from core.errors import BorealisError
from core.events import EventStore, make_event
from core.paths import StatePaths
from core.settings import Settings
from core.topology import InstanceSpec, InstanceState, Topology, plan_topology

log = logging.getLogger(__name__)
T = TypeVar("T")


class UnknownMember(BorealisError):
    error_code = "DBInstanceNotFound"


class ClusterManager:
    def __init__(self, settings: Settings, paths: StatePaths, events: EventStore) -> None:
        self.settings = settings
        self.paths = paths
        self.events = events
        self.controller = ClusterController(settings, paths)
        self.topology: Topology | None = None
        self.state = ManagerState()
        self.probers: dict[str, Prober] = {}
        self._requests: queue.Queue[tuple[Callable[[], Any], Future[Any]]] = queue.Queue()
        self._jobs = ThreadPoolExecutor(max_workers=4, thread_name_prefix="heal")
        self.job_futures: dict[str, Future[None]] = {}
        self._lock = threading.RLock()
        self.last_decisions: list[Decision] = []
        self.failovers = 0
        self.routes = Routes()
        self.route_listeners: list[Callable[[Routes], None]] = []
        self.failover = Failover(self)
        self.reboot = Reboot(self)
        self.start_report: list[str] = []  # what `open` found (left by an earlier run) and did

    # --- lifecycle -----------------------------------------------------------------------

    def open(self) -> None:
        """Create the cluster on first use, else start whatever is not running."""
        settings = self.settings
        if self.paths.topology.exists():
            self.topology = Topology.load(self.paths.topology)
            self._init_runtime()
            self.controller.layout.prepare(self.topology)
            self.controller.write_pgpass()
            self._start_existing()
            self.events.add(make_event("RDS-EVENT-0151", self.topology.cluster_id))
        else:
            topology = plan_topology(
                settings.cluster_id,
                settings.region,
                settings.readers,
                settings.ports.port("first_instance"),
            )
            self.topology = topology
            self._init_runtime()
            if self.controller.layout.discard_incomplete_cluster():
                log.warning("an earlier `up` stopped before the cluster was created; starting over")
            log.info("creating cluster %s with %d readers", topology.cluster_id, settings.readers)
            self.controller.create(topology)
            topology.save(self.paths.topology)
            self.events.add(make_event("RDS-EVENT-0170", topology.cluster_id))
            for spec in topology.instances:
                self.events.add(make_event("RDS-EVENT-0005", spec.id))
        now = time.monotonic()
        for runtime in self.state.instances.values():
            runtime.started_at = now
        for seg in self.state.segments.values():
            seg.started_at = now
        self._start_probers()

    def _init_runtime(self) -> None:
        topology = self.require_topology()
        self.state.instances = {i.id: InstanceRuntime() for i in topology.instances}
        self.state.segments = {s.id: SegmentRuntime() for s in topology.segments}

    def _start_existing(self) -> None:
        topology = self.require_topology()
        ctl = self.controller
        self.start_report = ctl.ensure_tls(topology)
        leftovers = recovery.inspect(ctl, topology)
        for spec in topology.instances:
            ctl.write_shared_conf(ctl.paths.data_dir(spec.id), topology)
        ctl.start_instance(topology.writer, topology)
        for seg in topology.segments:
            ctl.start_segment(seg, topology)
        for reader in topology.readers:
            try:
                ctl.start_instance(reader, topology)
            except (ClusterError, PgCommandError) as exc:
                log.warning("reader %s did not start (%s); it will be rejoined", reader.id, exc)
                self.state.instances[reader.id].needs_rewind = True
                ctl.kill_instance(reader.id)
        rejoining = {i for i, runtime in self.state.instances.items() if runtime.needs_rewind}
        self.start_report += recovery.after_start(ctl, leftovers, rejoining)
        for line in self.start_report:
            log.warning("up: %s", line)

    def _start_probers(self) -> None:
        topology = self.require_topology()
        for spec in topology.instances:
            self._start_prober(spec)

    def _start_prober(self, spec: InstanceSpec) -> None:
        prober = Prober(
            spec.id,
            spec.port,
            self.controller.credentials,
            interval=min(0.5, self.settings.manager.health_interval_s * 2),
            timeout=self.settings.manager.probe_timeout_s,
            reader_interval=self.settings.manager.reader_probe_interval_s,
            tls=self.controller.paths.tls_client_options(),
        )
        self.probers[spec.id] = prober
        prober.start()

    def member(self, instance_id: str) -> InstanceSpec:
        try:
            return self.require_topology().instance(instance_id)
        except KeyError as exc:
            raise UnknownMember(str(exc.args[0])) from None

    def require_topology(self) -> Topology:
        if self.topology is None:
            raise BorealisError("the cluster is not open")
        return self.topology

    def shutdown(self) -> None:
        """Stop readers, then the writer (its WAL reaches the segments), then the segments."""
        topology = self.require_topology()
        for prober in self.probers.values():
            prober.stop()
        self._jobs.shutdown(wait=True, cancel_futures=True)
        for reader in topology.readers:
            self.controller.stop_instance(reader.id)
            self.events.add(make_event("RDS-EVENT-0004", reader.id))
        self.controller.stop_instance(topology.writer_id)
        self.events.add(make_event("RDS-EVENT-0004", topology.writer_id))
        for seg in topology.segments:
            self.controller.stop_segment(seg.id)
        self.events.add(make_event("RDS-EVENT-0150", topology.cluster_id))

    # --- the loop ------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        interval = self.settings.manager.health_interval_s
        while not stop.wait(interval):
            self._drain_requests()
            try:
                self.tick()
            except Exception:
                log.exception("cluster manager tick failed; continuing")

    def call(self, fn: Callable[[], T], timeout: float = 120.0) -> T:
        """Run `fn` on the manager thread and return its result (or raise its error)."""
        future: Future[T] = Future()
        self._requests.put((fn, future))
        return future.result(timeout=timeout)

    def _drain_requests(self) -> None:
        while True:
            try:
                fn, future = self._requests.get_nowait()
            except queue.Empty:
                return
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn())
            except BaseException as exc:
                future.set_exception(exc)

    def tick(self) -> None:
        view = self.view()
        self._report_storage(view)
        for event in reachability_events(view, self.state, time.monotonic()):
            self.events.add(event)
        decisions = decide(view)
        self.last_decisions = decisions
        for decision in decisions:
            log.info("decision: %s %s: %s", decision.action.value, decision.target, decision.reason)
            self.act(decision)
        self.publish_routes(self.view() if decisions else view)

    def publish_routes(self, view: ClusterView | None = None) -> None:
        """Tell the endpoints where to send connections, when that changed."""
        topology = self.require_topology()
        view = view or self.view()
        ports = {spec.id: spec.port for spec in topology.instances}
        routes = routes_from_view(view, ports, writer_ok=not self.state.failing_over)
        if routes != self.routes:
            self.routes = routes
            for listener in self.route_listeners:
                listener(routes)

    def view(self) -> ClusterView:
        """This cycle's picture of the cluster, for `decide`, the routes and the status."""
        return build_view(
            self.require_topology(),
            self.state,
            self.probers,
            instance_alive=self.controller.instance_alive,
            segment_alive=self.controller.segment_alive,
            unresponsive_after=self.settings.manager.writer_unresponsive_s,
        )

    # --- acting --------------------------------------------------------------------------

    def act(self, decision: Decision) -> None:
        topology = self.require_topology()
        if decision.action is Action.FAILOVER:
            if time.monotonic() < self.state.failover_retry_at:
                return
            try:
                self.failover.run(decision.candidates, decision.reason, planned=False)
            except FailoverFailed as exc:
                log.error("failover failed: %s", exc)
                self.state.failover_retry_at = (
                    time.monotonic() + 5 * self.settings.manager.restart_backoff_s
                )
        elif decision.action is Action.RESTART_WRITER:
            self.restart_in_place(topology.instance(decision.target))
        elif decision.action is Action.RESTART_READER:
            self.start_job(decision.target, "starting", self.restart_reader)
        elif decision.action is Action.REJOIN_READER:
            self.start_job(decision.target, "rejoining", self.rejoin_reader)
        elif decision.action is Action.RESYNC_READER:
            self.state.instances[decision.target].needs_rewind = True
            self.controller.stop_instance(decision.target)
        elif decision.action is Action.RESTART_SEGMENT:
            self.restart_segment(decision.target)

    def start_job(self, instance_id: str, label: str, fn: Callable[[str], None]) -> None:
        runtime = self.state.instances[instance_id]
        if runtime.job is not None:
            return
        runtime.job = label

        def job() -> None:
            try:
                fn(instance_id)
            except Exception as exc:
                runtime.restart_failures += 1
                log.error("%s %s failed: %s", label, instance_id, exc)
                if runtime.restart_failures >= 2:
                    runtime.needs_rewind = True
                time.sleep(self.settings.manager.restart_backoff_s)
            finally:
                runtime.job = None

        self.job_futures[instance_id] = self._jobs.submit(job)

    def restart_reader(self, instance_id: str) -> None:
        topology = self.require_topology()
        spec = topology.instance(instance_id)
        self.controller.ensure_slots(topology.writer, [pgconf.slot_name(spec.id)])
        self.controller.start_instance(spec, topology)
        self.after_start(spec)

    def rejoin_reader(self, instance_id: str) -> None:
        topology = self.require_topology()
        spec = topology.instance(instance_id)
        runtime = self.state.instances[instance_id]
        try:
            self.controller.rewind(spec, topology)
        except (PgCommandError, InstanceUnreachable) as exc:
            if self.require_topology().writer_id != topology.writer_id:
                raise
            log.warning("pg_rewind of %s failed (%s); cloning it from the writer", spec.id, exc)
            self.events.add(make_event("RDS-EVENT-0020", spec.id))
            self.controller.clone_reader(spec, topology)
            self.events.add(make_event("RDS-EVENT-0021", spec.id))
        if self.require_topology().writer_id != topology.writer_id:
            raise ClusterError("the writer changed while rejoining; will rejoin again")
        self.controller.start_instance(spec, topology)
        runtime.needs_rewind = False
        self.after_start(spec)

    def after_start(self, spec: InstanceSpec, event: str = "RDS-EVENT-0006") -> None:
        runtime = self.state.instances[spec.id]
        runtime.started_at = time.monotonic()
        runtime.restart_failures = 0
        runtime.delay_ms = 0  # a (re)start rewrites postgresql.auto.conf
        self.probers[spec.id].forget()
        self.events.add(make_event(event, spec.id))

    def restart_in_place(self, spec: InstanceSpec, event: str = "RDS-EVENT-0006") -> bool:
        topology = self.require_topology()
        try:
            self.controller.start_instance(spec, topology)
        except (ClusterError, PgCommandError) as exc:
            log.error("restarting writer %s failed: %s", spec.id, exc)
            return False
        self.state.storage_settle_until = time.monotonic() + STORAGE_SETTLE_S
        self.start_segments(topology)
        self.after_start(spec, event)
        return True

    def start_segments(self, topology: Topology) -> None:
        """Start every segment not held by a fault (they exit when their writer goes away)."""
        for seg in topology.segments:
            runtime = self.state.segments[seg.id]
            if runtime.held is None and not self.controller.segment_alive(seg.id):
                self.controller.start_segment(seg, topology)
                runtime.started_at = time.monotonic()

    def restart_segment(self, segment_id: str) -> None:
        topology = self.require_topology()
        runtime = self.state.segments[segment_id]
        now = time.monotonic()
        if runtime.started_at is not None and now - runtime.started_at < 3.0:
            runtime.quick_exits += 1
        else:
            runtime.quick_exits = 0
        if runtime.quick_exits >= 2:
            # Its WAL went past the writer's timeline (it outlived the old writer by a few
            # bytes): keep the files aside and let it start again from its slot.
            log.warning("segment %s keeps failing; restarting it from its slot", segment_id)
            self.controller.quarantine_segment_files(segment_id)
            runtime.quick_exits = 0
        self.controller.ensure_slots(topology.writer, [topology.segment(segment_id).slot])
        self.controller.start_segment(topology.segment(segment_id), topology)
        runtime.started_at = now

    def _report_storage(self, view: ClusterView) -> None:
        settling = time.monotonic() < self.state.storage_settle_until
        cluster_id = self.require_topology().cluster_id
        for event in storage_events(view, self.state, cluster_id, settling=settling):
            self.events.add(event)

    # --- requests and reports (the control socket, the supervisor) -----------------------

    def request_failover(self, target: str | None = None) -> dict[str, Any]:
        """A planned failover (FailoverDBCluster), to `target` or the best reader."""
        return self.failover.request(target)

    def request_reboot(self, instance_id: str) -> dict[str, Any]:
        """RebootDBInstance: restart one instance without failing over."""
        return self.reboot.request(instance_id)

    def instance_state(self, view: InstanceView) -> InstanceState:
        return instance_state(self.state.instances[view.id], view)

    def status(self) -> dict[str, Any]:
        return status_report(
            self.require_topology(),
            self.view(),
            self.state,
            instance_pid=self.controller.instance_pid,
            segment_pid=self.controller.segment_pid,
            failovers=self.failovers,
        ) | {"start_report": list(self.start_report)}

    def healthy(self) -> bool:
        return is_healthy(self.view(), self.state)

    def signal_instance(self, instance_id: str, sig: signal.Signals) -> None:
        self.controller.signal_instance(instance_id, sig)
