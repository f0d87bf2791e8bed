"""The storage volume's segments (one `pg_receivewal --synchronous` each) and the record of
the processes the controller started; part of `ClusterController`."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass, field

from cluster import pgconf, pgctl
from cluster.layout import Layout
from core.paths import StatePaths
from core.topology import SegmentSpec, Topology


@dataclass
class Process:
    """A process we started (popen) or found running from an earlier supervisor (pid only)."""

    pid: int
    popen: subprocess.Popen[bytes] | None = None

    def alive(self) -> bool:
        if self.popen is not None:
            return self.popen.poll() is None
        return pgctl.is_alive(self.pid)


@dataclass
class Processes:
    instances: dict[str, Process] = field(default_factory=dict)
    segments: dict[str, Process] = field(default_factory=dict)


class SegmentControl:
    """Start, stop, signal and read the storage segments (a mixin of ClusterController)."""

    paths: StatePaths
    procs: Processes
    tools: pgctl.PgTools
    layout: Layout

    def segment_pid(self, segment_id: str) -> int | None:
        proc = self.procs.segments.get(segment_id)
        if proc is not None and proc.alive():
            return proc.pid
        pid = pgctl.read_pid(self.paths.pid_file(f"segment-{segment_id}"))
        if pid and pgctl.is_alive(pid):
            self.procs.segments[segment_id] = Process(pid)
            return pid
        return None

    def segment_alive(self, segment_id: str) -> bool:
        return self.segment_pid(segment_id) is not None

    def start_segment(self, seg: SegmentSpec, topology: Topology) -> None:
        if self.segment_alive(seg.id):
            return
        directory = self.layout.pg_dir(self.paths.segment_dir(seg.id))
        dsn = pgconf.replication_dsn(topology.writer, self.paths, seg.id)
        popen = self.tools.start_receivewal(
            directory, seg.slot, dsn, self.paths.logs / "segments" / f"{seg.id}.log"
        )
        self.procs.segments[seg.id] = Process(popen.pid, popen)
        self.paths.pid_file(f"segment-{seg.id}").write_text(f"{popen.pid}\n")

    def signal_segment(self, segment_id: str, sig: signal.Signals) -> None:
        pid = self.segment_pid(segment_id)
        if pid is not None:
            os.kill(pid, sig)
            if sig is signal.SIGKILL:
                pgctl.wait_gone(pid, 5.0)

    def stop_segment(self, segment_id: str) -> None:
        pid = self.segment_pid(segment_id)
        pgctl.stop_process(pid, sig=signal.SIGTERM, timeout=5)
        proc = self.procs.segments.pop(segment_id, None)
        if proc is not None and proc.popen is not None:
            proc.popen.wait(timeout=5)
        self.paths.pid_file(f"segment-{segment_id}").unlink(missing_ok=True)

    def quarantine_segment_files(self, segment_id: str) -> None:
        """Move a segment's WAL aside (kept for inspection) so it restarts from its slot."""
        directory = self.paths.segment_dir(segment_id)
        stale_name = f"{segment_id}-{int(time.time())}"
        stale = self.layout.pg_dir(self.paths.pg / "segments-stale" / stale_name)
        for item in directory.iterdir():
            item.rename(stale / item.name)

    def last_valid_record(self, segment_id: str) -> tuple[int, int] | None:
        return self.tools.last_valid_record(self.paths.segment_dir(segment_id))
