"""Failover: replace the writer with a reader, losing no acknowledged commit.

The steps, each timed by a `PhaseClock` for the log and the benchmark: fence the old writer
(a clean stop ships its last WAL; a lost or hung one is killed), read the storage segments
(a read quorum must be readable), let the first candidate that can catch up replay the newest
segment's WAL and promote it, then record the new writer, give it the storage volume and
repoint the readers. A failed attempt brings the previous writer back (RDS-EVENT-0070).

`Failover` does the work on the manager's thread; *whether* to fail over, and to whom, is
decided in `cluster.decide`.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from cluster import pgconf
from cluster.controller import ClusterError
from cluster.decide import failover_candidates, readable_segments
from cluster.pgctl import PgCommandError, parse_lsn
from cluster.runtime import STORAGE_SETTLE_S, Hold
from core.errors import BorealisError
from core.events import make_event
from core.topology import READ_QUORUM, InstanceSpec, InstanceState, Topology
from core.waiting import WaitTimeout, wait_until

if TYPE_CHECKING:
    from cluster.manager import ClusterManager

log = logging.getLogger(__name__)


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


class Failover:
    """Promotes a reader to writer for the manager: planned (FailoverDBCluster) or not (the
    writer was lost). Shares the manager's controller, state, probers and event store."""

    def __init__(self, manager: ClusterManager) -> None:
        self.manager = manager
        self.controller = manager.controller
        self.events = manager.events
        self.settings = manager.settings
        self.paths = manager.paths
        self.state = manager.state
        self.probers = manager.probers

    def request(self, target: str | None = None) -> dict[str, Any]:
        """A planned failover (FailoverDBCluster): runs on the manager thread."""

        def planned() -> dict[str, Any]:
            topology = self.manager.require_topology()
            if target is not None:
                spec = self.manager.member(target)
                if spec.id == topology.writer_id:
                    raise BorealisError(f"{target} is already the writer")
            view = self.manager.view()
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
            new = self.run(candidates, reason, planned=True)
            return {"previous_writer": old, "writer": new, "reason": reason}

        return self.manager.call(planned)

    def run(self, candidates: tuple[str, ...], reason: str, *, planned: bool) -> str:
        topology = self.manager.require_topology()
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
        self.manager.publish_routes()
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

        self._complete(topology, promoted, clock)
        return promoted.id

    def _complete(self, topology: Topology, promoted: InstanceSpec, clock: PhaseClock) -> None:
        """The new writer is up: record it, give it the storage volume and the readers."""
        old = topology.writer
        mark = clock.mark
        new_topology = topology.with_writer(promoted.id)
        new_topology.save(self.paths.topology)
        self.manager.topology = new_topology
        self.state.instances[old.id].needs_rewind = True
        self.state.instances[old.id].state = InstanceState.REJOINING
        self.state.instances[promoted.id].delay_ms = 0
        self.probers[promoted.id].forget()
        self.manager.publish_routes()
        switch_lsn = self._switch_point(promoted)
        self.state.storage_settle_until = time.monotonic() + STORAGE_SETTLE_S
        self._attach_storage(new_topology, mark)
        self._repoint_readers(new_topology, switch_lsn, exclude={old.id})
        mark("repoint readers")
        self.manager.failovers += 1
        self.events.add(make_event("RDS-EVENT-0071", topology.cluster_id, name=promoted.id))
        log.warning("failover to %s completed in %.2f s (%s)", promoted.id, clock.elapsed, clock)

    def _readable_segments(self) -> list[str]:
        readable = readable_segments(self.manager.view())
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
        if self.manager.restart_in_place(old):
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
        self.manager.start_segments(topology)
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
            self.manager.start_job(
                reader.id,
                "repointing",
                functools.partial(
                    self._repoint_reader, writer_id=topology.writer_id, switch_lsn=switch_lsn
                ),
            )

    def _repoint_reader(self, instance_id: str, writer_id: str, switch_lsn: int | None) -> None:
        topology = self.manager.require_topology()
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
