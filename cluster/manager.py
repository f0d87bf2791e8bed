"""The cluster manager: observe, decide, act, in one loop on one thread.

Control requests (failover, reboot, faults) are queued to the loop thread, so no two actions
ever race. Slow healing (rewinding or recloning a reader) runs in background jobs so that the
loop keeps watching the writer meanwhile.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import logging
import queue
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from cluster import pgconf
from cluster.controller import ClusterController, ClusterError
from cluster.decide import (
    Action,
    ClusterView,
    Decision,
    InstanceView,
    SegmentView,
    decide,
    failover_candidates,
    readable_segments,
)
from cluster.endpoints import Routes, routes_from_view
from cluster.observe import Prober
from cluster.pgctl import PgCommandError, parse_lsn
from cluster.sqlconn import InstanceUnreachable
from core.errors import BorealisError
from core.events import EventStore, make_event
from core.paths import StatePaths
from core.settings import Settings
from core.topology import (
    READ_QUORUM,
    WRITE_QUORUM,
    InstanceSpec,
    InstanceState,
    Role,
    SegmentState,
    Topology,
    plan_topology,
)
from core.waiting import WaitTimeout, wait_until

log = logging.getLogger(__name__)
T = TypeVar("T")
STORAGE_SETTLE_S = 5.0  # how long segments may take to re-attach after a failover


class Hold(enum.StrEnum):
    """Why a fault holds an instance or segment (it is not healed while held)."""

    STOPPED = "stopped"  # stop-instance / stop-segment
    HUNG = "hung"  # hang-instance (SIGSTOP)
    AZ_LOST = "az-lost"  # lose-az


@dataclass
class InstanceRuntime:
    state: InstanceState = InstanceState.STARTING
    started_at: float | None = None
    needs_rewind: bool = False
    held: Hold | None = None
    job: str | None = None  # a background job in progress ("rejoining", "rebooting", ...)
    restart_failures: int = 0
    delay_ms: int = 0  # delay-replica
    receiver_down_since: float | None = None


@dataclass
class SegmentRuntime:
    held: Hold | None = None
    started_at: float | None = None
    quick_exits: int = 0
    was_streaming: bool = False
    lost_reported: bool = False


@dataclass
class ManagerState:
    instances: dict[str, InstanceRuntime] = field(default_factory=dict)
    segments: dict[str, SegmentRuntime] = field(default_factory=dict)
    quorum_lost: bool = False
    failing_over: bool = False
    failover_retry_at: float = 0.0  # after a failed failover, wait before trying again
    storage_settle_until: float = 0.0  # the volume is being re-attached to a new writer


class PhaseClock:
    """How long each step of a failover took, for the log and the benchmark."""

    def __init__(self, started: float) -> None:
        self.started = started
        self._last = started
        self.phases: list[tuple[str, float]] = []

    def mark(self, phase: str) -> None:
        now = time.monotonic()
        self.phases.append((phase, now - self._last))
        self._last = now

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def __str__(self) -> str:
        return ", ".join(f"{phase} {seconds:.3f} s" for phase, seconds in self.phases)


class FailoverFailed(BorealisError):
    error_code = "InvalidDBClusterStateFault"


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
        self._job_futures: dict[str, Future[None]] = {}
        self._lock = threading.RLock()
        self.last_decisions: list[Decision] = []
        self.failovers = 0
        self.routes = Routes()
        self.route_listeners: list[Callable[[Routes], None]] = []

    # --- lifecycle -----------------------------------------------------------------------

    def open(self) -> None:
        """Create the cluster on first use, else start whatever is not running."""
        settings = self.settings
        if self.paths.topology.exists():
            self.topology = Topology.load(self.paths.topology)
            self._init_runtime()
            self.controller.prepare_layout(self.topology)
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
            if self.controller.discard_incomplete_cluster():
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
        self._track_storage(view)
        decisions = decide(view)
        self.last_decisions = decisions
        for decision in decisions:
            log.info("decision: %s %s: %s", decision.action.value, decision.target, decision.reason)
            self.act(decision)
        self.publish_routes(self.view() if decisions else view)

    @staticmethod
    def _waiting_age(runtime: InstanceRuntime, prober: Prober | None, now: float) -> float | None:
        """Seconds since we (re)started it or last dropped its observation: how long it has
        had to answer a probe."""
        since = max(runtime.started_at or 0.0, (prober.waiting_since if prober else None) or 0.0)
        return now - since if since else None

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
        topology = self.require_topology()
        now = time.monotonic()
        instances = []
        for spec in topology.instances:
            runtime = self.state.instances[spec.id]
            prober = self.probers.get(spec.id)
            observation = prober.latest if prober else None
            busy = runtime.job is not None
            if observation is None or observation.receiver_status == "streaming":
                runtime.receiver_down_since = None
            elif runtime.receiver_down_since is None:
                runtime.receiver_down_since = now
            instances.append(
                InstanceView(
                    id=spec.id,
                    az=spec.az,
                    tier=spec.tier,
                    role=topology.role_of(spec.id),
                    process_alive=self.controller.instance_alive(spec.id) or busy,
                    observation=observation,
                    observation_age=(now - observation.at) if observation else None,
                    held=runtime.held is not None or busy,
                    needs_rewind=runtime.needs_rewind,
                    started_age=self._waiting_age(runtime, prober, now),
                    stopped=runtime.held is Hold.STOPPED,
                    busy=busy,
                    receiver_down_s=(now - runtime.receiver_down_since)
                    if runtime.receiver_down_since is not None
                    else 0.0,
                )
            )
        writer_obs = (
            self.probers[topology.writer_id].latest if topology.writer_id in self.probers else None
        )
        streaming = {
            d.name for d in (writer_obs.downstream if writer_obs else ()) if d.state == "streaming"
        }
        segments = tuple(
            SegmentView(
                id=seg.id,
                az=seg.az,
                process_alive=self.controller.segment_alive(seg.id),
                held=self.state.segments[seg.id].held is not None,
                streaming=seg.id in streaming,
            )
            for seg in topology.segments
        )
        return ClusterView(
            writer_id=topology.writer_id,
            instances=tuple(instances),
            segments=segments,
            unresponsive_after=self.settings.manager.writer_unresponsive_s,
            start_grace=10.0,
        )

    # --- acting --------------------------------------------------------------------------

    def act(self, decision: Decision) -> None:
        topology = self.require_topology()
        if decision.action is Action.FAILOVER:
            if time.monotonic() < self.state.failover_retry_at:
                return
            try:
                self._failover(decision.candidates, decision.reason, planned=False)
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

        self._job_futures[instance_id] = self._jobs.submit(job)

    def restart_reader(self, instance_id: str) -> None:
        topology = self.require_topology()
        spec = topology.instance(instance_id)
        self.controller.ensure_slots(topology.writer, [pgconf.slot_name(spec.id)])
        self.controller.start_instance(spec, topology)
        self._after_start(spec)

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
        self._after_start(spec)

    def _after_start(self, spec: InstanceSpec, event: str = "RDS-EVENT-0006") -> None:
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
        self._start_segments(topology)
        self._after_start(spec, event)
        return True

    def _start_segments(self, topology: Topology) -> None:
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

    def _track_storage(self, view: ClusterView) -> None:
        """Storage events: a segment lost (0001) or repaired (0002), the write quorum lost
        (0003) or restored (0004). Right after a failover the volume is being re-attached to
        the new writer: only segments held by a fault count as lost until it settles."""
        topology = self.require_topology()
        writer_view = view.writer
        if not writer_view.process_alive or writer_view.observation is None:
            return
        settling = time.monotonic() < self.state.storage_settle_until
        available = sum(1 for s in view.segments if s.streaming)
        remaining = sum(1 for s in view.segments if s.streaming or (settling and not s.held))
        for seg in view.segments:
            runtime = self.state.segments[seg.id]
            if seg.streaming:
                if runtime.lost_reported:
                    self.events.add(
                        make_event(
                            "BOREALIS-EVENT-0002", topology.cluster_id, segment=seg.id, az=seg.az
                        )
                    )
                    runtime.lost_reported = False
                runtime.was_streaming = True
                continue
            gone = seg.held or (runtime.was_streaming and not settling)
            if gone and not runtime.lost_reported:
                self.events.add(
                    make_event(
                        "BOREALIS-EVENT-0001",
                        topology.cluster_id,
                        segment=seg.id,
                        az=seg.az,
                        available=str(remaining),
                    )
                )
                runtime.lost_reported = True
            if not settling:
                runtime.was_streaming = False
        if settling:
            return
        lost = available < WRITE_QUORUM
        if lost and not self.state.quorum_lost:
            self.state.quorum_lost = True
            self.events.add(
                make_event("BOREALIS-EVENT-0003", topology.cluster_id, available=str(available))
            )
        elif not lost and self.state.quorum_lost:
            self.state.quorum_lost = False
            self.events.add(
                make_event("BOREALIS-EVENT-0004", topology.cluster_id, available=str(available))
            )

    # --- failover ------------------------------------------------------------------------

    def request_failover(self, target: str | None = None) -> dict[str, Any]:
        """A planned failover (FailoverDBCluster): runs on the manager thread."""

        def run() -> dict[str, Any]:
            topology = self.require_topology()
            if target is not None:
                spec = self.member(target)
                if spec.id == topology.writer_id:
                    raise BorealisError(f"{target} is already the writer")
            view = self.view()
            candidates = failover_candidates(view, target)
            if target is not None and (not candidates or candidates[0] != target):
                raise BorealisError(f"{target} is not a healthy reader; it cannot be promoted")
            if not candidates:
                self.events.add(make_event("RDS-EVENT-0069", topology.cluster_id))
                raise BorealisError("no healthy reader can be promoted")
            old = topology.writer_id
            if target is not None:
                candidates = (target,)  # a named target is promoted, or nothing is
            reason = f"failover requested; promoting {candidates[0]}"
            new = self._failover(candidates, reason, planned=True)
            return {"previous_writer": old, "writer": new, "reason": reason}

        return self.call(run)

    def _failover(self, candidates: tuple[str, ...], reason: str, *, planned: bool) -> str:
        topology = self.require_topology()
        old = topology.writer
        started = time.monotonic()
        if planned:
            # Asked for: check the storage volume before touching a healthy writer.
            try:
                self._readable_segments()
            except FailoverFailed:
                self.events.add(make_event("RDS-EVENT-0069", topology.cluster_id))
                raise
        first = topology.instance(candidates[0])
        log.warning("failover: %s", reason)
        clock = PhaseClock(started)
        mark = clock.mark

        self.state.instances[old.id].state = InstanceState.FAILING_OVER
        event = "RDS-EVENT-0072" if first.az == old.az else "RDS-EVENT-0073"
        self.events.add(make_event(event, topology.cluster_id, name=first.id))

        # Fence the old writer: a clean stop ships its last WAL; a hung one is killed.
        self.state.failing_over = True
        self.publish_routes()
        try:
            if planned and self.controller.instance_alive(old.id):
                self.controller.stop_instance(old.id, timeout=10)
            else:
                self.controller.kill_instance(old.id)
            mark("fence")
            old_runtime = self.state.instances[old.id]
            if old_runtime.held is Hold.HUNG:
                old_runtime.held = None  # fenced: it is down now, and rejoins as a reader
            self.probers[old.id].forget()
            try:
                promoted = self._promote_one(topology, candidates, mark)
            except FailoverFailed:
                self.events.add(make_event("RDS-EVENT-0069", topology.cluster_id))
                self._fall_back(topology, candidates)
                raise
        finally:
            self.state.failing_over = False

        self._complete_failover(topology, promoted, clock)
        return promoted.id

    def _complete_failover(
        self, topology: Topology, promoted: InstanceSpec, clock: PhaseClock
    ) -> None:
        """The new writer is up: record it, give it the storage volume and the readers."""
        old = topology.writer
        mark = clock.mark
        new_topology = topology.with_writer(promoted.id)
        new_topology.save(self.paths.topology)
        self.topology = new_topology
        self.state.instances[old.id].needs_rewind = True
        self.state.instances[old.id].state = InstanceState.REJOINING
        self.state.instances[promoted.id].delay_ms = 0
        self.probers[promoted.id].forget()
        self.publish_routes()
        switch_lsn = self._switch_point(promoted)
        self.state.storage_settle_until = time.monotonic() + STORAGE_SETTLE_S
        self._attach_storage(new_topology, mark)
        self._repoint_readers(new_topology, switch_lsn, exclude={old.id})
        mark("repoint readers")
        self.failovers += 1
        self.events.add(make_event("RDS-EVENT-0071", topology.cluster_id, name=promoted.id))
        log.warning("failover to %s completed in %.2f s (%s)", promoted.id, clock.elapsed, clock)

    def _readable_segments(self) -> list[str]:
        readable = readable_segments(self.view())
        if len(readable) < READ_QUORUM:
            raise FailoverFailed(
                f"only {len(readable)} storage segments are readable ({READ_QUORUM} needed to "
                "be sure no acknowledged commit is lost); waiting for segments to return"
            )
        return readable

    def _promote_one(
        self, topology: Topology, candidates: tuple[str, ...], mark: Callable[[str], None]
    ) -> InstanceSpec:
        """Catch the first candidate that can up with the storage volume, and promote it."""
        newest = self._most_advanced_segment(self._readable_segments())
        mark("read segments")
        for candidate_id in candidates:
            candidate = topology.instance(candidate_id)
            try:
                if newest is not None:
                    self._catch_up(candidate, *newest)
                mark(f"catch up {candidate_id}")
                self.controller.promote(candidate, self.settings.manager.promote_timeout_s)
                mark("promote")
                return candidate
            except (BorealisError, OSError) as exc:
                log.error("promoting %s failed: %s", candidate_id, exc)
        raise FailoverFailed("no candidate could be promoted")

    def _fall_back(self, topology: Topology, candidates: tuple[str, ...]) -> None:
        """After a failed failover, bring the previous writer back (RDS-EVENT-0070)."""
        old = topology.writer
        for candidate_id in candidates:  # stop replaying from the storage segments
            with contextlib.suppress(BorealisError):
                self.controller.repoint_reader(topology.instance(candidate_id), topology)
        if self.state.instances[old.id].held is not None:
            log.error("the previous writer %s is held by a fault; the cluster waits", old.id)
            return
        self.events.add(make_event("RDS-EVENT-0070", topology.cluster_id, name=old.id))
        if self.restart_in_place(old):
            self.state.instances[old.id].state = InstanceState.AVAILABLE

    def _most_advanced_segment(self, readable: list[str]) -> tuple[str, int] | None:
        """The segment holding the newest complete WAL record, read in parallel."""

        def last_record(segment_id: str) -> tuple[str, int] | None:
            try:
                found = self.controller.last_valid_record(segment_id)
            except (PgCommandError, OSError) as exc:
                log.warning("cannot read segment %s: %s", segment_id, exc)
                return None
            return (segment_id, found[0]) if found is not None else None

        with ThreadPoolExecutor(max_workers=len(readable) or 1) as pool:
            found = [f for f in pool.map(last_record, readable) if f is not None]
        return max(found, key=lambda f: f[1], default=None)

    def _catch_up(self, candidate: InstanceSpec, segment_id: str, last_record: int) -> None:
        """Replay, on the candidate, every record the storage volume holds."""
        replayed = self.controller.replay_lsn(candidate) or 0
        if replayed > last_record:
            return
        self.controller.feed_from_segment(candidate, segment_id)

        def replayed_past_last_record() -> bool:
            nonlocal replayed
            replayed = self.controller.replay_lsn(candidate) or 0
            return replayed > last_record

        try:
            wait_until(
                replayed_past_last_record,
                timeout=self.settings.manager.promote_timeout_s,
                interval=0.01,
                what=f"{candidate.id} to replay the storage volume's WAL",
            )
        except WaitTimeout as exc:
            raise FailoverFailed(
                f"{candidate.id} did not replay the storage volume's WAL in time "
                f"(at {replayed:X}, needs past {last_record:X})"
            ) from exc

    def _switch_point(self, promoted: InstanceSpec) -> int | None:
        """Where the new timeline forked, from the new writer's newest history file."""
        wal = self.paths.data_dir(promoted.id) / "pg_wal"
        histories = sorted(wal.glob("*.history"))
        if not histories:
            return None
        lines = [line for line in histories[-1].read_text().splitlines() if line.strip()]
        return parse_lsn(lines[-1].split()[1]) if lines else None

    def _attach_storage(self, topology: Topology, mark: Callable[[str], None]) -> None:
        writer = topology.writer
        names = [s.slot for s in topology.segments] + [
            pgconf.slot_name(r.id) for r in topology.readers
        ]
        self.controller.ensure_slots(writer, names)
        mark("slots")
        for seg in topology.segments:
            self.controller.stop_segment(seg.id)
        mark("stop segments")
        self._start_segments(topology)
        mark("start segments")

    def _repoint_readers(
        self, topology: Topology, switch_lsn: int | None, exclude: set[str]
    ) -> None:
        """Point every running reader at the new writer, in parallel background jobs."""
        for reader in topology.readers:
            if reader.id in exclude:
                continue
            runtime = self.state.instances[reader.id]
            if not self.controller.instance_alive(reader.id) or runtime.held is not None:
                # Down, stopped or hung: it may hold WAL past the new timeline's fork, so it
                # rejoins through pg_rewind (a no-op when it did not diverge).
                runtime.needs_rewind = True
                continue
            self.start_job(
                reader.id,
                "repointing",
                functools.partial(
                    self._repoint_reader, writer_id=topology.writer_id, switch_lsn=switch_lsn
                ),
            )

    def _repoint_reader(self, instance_id: str, writer_id: str, switch_lsn: int | None) -> None:
        topology = self.require_topology()
        reader = topology.instance(instance_id)
        runtime = self.state.instances[instance_id]
        try:
            if topology.writer_id != writer_id:
                raise ClusterError("the writer changed again")
            replayed = self.controller.replay_lsn(reader) or 0
            if switch_lsn is not None and replayed > switch_lsn:
                log.warning("%s replayed past the new timeline; rejoining it", reader.id)
                runtime.needs_rewind = True
                self.controller.stop_instance(reader.id)
                return
            self.controller.repoint_reader(reader, topology)
        except BorealisError as exc:
            log.warning("repointing %s failed (%s); rejoining it", reader.id, exc)
            runtime.needs_rewind = True
            self.controller.kill_instance(reader.id)

    # --- reboot (RebootDBInstance) ------------------------------------------------------

    def request_reboot(self, instance_id: str) -> dict[str, Any]:
        """Restart one instance without failing over (Aurora does not fail over on a reboot)."""

        def run() -> Future[None] | None:
            topology = self.require_topology()
            spec = self.member(instance_id)
            runtime = self.state.instances[spec.id]
            if runtime.held is not None:
                raise BorealisError(
                    f"{spec.id} is held by a fault ({runtime.held.value}); undo that first"
                )
            if runtime.job is not None:
                raise BorealisError(f"{spec.id} is busy ({runtime.job}); try again shortly")
            if not self.controller.instance_alive(spec.id):
                raise BorealisError(f"{spec.id} is not running; the cluster is healing it")
            if spec.id != topology.writer_id:
                self.start_job(spec.id, "rebooting", self._reboot_reader)
                return self._job_futures[spec.id]
            self._reboot_writer(spec)
            return None

        job = self.call(run)
        if job is not None:
            job.result(timeout=120)
        topology = self.require_topology()
        runtime = self.state.instances[instance_id]
        if runtime.needs_rewind or not self.controller.instance_alive(instance_id):
            raise BorealisError(f"{instance_id} did not come back after the reboot; it is healing")
        return {
            "instance": instance_id,
            "role": topology.role_of(instance_id).value,
            "writer": topology.writer_id,
        }

    def _reboot_reader(self, instance_id: str) -> None:
        topology = self.require_topology()
        spec = topology.instance(instance_id)
        self.controller.stop_instance(spec.id)
        self.controller.start_instance(spec, topology)
        self._after_start(spec)

    def _reboot_writer(self, spec: InstanceSpec) -> None:
        """On the manager thread, so nothing decides a failover meanwhile."""
        runtime = self.state.instances[spec.id]
        runtime.job = "rebooting"
        self.publish_routes()
        try:
            self.controller.stop_instance(spec.id)  # fast: WAL reaches the segments first
            if not self.restart_in_place(spec):
                raise BorealisError(f"{spec.id} did not restart; the cluster is healing it")
        finally:
            runtime.job = None
            self.publish_routes()

    # --- reporting -----------------------------------------------------------------------

    def instance_state(self, view: InstanceView) -> InstanceState:
        runtime = self.state.instances[view.id]
        if runtime.job == "rejoining":
            return InstanceState.REJOINING
        if runtime.job == "rebooting":
            return InstanceState.REBOOTING
        if runtime.job is not None:
            return InstanceState.STARTING
        if runtime.held is Hold.STOPPED:
            return InstanceState.STOPPED
        if runtime.held is Hold.HUNG:
            return InstanceState.UNRESPONSIVE
        if runtime.held is Hold.AZ_LOST:
            return InstanceState.FAILED
        if not view.process_alive:
            return InstanceState.REJOINING if runtime.needs_rewind else InstanceState.FAILED
        if view.observation_age is None:
            return InstanceState.STARTING
        if view.observation_age > 2.0:
            return InstanceState.UNRESPONSIVE
        return InstanceState.AVAILABLE

    def status(self) -> dict[str, Any]:
        topology = self.require_topology()
        view = self.view()
        instances = []
        for spec in topology.instances:
            iv = view.instance(spec.id)
            runtime = self.state.instances[spec.id]
            obs = iv.observation
            instances.append(
                {
                    "id": spec.id,
                    "resource_id": spec.resource_id,
                    "role": topology.role_of(spec.id).value,
                    "az": spec.az,
                    "tier": spec.tier,
                    "port": spec.port,
                    "pid": self.controller.instance_pid(spec.id),
                    "state": self.instance_state(iv).value,
                    "fault": runtime.held.value if runtime.held else None,
                    "replay_paused": bool(obs and obs.in_recovery and obs.replay_paused),
                    "replica_delay_ms": runtime.delay_ms,
                }
            )
        segments = []
        for seg_view in view.segments:
            runtime_seg = self.state.segments[seg_view.id]
            if runtime_seg.held is Hold.STOPPED:
                state = SegmentState.STOPPED
            elif runtime_seg.held is not None:
                state = SegmentState.FAILED
            elif seg_view.streaming:
                state = SegmentState.AVAILABLE
            elif seg_view.process_alive:
                state = SegmentState.STARTING
            else:
                state = SegmentState.FAILED
            segments.append(
                {
                    "id": seg_view.id,
                    "az": seg_view.az,
                    "state": state.value,
                    "pid": self.controller.segment_pid(seg_view.id),
                    "fault": runtime_seg.held.value if runtime_seg.held else None,
                }
            )
        streaming = sum(1 for s in view.segments if s.streaming)
        writer_obs = view.writer.observation
        return {
            "cluster_id": topology.cluster_id,
            "cluster_resource_id": topology.cluster_resource_id,
            "writer": topology.writer_id,
            "instances": instances,
            "segments": segments,
            "storage": {
                "segments_available": streaming,
                "write_quorum": WRITE_QUORUM,
                "read_quorum": READ_QUORUM,
                "write_quorum_ok": streaming >= WRITE_QUORUM,
                "commits_waiting": writer_obs.commits_waiting_on_quorum if writer_obs else 0,
            },
            "failovers": self.failovers,
        }

    def healthy(self) -> bool:
        view = self.view()
        writer = view.writer
        return (
            writer.process_alive
            and writer.observation is not None
            and (writer.observation_age or 99) < 2.0
            and all(
                i.healthy_reader or self.state.instances[i.id].held
                for i in view.instances
                if i.role is Role.READER
            )
            and sum(1 for s in view.segments if s.streaming) >= WRITE_QUORUM
        )

    def signal_instance(self, instance_id: str, sig: signal.Signals) -> None:
        self.controller.signal_instance(instance_id, sig)
