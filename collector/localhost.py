"""Which targets run on this host, and their postmaster.

Several instances share this host, so per-instance CPU, memory and I/O come from each
instance's own processes. The collector's backend for a target is a child of that target's
postmaster: its parent in /proc, accepted only if it is a PostgreSQL process whose start time
matches `pg_postmaster_start_time()` (or whose command line names the instance's data
directory). Anything else — RDS, Aurora, another host, another PID namespace — is simply not
local: no process metrics, and no error.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any

import psycopg

from collector.procfs import ProcFs
from collector.queries import query_for
from collector.sources.base import fetch_one

POSTGRES_NAMES = frozenset({"postgres", "postmaster"})
START_TOLERANCE_S = 5.0  # ticks are 10 ms, but boot time is whole seconds
CACHE_LIMIT = 512


@dataclass(frozen=True)
class LocalInstance:
    postmaster_pid: int
    start_ticks: int
    data_directory: str | None
    device: str | None  # block device holding the data directory


def is_postmaster_of(
    procfs: ProcFs, pid: int, start_time: float, data_directory: str | None
) -> bool:
    """Is `pid` a PostgreSQL postmaster started at `start_time` (or serving `data_directory`)?"""
    try:
        stat = procfs.stat(pid)
        cmdline = procfs.cmdline(pid)
    except (OSError, ValueError, IndexError):
        return False
    program = os.path.basename(cmdline[0]) if cmdline else ""
    if stat.comm not in POSTGRES_NAMES and program not in POSTGRES_NAMES:
        return False
    if abs(procfs.start_epoch(stat) - start_time) <= START_TOLERANCE_S:
        return True
    # A crash restart resets pg_postmaster_start_time() but not the process.
    return data_directory is not None and data_directory in cmdline


class LocalInstances:
    """Resolves a target's connection to its local postmaster, once per connection."""

    def __init__(self, procfs: ProcFs | None = None) -> None:
        self.procfs = procfs or ProcFs()
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, int, int], LocalInstance | None] = {}

    def resolve(self, conn: psycopg.Connection[Any]) -> LocalInstance | None:
        backend_pid = conn.info.backend_pid
        key = (conn.info.host, conn.info.port, backend_pid)
        with self._lock:
            known = key in self._cache
            found = self._cache.get(key)
        if known and (found is None or self._still_running(found)):
            return found
        found = self._find(conn, backend_pid)
        with self._lock:
            if len(self._cache) >= CACHE_LIMIT:
                self._cache.clear()
            self._cache[key] = found
        return found

    def _still_running(self, local: LocalInstance) -> bool:
        try:
            return self.procfs.stat(local.postmaster_pid).starttime == local.start_ticks
        except (OSError, ValueError, IndexError):
            return False

    def _find(self, conn: psycopg.Connection[Any], backend_pid: int) -> LocalInstance | None:
        row = fetch_one(conn, query_for("local_instance", 0) or "")
        if row is None:
            return None
        try:
            parent = self.procfs.stat(backend_pid).ppid
        except (OSError, ValueError, IndexError):
            return None
        data_directory = row["data_directory"]
        if not is_postmaster_of(self.procfs, parent, row["start_time"], data_directory):
            return None
        try:
            start_ticks = self.procfs.stat(parent).starttime
        except (OSError, ValueError, IndexError):
            return None
        device = None
        if data_directory:
            try:
                device = self.procfs.block_device(os.stat(data_directory).st_dev)
            except OSError:
                device = None
        return LocalInstance(parent, start_ticks, data_directory, device)
