"""An instance's process tree read from /proc at a cost that does not grow with idle backends.

Summing CPU, I/O and memory over a postmaster and every child costs two or three /proc reads
per process: 1,500 system calls a reading with 500 connections, each a point where a loaded
host may take the CPU away from the collector. Most of those processes are idle client
backends, whose counters have not moved since they were last read. So the tree keeps each
process' last reading and re-reads a child only when it may have changed:

- a child it has never read (on the tree's first reading every child is read, whatever the
  budget, so that a counter never jumps by a long-lived backend's past later; a connection
  opened since is new work, read first within the budget);
- a child PostgreSQL does not report as quiet: `quiet` holds the backends pg_stat_activity
  shows idle since before the previous reading (their state has not changed since);
  auxiliary processes, active and idle-in-transaction sessions are never quiet;
- a child whose re-read was put off before.

Re-reads are bounded: at most `read_budget` a reading, the stalest first. The rest are put
off to the next reading (their last values stand in, so nothing is lost, only late) and
counted in `deferred_total`. PSS (smaps_rollup, a page-table walk per process) is refreshed
the same way: each process at most every `pss_refresh_s`, at most `pss_budget` a reading.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass, field

from collector.procfs import CLOCK_TICKS, PAGE_SIZE, ProcFs

READ_BUDGET = 64  # re-reads of known children (stat + io) per reading
PSS_BUDGET = 16  # smaps_rollup reads per reading (each a page-table walk: ~1 ms and more)


@dataclass
class PidReading:
    ticks: int  # utime + stime + cutime + cstime
    rss_pages: int
    io: tuple[int, int, int, int] | None  # None: /proc/<pid>/io not readable
    read_at: float  # monotonic
    pss: int | None = None
    pss_at: float = -math.inf


@dataclass(frozen=True)
class TreeTotals:
    processes: int
    ticks: int
    rss_bytes: int
    io: tuple[int, int, int, int] | None
    pss_bytes: int | None

    @property
    def cpu_seconds(self) -> float:
        return self.ticks / CLOCK_TICKS


@dataclass
class ProcessTree:
    """The readings of one postmaster's processes, kept between polls."""

    procfs: ProcFs
    postmaster: int
    read_budget: int = READ_BUDGET
    pss_budget: int = PSS_BUDGET
    pss_refresh_s: float = 30.0
    readings: dict[int, PidReading] = field(default_factory=dict)
    pending: set[int] = field(default_factory=set)  # re-reads put off by the budget
    deferred_total: dict[str, int] = field(default_factory=lambda: {"stat": 0, "smaps_rollup": 0})
    pss_unreadable: bool = False
    _vanished: set[int] = field(default_factory=set)  # exited while a reading ran
    last_pss: int | None = None

    def read(self, quiet: Collection[int], now: float, *, pss: bool = True) -> TreeTotals:
        """Read what may have changed and sum the tree. A missing postmaster raises
        FileNotFoundError or ProcessLookupError."""
        children = self.procfs.children(self.postmaster)
        alive = {self.postmaster, *children}
        for gone in self.readings.keys() - alive:
            del self.readings[gone]
        self.pending &= alive
        first = not self.readings
        self._vanished.clear()
        self._read_pid(self.postmaster, now, required=True)
        stale: list[int] = []
        for pid in children:
            if first:
                self._read_pid(pid, now)
            elif pid not in self.readings or pid in self.pending or pid not in quiet:
                stale.append(pid)
        # New processes first (they are missing from the sums), then the longest unread.
        stale.sort(key=lambda pid: r.read_at if (r := self.readings.get(pid)) else -math.inf)
        for pid in stale[: self.read_budget]:
            self.pending.discard(pid)
            self._read_pid(pid, now)
        put_off = stale[self.read_budget :]
        self.pending.update(put_off)
        self.deferred_total["stat"] += len(put_off)
        if pss:
            self._refresh_pss(now)
        ticks = rss = 0
        io: list[int] | None = [0, 0, 0, 0]
        for reading in self.readings.values():
            ticks += reading.ticks
            rss += reading.rss_pages
            if io is not None and reading.io is not None:
                io = [a + b for a, b in zip(io, reading.io, strict=True)]
            else:
                io = None
        return TreeTotals(
            processes=len(alive - self._vanished),
            ticks=ticks,
            rss_bytes=rss * PAGE_SIZE,
            io=None if io is None else (io[0], io[1], io[2], io[3]),
            pss_bytes=self.last_pss if pss else None,
        )

    def _read_pid(self, pid: int, now: float, *, required: bool = False) -> None:
        try:
            ticks, rss_pages = self.procfs.stat_counters(pid)
        except (FileNotFoundError, ProcessLookupError):
            if required:
                raise
            self.readings.pop(pid, None)
            self._vanished.add(pid)
            return
        io: tuple[int, int, int, int] | None
        try:
            io = self.procfs.io_counters(pid)
        except PermissionError:
            io = None
        except (FileNotFoundError, ProcessLookupError):
            self.readings.pop(pid, None)
            self._vanished.add(pid)
            return
        known = self.readings.get(pid)
        if known is None:
            self.readings[pid] = PidReading(ticks, rss_pages, io, now)
        else:
            known.ticks, known.rss_pages, known.io, known.read_at = ticks, rss_pages, io, now

    def _refresh_pss(self, now: float) -> None:
        if self.pss_unreadable:
            return
        due = [pid for pid, r in self.readings.items() if now - r.pss_at >= self.pss_refresh_s]
        due.sort(key=lambda pid: self.readings[pid].pss_at)
        for pid in due[: self.pss_budget]:
            try:
                pss = self.procfs.memory(pid).pss
            except PermissionError:
                self.pss_unreadable = True
                self.last_pss = None
                return
            except (FileNotFoundError, ProcessLookupError):
                continue
            reading = self.readings[pid]
            reading.pss, reading.pss_at = pss, now
        self.deferred_total["smaps_rollup"] += max(0, len(due) - self.pss_budget)
        values = [r.pss for r in self.readings.values()]
        if all(v is not None for v in values):  # a total only once every process is known
            self.last_pss = sum(v for v in values if v is not None)
