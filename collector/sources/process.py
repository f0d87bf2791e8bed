"""CPU, memory and I/O of one instance: its postmaster and every child, from /proc.

Only for instances on this host (collector.localhost decides); others get no series. The CPU
and I/O counters include children that already exited (the postmaster's cutime/cstime and
its /proc/<pid>/io add them once reaped). A child exiting between two reads can make one
reading dip by its share; counters never go down here, so a dip is held at the previous
value instead of looking like a reset to Prometheus.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any

import psycopg
from prometheus_client.core import Metric

from collector.localhost import LocalInstance, LocalInstances
from collector.procfs import CLOCK_TICKS, ProcFs
from collector.sources.base import InstancePoll, counter, gauge


@dataclass(frozen=True)
class ProcessCounters:
    cpu_seconds: float
    io_read_bytes: float | None  # None: /proc/<pid>/io not readable (collector not root)
    io_write_bytes: float | None
    io_read_syscalls: float | None
    io_write_syscalls: float | None


@dataclass(frozen=True)
class ProcessSnapshot:
    processes: int
    cpus: int
    counters: ProcessCounters
    rss_bytes: float | None
    pss_bytes: float | None


def monotonic(previous: ProcessCounters | None, now: ProcessCounters) -> ProcessCounters:
    """Each counter at least its previous value (a counter may only stand still or grow)."""
    if previous is None:
        return now
    values: dict[str, float | None] = {}
    for f in fields(ProcessCounters):
        old, new = getattr(previous, f.name), getattr(now, f.name)
        values[f.name] = new if old is None or new is None else max(old, new)
    return ProcessCounters(**values)  # type: ignore[arg-type]


def read_tree(procfs: ProcFs, postmaster: int) -> ProcessSnapshot:
    """Sum over the postmaster and its children. A child that exits meanwhile is skipped;
    a file we may not read leaves that figure unknown (None)."""
    pids = [postmaster, *procfs.children(postmaster)]
    ticks = 0
    io: list[int] | None = [0, 0, 0, 0]
    rss: int | None = 0
    pss: int | None = 0
    seen = 0
    for pid in pids:
        try:
            stat = procfs.stat(pid)
        except (FileNotFoundError, ProcessLookupError):
            if pid == postmaster:
                raise
            continue
        seen += 1
        ticks += stat.all_ticks
        if io is not None:
            try:
                p = procfs.io(pid)
                io = [
                    io[0] + p.read_bytes,
                    io[1] + p.write_bytes,
                    io[2] + p.read_syscalls,
                    io[3] + p.write_syscalls,
                ]
            except PermissionError:
                io = None
            except (FileNotFoundError, ProcessLookupError):
                pass
        if rss is not None and pss is not None:
            try:
                mem = procfs.memory(pid)
                rss, pss = rss + mem.rss, pss + mem.pss
            except PermissionError:
                rss = pss = None
            except (FileNotFoundError, ProcessLookupError):
                pass
    try:
        cpus = len(os.sched_getaffinity(postmaster))
    except OSError:
        cpus = os.cpu_count() or 1
    return ProcessSnapshot(
        processes=seen,
        cpus=cpus,
        counters=ProcessCounters(
            cpu_seconds=ticks / CLOCK_TICKS,
            io_read_bytes=None if io is None else float(io[0]),
            io_write_bytes=None if io is None else float(io[1]),
            io_read_syscalls=None if io is None else float(io[2]),
            io_write_syscalls=None if io is None else float(io[3]),
        ),
        rss_bytes=None if rss is None else float(rss),
        pss_bytes=None if pss is None else float(pss),
    )


COUNTERS = (
    (
        "borealis_process_cpu_seconds",
        "cpu_seconds",
        "CPU time (user + system) of the instance's postmaster and all its children, exited "
        "ones included; CPUUtilization is its rate over the CPUs in borealis_process_cpus.",
    ),
    (
        "borealis_process_io_read_bytes",
        "io_read_bytes",
        "Bytes the instance's processes caused to be read from the storage layer (page-cache "
        "hits excluded), from /proc/<pid>/io.",
    ),
    (
        "borealis_process_io_write_bytes",
        "io_write_bytes",
        "Bytes the instance's processes caused to be written to the storage layer, from "
        "/proc/<pid>/io.",
    ),
    (
        "borealis_process_io_read_syscalls",
        "io_read_syscalls",
        "read-type system calls of the instance's processes (files, sockets and pipes alike).",
    ),
    (
        "borealis_process_io_write_syscalls",
        "io_write_syscalls",
        "write-type system calls of the instance's processes (files, sockets and pipes alike).",
    ),
)


class ProcessSource:
    name = "process"

    def __init__(self, local: LocalInstances) -> None:
        self.local = local
        self._lock = threading.Lock()
        self._last: dict[tuple[int, int], ProcessCounters] = {}

    def poll(self, conn: psycopg.Connection[Any], version_num: int) -> ProcessSnapshot | None:
        instance = self.local.resolve(conn)
        if instance is None:
            return None
        try:
            snap = read_tree(self.local.procfs, instance.postmaster_pid)
        except (FileNotFoundError, ProcessLookupError):
            return None  # the postmaster is gone; the next connection finds the new one
        return self._held(instance, snap)

    def _held(self, instance: LocalInstance, snap: ProcessSnapshot) -> ProcessSnapshot:
        key = (instance.postmaster_pid, instance.start_ticks)
        with self._lock:
            counters = monotonic(self._last.get(key), snap.counters)
            if key not in self._last and len(self._last) > 256:
                self._last.clear()
            self._last[key] = counters
        return ProcessSnapshot(snap.processes, snap.cpus, counters, snap.rss_bytes, snap.pss_bytes)

    def families(self, polls: Sequence[InstancePoll]) -> Iterable[Metric]:
        counters = [(counter(name, doc), attr) for name, attr, doc in COUNTERS]
        cpus = gauge(
            "borealis_process_cpus",
            "CPUs the instance's postmaster may run on (its CPU affinity); instances on one "
            "host share them.",
        )
        processes = gauge(
            "borealis_processes", "Processes of the instance: the postmaster and its children."
        )
        rss = gauge(
            "borealis_process_resident_memory_bytes",
            "Resident memory summed over the instance's processes; shared memory "
            "(shared_buffers) counts once per process that touched it.",
        )
        pss = gauge(
            "borealis_process_proportional_memory_bytes",
            "Proportional set size summed over the instance's processes: shared pages split "
            "among their sharers, so the sum is the instance's real share of RAM.",
        )
        for poll in polls:
            snap: ProcessSnapshot | None = poll.results.get(self.name)
            if snap is None:
                continue
            for family, attr in counters:
                value = getattr(snap.counters, attr)
                if value is not None:
                    family.add_metric(poll.labels, value)
            cpus.add_metric(poll.labels, snap.cpus)
            processes.add_metric(poll.labels, snap.processes)
            if snap.rss_bytes is not None:
                rss.add_metric(poll.labels, snap.rss_bytes)
            if snap.pss_bytes is not None:
                pss.add_metric(poll.labels, snap.pss_bytes)
        yield from (family for family, _ in counters)
        yield from (cpus, processes, rss, pss)
