"""CPU, memory and I/O of one instance: its postmaster and every child, from /proc.

Only for instances on this host (collector.localhost decides); others get no series. The CPU
and I/O counters include children that already exited (the postmaster's cutime/cstime and
its /proc/<pid>/io add them once reaped). A child exiting between two reads can make one
reading dip by its share; counters never go down here, so a dip is held at the previous
value instead of looking like a reset to Prometheus.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import psycopg
from prometheus_client.core import Metric

from collector.localhost import LocalInstances
from collector.procfs import CLOCK_TICKS, PAGE_SIZE, ProcFs
from collector.sources.base import InstancePoll, counter, gauge

PSS_REFRESH_S = 30.0


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
    rss_bytes: float
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


def read_tree(procfs: ProcFs, postmaster: int, *, pss: bool) -> ProcessSnapshot:
    """Sum over the postmaster and its children. A child that exits meanwhile is skipped;
    a file we may not read leaves that figure unknown (None). PSS (smaps_rollup) costs
    half a millisecond of kernel time per process: read only when `pss`."""
    pids = [postmaster, *procfs.children(postmaster)]
    ticks = rss = 0
    io: list[int] | None = [0, 0, 0, 0]
    pss_total: int | None = 0 if pss else None
    seen = 0
    for pid in pids:
        try:
            pid_ticks, rss_pages = procfs.stat_counters(pid)
        except (FileNotFoundError, ProcessLookupError):
            if pid == postmaster:
                raise
            continue
        seen += 1
        ticks += pid_ticks
        rss += rss_pages * PAGE_SIZE
        if io is not None:
            try:
                io = [a + b for a, b in zip(io, procfs.io_counters(pid), strict=True)]
            except PermissionError:
                io = None
            except (FileNotFoundError, ProcessLookupError):
                pass
        if pss_total is not None:
            try:
                pss_total += procfs.memory(pid).pss
            except PermissionError:
                pss_total = None
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
        rss_bytes=float(rss),
        pss_bytes=None if pss_total is None else float(pss_total),
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
    os_metrics = True

    def __init__(self, local: LocalInstances, pss_refresh_s: float = PSS_REFRESH_S) -> None:
        self.local = local
        self.pss_refresh_s = pss_refresh_s
        self._lock = threading.Lock()
        self._last: dict[tuple[int, int], ProcessCounters] = {}
        self._pss: dict[tuple[int, int], tuple[float, float | None]] = {}

    def poll(self, conn: psycopg.Connection[Any], version_num: int) -> ProcessSnapshot | None:
        instance = self.local.resolve(conn)
        if instance is None:
            return None
        key = (instance.postmaster_pid, instance.start_ticks)
        now = time.monotonic()
        with self._lock:
            pss_at, pss = self._pss.get(key, (-math.inf, None))
        fresh_pss = now - pss_at >= self.pss_refresh_s
        try:
            snap = read_tree(self.local.procfs, instance.postmaster_pid, pss=fresh_pss)
        except (FileNotFoundError, ProcessLookupError):
            return None  # the postmaster is gone; the next connection finds the new one
        with self._lock:
            if len(self._last) > 256:  # postmasters come and go with restarts
                self._last.clear()
                self._pss.clear()
            counters = monotonic(self._last.get(key), snap.counters)
            self._last[key] = counters
            if fresh_pss:
                self._pss[key] = (now, snap.pss_bytes)
            else:
                snap = replace(snap, pss_bytes=pss)
        return replace(snap, counters=counters)

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
            "among their sharers, so the sum is the instance's real share of RAM (refreshed "
            f"every {PSS_REFRESH_S:g} s: reading it costs the kernel a page-table walk).",
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
            rss.add_metric(poll.labels, snap.rss_bytes)
            if snap.pss_bytes is not None:
                pss.add_metric(poll.labels, snap.pss_bytes)
        yield from (family for family, _ in counters)
        yield from (cpus, processes, rss, pss)
