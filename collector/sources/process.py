"""CPU, memory and I/O of one instance: its postmaster and every child, from /proc.

Only for instances on this host (collector.localhost decides); others get no series. The CPU
and I/O counters include children that already exited (the postmaster's cutime/cstime and
its /proc/<pid>/io add them once reaped). A child exiting between two reads can make one
reading dip by its share; counters never go down here, so a dip is held at the previous
value instead of looking like a reset to Prometheus.

Each reading re-reads only the processes that may have changed (collector/proctree.py):
idle backends are read once, so 500 connections cost a poll no more than 5 do; re-reads
beyond a per-reading budget are put off and counted (borealis_process_reads_deferred_total).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any

import psycopg
from prometheus_client.core import Metric

from collector.localhost import LocalInstances
from collector.procfs import ProcFs
from collector.proctree import PSS_BUDGET, READ_BUDGET, ProcessTree, TreeTotals
from collector.queries import query_for
from collector.sources.base import InstancePoll, counter, fetch_one, gauge

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
    # /proc reads put off to a later reading by the per-reading budget, by file, since the
    # collector first read this postmaster (collector/proctree.py).
    deferred_reads: tuple[tuple[str, int], ...] = ()


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
    """One reading of the whole tree, nothing kept (ProcessSource keeps a ProcessTree per
    postmaster instead). A child that exits meanwhile is skipped; a file we may not read
    leaves that figure unknown (None)."""
    tree = ProcessTree(procfs, postmaster, pss_budget=1 << 30)
    return snapshot(tree, tree.read((), time.monotonic(), pss=pss), postmaster)


def snapshot(tree: ProcessTree, totals: TreeTotals, postmaster: int) -> ProcessSnapshot:
    try:
        cpus = len(os.sched_getaffinity(postmaster))
    except OSError:
        cpus = os.cpu_count() or 1
    io = totals.io
    return ProcessSnapshot(
        processes=totals.processes,
        cpus=cpus,
        counters=ProcessCounters(
            cpu_seconds=totals.cpu_seconds,
            io_read_bytes=None if io is None else float(io[0]),
            io_write_bytes=None if io is None else float(io[1]),
            io_read_syscalls=None if io is None else float(io[2]),
            io_write_syscalls=None if io is None else float(io[3]),
        ),
        rss_bytes=float(totals.rss_bytes),
        pss_bytes=None if totals.pss_bytes is None else float(totals.pss_bytes),
        deferred_reads=tuple(sorted(tree.deferred_total.items())),
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

    def __init__(
        self,
        local: LocalInstances,
        pss_refresh_s: float = PSS_REFRESH_S,
        read_budget: int = READ_BUDGET,
        pss_budget: int = PSS_BUDGET,
    ) -> None:
        self.local = local
        self.pss_refresh_s = pss_refresh_s
        self.read_budget = read_budget
        self.pss_budget = pss_budget
        self._lock = threading.Lock()
        self._last: dict[tuple[int, int], ProcessCounters] = {}
        # Per postmaster: its process tree and the server time of the last quiet query.
        self._trees: dict[tuple[int, int], tuple[ProcessTree, datetime | None]] = {}

    def poll(self, conn: psycopg.Connection[Any], version_num: int) -> ProcessSnapshot | None:
        instance = self.local.resolve(conn)
        if instance is None:
            return None
        key = (instance.postmaster_pid, instance.start_ticks)
        with self._lock:
            if len(self._last) > 256:  # postmasters come and go with restarts
                self._last.clear()
                self._trees.clear()
            tree, since = self._trees.get(key) or (
                ProcessTree(
                    self.local.procfs,
                    instance.postmaster_pid,
                    read_budget=self.read_budget,
                    pss_budget=self.pss_budget,
                    pss_refresh_s=self.pss_refresh_s,
                ),
                None,
            )
        row = fetch_one(conn, query_for("quiet_backends", version_num) or "", {"since": since})
        quiet = frozenset(row["quiet"]) if row is not None else frozenset()
        try:
            totals = tree.read(quiet, time.monotonic())
        except (FileNotFoundError, ProcessLookupError):
            return None  # the postmaster is gone; the next connection finds the new one
        snap = snapshot(tree, totals, instance.postmaster_pid)
        with self._lock:
            self._trees[key] = (tree, row["now"] if row is not None else None)
            counters = monotonic(self._last.get(key), snap.counters)
            self._last[key] = counters
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
            "among their sharers, so the sum is the instance's real share of RAM (each "
            f"process' share refreshed every {PSS_REFRESH_S:g} s, at most {PSS_BUDGET} "
            "processes a reading: reading it costs the kernel a page-table walk).",
        )
        deferred = counter(
            "borealis_process_reads_deferred",
            "/proc reads of the instance's processes put off to a later reading by the "
            "collector's per-reading budget (file: stat for CPU, RSS and I/O, smaps_rollup for "
            "PSS); the last values stand in meanwhile, so nothing is lost, only late.",
            extra=["file"],
        )
        for poll in polls:
            snap: ProcessSnapshot | None = poll.results.get(self.name)
            if snap is None:
                continue
            for file, count in snap.deferred_reads:
                deferred.add_metric([*poll.labels, file], count)
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
        yield from (cpus, processes, rss, pss, deferred)
