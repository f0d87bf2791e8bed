"""Faults for drills: `borealis fault NAME [ARGS]`, each run on the cluster manager's thread.

A fault that takes something away *holds* it (`Hold`), so the manager does not heal it until
the matching reversal (start-instance, resume-instance, start-segment, restore-az,
resume-replay, delay-replica ID 0). kill-writer needs no reversal: the cluster fails over
on its own. Aurora semantics apply: a writer hung for longer than
`manager.writer_unresponsive_s` is failed over and fenced (SIGKILL), like any lost writer.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable
from typing import Any

from psycopg import sql

from cluster.fault_catalog import FAULTS, FAULTS_BY_NAME
from cluster.manager import ClusterManager
from cluster.runtime import Hold
from core.errors import BorealisError
from core.events import make_event
from core.topology import InstanceSpec, Topology

log = logging.getLogger(__name__)

MAX_APPLY_DELAY_MS = 2_147_483_647  # PostgreSQL's limit for recovery_min_apply_delay


class FaultError(BorealisError):
    """A fault that cannot be applied as asked (unknown target, wrong state)."""

    error_code = "InvalidParameterCombination"


class NotFound(FaultError):
    """No such segment or AZ (instances: `UnknownMember`)."""

    error_code = "InvalidParameterValue"


class FaultInjector:
    def __init__(self, manager: ClusterManager) -> None:
        self.manager = manager
        self._handlers: dict[str, Callable[..., dict[str, Any]]] = {
            "kill-writer": self.kill_writer,
            "stop-instance": self.stop_instance,
            "start-instance": self.start_instance,
            "hang-instance": self.hang_instance,
            "resume-instance": self.resume_instance,
            "stop-segment": self.stop_segment,
            "start-segment": self.start_segment,
            "lose-az": self.lose_az,
            "restore-az": self.restore_az,
            "pause-replay": self.pause_replay,
            "resume-replay": self.resume_replay,
            "delay-replica": self.delay_replica,
        }

    def inject(self, name: str, args: list[str]) -> dict[str, Any]:
        """Check the request, then apply it on the manager thread."""
        spec = FAULTS_BY_NAME.get(name)
        if spec is None:
            known = ", ".join(f.name for f in FAULTS)
            raise FaultError(f"unknown fault {name!r} (known: {known})")
        if len(args) != len(spec.args):
            usage = " ".join([name, *spec.args])
            raise FaultError(f"usage: borealis fault {usage}")
        handler = self._handlers[name]
        result = self.manager.call(lambda: handler(*args), timeout=120)
        return {"fault": name, **result}

    # --- helpers (manager thread) ------------------------------------------------------

    @property
    def topology(self) -> Topology:
        return self.manager.require_topology()

    def _instance(self, instance_id: str) -> InstanceSpec:
        return self.manager.member(instance_id)

    def _reader(self, instance_id: str) -> InstanceSpec:
        spec = self._instance(instance_id)
        if spec.id == self.topology.writer_id:
            raise FaultError(f"{spec.id} is the writer; it does not replay WAL")
        if not self.manager.controller.instance_alive(spec.id):
            raise FaultError(f"{spec.id} is not running")
        return spec

    def _segment_id(self, segment_id: str) -> str:
        try:
            return self.topology.segment(segment_id).id
        except KeyError as exc:
            raise NotFound(str(exc.args[0])) from None

    def _az(self, name: str) -> str:
        try:
            return self.topology.resolve_az(name)
        except KeyError as exc:
            raise NotFound(str(exc.args[0])) from None

    # --- instances ---------------------------------------------------------------------

    def kill_writer(self) -> dict[str, Any]:
        writer = self.topology.writer
        pid = self.manager.controller.instance_pid(writer.id)
        if pid is None:
            raise FaultError(f"the writer {writer.id} is not running")
        self.manager.controller.kill_instance(writer.id)
        log.warning("fault kill-writer: killed %s (pid %d)", writer.id, pid)
        return {"instance": writer.id, "pid": pid}

    def stop_instance(self, instance_id: str) -> dict[str, Any]:
        spec = self._instance(instance_id)
        runtime = self.manager.state.instances[spec.id]
        if runtime.held is not None:
            raise FaultError(f"{spec.id} is already held ({runtime.held.value})")
        if runtime.job is not None:
            raise FaultError(f"{spec.id} is busy ({runtime.job}); try again shortly")
        runtime.held = Hold.STOPPED
        self.manager.controller.stop_instance(spec.id)
        self.manager.probers[spec.id].forget()
        self.manager.events.add(make_event("RDS-EVENT-0087", spec.id))
        return {"instance": spec.id, "role": self.topology.role_of(spec.id).value}

    def start_instance(self, instance_id: str) -> dict[str, Any]:
        spec = self._instance(instance_id)
        runtime = self.manager.state.instances[spec.id]
        if runtime.held is not Hold.STOPPED:
            raise FaultError(f"{spec.id} was not stopped by stop-instance")
        runtime.held = None
        if spec.id == self.topology.writer_id:
            if not self.manager.restart_in_place(spec, "RDS-EVENT-0088"):
                raise FaultError(f"{spec.id} did not start; see its log")
            return {"instance": spec.id, "role": "writer"}
        rejoin = runtime.needs_rewind

        def start(instance_id: str) -> None:
            if rejoin:
                self.manager.rejoin_reader(instance_id)
            else:
                self.manager.restart_reader(instance_id)

        self.manager.events.add(make_event("RDS-EVENT-0088", spec.id))
        self.manager.start_job(spec.id, "rejoining" if rejoin else "starting", start)
        return {"instance": spec.id, "role": "reader", "rejoins": rejoin}

    def hang_instance(self, instance_id: str) -> dict[str, Any]:
        spec = self._instance(instance_id)
        runtime = self.manager.state.instances[spec.id]
        if runtime.held is not None:
            raise FaultError(f"{spec.id} is already held ({runtime.held.value})")
        if not self.manager.controller.instance_alive(spec.id):
            raise FaultError(f"{spec.id} is not running")
        self.manager.controller.signal_instance(spec.id, signal.SIGSTOP)
        runtime.held = Hold.HUNG
        writer = spec.id == self.topology.writer_id
        return {
            "instance": spec.id,
            "role": "writer" if writer else "reader",
            "fails_over_after_s": self.manager.settings.manager.writer_unresponsive_s
            if writer
            else None,
        }

    def resume_instance(self, instance_id: str) -> dict[str, Any]:
        spec = self._instance(instance_id)
        runtime = self.manager.state.instances[spec.id]
        if runtime.held is not Hold.HUNG:
            if runtime.needs_rewind or runtime.job == "rejoining":
                raise FaultError(
                    f"{spec.id} was failed over and fenced while hung; it rejoins as a reader"
                )
            raise FaultError(f"{spec.id} is not hung")
        ctl = self.manager.controller
        if ctl.instance_alive(spec.id):
            ctl.signal_instance(spec.id, signal.SIGCONT)
        runtime.held = None
        rejoins = runtime.needs_rewind and ctl.instance_alive(spec.id)
        if rejoins:
            # The writer changed while it was hung: it follows the new one through pg_rewind.
            ctl.stop_instance(spec.id)
        return {"instance": spec.id, "rejoins": rejoins}

    # --- storage -----------------------------------------------------------------------

    def stop_segment(self, segment_id: str) -> dict[str, Any]:
        seg_id = self._segment_id(segment_id)
        runtime = self.manager.state.segments[seg_id]
        if runtime.held is not None:
            raise FaultError(f"{seg_id} is already held ({runtime.held.value})")
        runtime.held = Hold.STOPPED
        self.manager.controller.stop_segment(seg_id)
        return {"segment": seg_id, "segments_left": self._segments_left()}

    def start_segment(self, segment_id: str) -> dict[str, Any]:
        seg_id = self._segment_id(segment_id)
        runtime = self.manager.state.segments[seg_id]
        if runtime.held is not Hold.STOPPED:
            raise FaultError(f"{seg_id} was not stopped by stop-segment")
        runtime.held = None
        self._start_segment(seg_id)
        return {"segment": seg_id}

    def _start_segment(self, seg_id: str) -> None:
        topology = self.topology
        if self.manager.controller.instance_alive(topology.writer_id):
            self.manager.restart_segment(seg_id)
        # else: the manager starts it once a writer runs

    def _segments_left(self) -> int:
        return sum(1 for s in self.manager.state.segments.values() if s.held is None)

    # --- availability zones ------------------------------------------------------------

    def lose_az(self, name: str) -> dict[str, Any]:
        az = self._az(name)
        topology = self.topology
        ctl = self.manager.controller
        instances = [i for i in topology.instances if i.az == az]
        segments = [s for s in topology.segments if s.az == az]
        if any(self.manager.state.instances[i.id].held is Hold.AZ_LOST for i in instances) or any(
            self.manager.state.segments[s.id].held is Hold.AZ_LOST for s in segments
        ):
            raise FaultError(f"{az} is already lost")
        for seg in segments:
            self.manager.state.segments[seg.id].held = Hold.AZ_LOST
            pid = ctl.segment_pid(seg.id)
            if pid is not None:
                ctl.signal_segment(seg.id, signal.SIGKILL)
        for spec in instances:
            runtime = self.manager.state.instances[spec.id]
            runtime.held = Hold.AZ_LOST
            ctl.kill_instance(spec.id)
            self.manager.probers[spec.id].forget()
        return {
            "az": az,
            "instances": [i.id for i in instances],
            "segments": [s.id for s in segments],
            "writer_lost": topology.writer.az == az,
        }

    def restore_az(self, name: str) -> dict[str, Any]:
        az = self._az(name)
        topology = self.topology
        instances = [
            i.id
            for i in topology.instances
            if i.az == az and self.manager.state.instances[i.id].held is Hold.AZ_LOST
        ]
        segments = [
            s.id
            for s in topology.segments
            if s.az == az and self.manager.state.segments[s.id].held is Hold.AZ_LOST
        ]
        if not instances and not segments:
            raise FaultError(f"{az} is not lost")
        for instance_id in instances:
            self.manager.state.instances[instance_id].held = None
        for seg_id in segments:
            self.manager.state.segments[seg_id].held = None
        # The manager heals them on its next ticks: segments restart, readers restart or
        # rejoin (pg_rewind), a writer with nobody to take over restarts in place.
        return {"az": az, "instances": instances, "segments": segments}

    # --- replication -------------------------------------------------------------------

    def _on_reader(self, spec: InstanceSpec, *statements: sql.Composable | str) -> None:
        with self.manager.controller.connect(spec.port, timeout=2) as conn:
            for statement in statements:
                conn.execute(statement)  # type: ignore[arg-type]

    def pause_replay(self, instance_id: str) -> dict[str, Any]:
        spec = self._reader(instance_id)
        self._on_reader(spec, "select pg_wal_replay_pause()")
        self.manager.events.add(make_event("RDS-EVENT-0045", spec.id))
        return {"instance": spec.id}

    def resume_replay(self, instance_id: str) -> dict[str, Any]:
        spec = self._reader(instance_id)
        self._on_reader(spec, "select pg_wal_replay_resume()")
        self.manager.events.add(make_event("RDS-EVENT-0046", spec.id))
        return {"instance": spec.id}

    def delay_replica(self, instance_id: str, ms: str) -> dict[str, Any]:
        spec = self._reader(instance_id)
        if not ms.isdigit():
            raise FaultError(f"MS must be a whole number of milliseconds, not {ms!r}")
        delay = int(ms)
        if delay > MAX_APPLY_DELAY_MS:
            raise FaultError(f"MS must be at most {MAX_APPLY_DELAY_MS} (recovery_min_apply_delay)")
        if delay == 0:
            setting: sql.Composable = sql.SQL("alter system reset recovery_min_apply_delay")
        else:
            setting = sql.SQL("alter system set recovery_min_apply_delay = {}").format(
                sql.Literal(f"{delay}ms")
            )
        self._on_reader(spec, setting, "select pg_reload_conf()")
        self.manager.state.instances[spec.id].delay_ms = delay
        return {"instance": spec.id, "delay_ms": delay}
