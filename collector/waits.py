"""Sharper wait attribution from pg_wait_sampling's history (a 10 ms ring inside the server).

pg_stat_activity says which wait a session is in at the instant of a sample; the history says
what it waited on every 10 ms before that. A session seen active at a sample keeps its weight
(so DB load is the same either way), but the weight is split across the waits the history
saw for that session since its statement started (within the sample's window). Ticks with no
row for the session are CPU (pg_wait_sampling 1.1 does not sample CPU; newer versions report
it with a null event, which counts as CPU as well). Idle ticks (Activity, Client:ClientRead)
are left out. With no ticks in the window the pg_stat_activity wait stands.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

from collector.pi_catalog import CPU

IDLE_TYPES = frozenset({"Activity"})
IDLE_EVENTS = frozenset({("Client", "ClientRead")})


@dataclass(frozen=True)
class History:
    """One read of the history: every tick in it and the rows of the sessions of interest."""

    ticks: tuple[float, ...]  # sorted, epoch seconds (server clock)
    rows: dict[int, tuple[tuple[float, str | None, str | None], ...]]  # pid -> sorted rows

    @classmethod
    def from_rows(cls, rows: Sequence[tuple[int | None, float, str | None, str | None]]) -> History:
        ticks: list[float] = []
        by_pid: dict[int, list[tuple[float, str | None, str | None]]] = {}
        for pid, ts, event_type, event in rows:
            if pid is None:
                ticks.append(ts)
            else:
                by_pid.setdefault(pid, []).append((ts, event_type, event))
        ticks.sort()
        return cls(tuple(ticks), {pid: tuple(sorted(r)) for pid, r in by_pid.items()})

    @property
    def last_tick(self) -> float | None:
        return self.ticks[-1] if self.ticks else None


def split_waits(
    history: History, pid: int, since: float, until: float
) -> list[tuple[str, str, float]] | None:
    """Shares of (wait type, wait event) for `pid` over the window (since, until]."""
    lo = bisect.bisect_right(history.ticks, since)
    hi = bisect.bisect_right(history.ticks, until)
    ticks = hi - lo
    if ticks <= 0:
        return None
    rows = history.rows.get(pid, ())
    counts: dict[tuple[str, str], int] = {}
    seen = 0
    for ts, event_type, event in rows:
        if ts <= since or ts > until:
            continue
        seen += 1
        if event_type is None or event is None:
            key = (CPU, CPU)
        elif event_type in IDLE_TYPES or (event_type, event) in IDLE_EVENTS:
            continue
        else:
            key = (event_type, event)
        counts[key] = counts.get(key, 0) + 1
    on_cpu = ticks - seen
    if on_cpu > 0:
        counts[(CPU, CPU)] = counts.get((CPU, CPU), 0) + on_cpu
    total = sum(counts.values())
    if total == 0:
        return None
    return [(t, e, n / total) for (t, e), n in sorted(counts.items())]
