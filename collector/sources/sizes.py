"""On-disk sizes: databases and the WAL directory (VolumeBytesUsed, TransactionLogsDiskUsage).

Sizes move slowly and each reading stats every file, so a reading is reused for
`REFRESH_S` on the same connection; the metric help says so.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from prometheus_client.core import Metric

from collector.queries import query_for
from collector.sources.base import InstancePoll, fetch_one, gauge

REFRESH_S = 15.0


@dataclass(frozen=True)
class SizesSnapshot:
    databases_bytes: float
    wal_bytes: float
    wal_files: int


class SizesSource:
    name = "sizes"
    os_metrics = False

    def __init__(self, refresh_s: float = REFRESH_S) -> None:
        self.refresh_s = refresh_s
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, int, int], tuple[float, SizesSnapshot]] = {}

    def poll(self, conn: psycopg.Connection[Any], version_num: int) -> SizesSnapshot:
        key = (conn.info.host, conn.info.port, conn.info.backend_pid)
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None and now - cached[0] < self.refresh_s:
            return cached[1]
        row = fetch_one(conn, query_for("sizes", version_num) or "")
        if row is None:
            raise psycopg.DataError(f"{self.name}: the query returned no row")
        snap = SizesSnapshot(**row)
        with self._lock:
            # Forget connections that have not been refreshed for a while (reconnected).
            for old in [k for k, (at, _) in self._cache.items() if now - at > 4 * self.refresh_s]:
                del self._cache[old]
            self._cache[key] = (now, snap)
        return snap

    def families(self, polls: Sequence[InstancePoll]) -> Iterable[Metric]:
        every = f"refreshed every {self.refresh_s:g} s"
        databases = gauge(
            "borealis_databases_size_bytes",
            f"On-disk size of all databases of the instance ({every}).",
        )
        wal = gauge(
            "borealis_wal_directory_bytes",
            f"Size of the WAL files in pg_wal (TransactionLogsDiskUsage; {every}).",
        )
        files = gauge("borealis_wal_directory_files", f"WAL files in pg_wal ({every}).")
        for poll in polls:
            snap: SizesSnapshot | None = poll.results.get(self.name)
            if snap is None:
                continue
            databases.add_metric(poll.labels, snap.databases_bytes)
            wal.add_metric(poll.labels, snap.wal_bytes)
            files.add_metric(poll.labels, snap.wal_files)
        yield from (databases, wal, files)
