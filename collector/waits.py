"""Sharper wait attribution from pg_wait_sampling's profile (wait counts per process, sampled
every 10 ms inside the server).

pg_stat_activity says which wait a session is in at the instant of a sample; the profile
says how many 10 ms ticks each process spent in each wait. Between two reads of the profile,
a session seen active keeps its weight (so DB load is the same either way), but the weight
is split across the waits its process went through while its statement ran, and the ticks
in which it was not waiting are CPU (pg_wait_sampling 1.1 does not sample CPU; newer versions
report it with a null event, which counts as CPU too). Idle waits (Activity, Client:ClientRead)
are left out. How many ticks the window held is what the busiest process saw: a process that
waited throughout (the checkpointer, an idle connection) was counted at every tick.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from collector.pi_catalog import CPU

IDLE_TYPES = frozenset({"Activity"})
IDLE_EVENTS = frozenset({("Client", "ClientRead")})

WaitKey = tuple[int, str | None, str | None]  # pid, event type, event


@dataclass(frozen=True)
class ProfileRead:
    at: float  # server clock, epoch seconds
    counts: Mapping[WaitKey, int]

    @classmethod
    def from_rows(
        cls, rows: Sequence[tuple[int, str | None, str | None, int, float]]
    ) -> ProfileRead:
        counts = {(pid, t, e): int(n) for pid, t, e, n, _ in rows if pid}
        return cls(max((r[4] for r in rows), default=0.0), counts)


@dataclass(frozen=True)
class ProfileDelta:
    since: float
    until: float
    ticks: int  # ticks in the window
    by_pid: Mapping[int, Mapping[tuple[str | None, str | None], int]]

    @classmethod
    def between(cls, before: ProfileRead, after: ProfileRead) -> ProfileDelta:
        by_pid: dict[int, dict[tuple[str | None, str | None], int]] = {}
        for (pid, event_type, event), count in after.counts.items():
            delta = count - before.counts.get((pid, event_type, event), 0)
            if delta > 0:
                by_pid.setdefault(pid, {})[(event_type, event)] = delta
        ticks = max((sum(events.values()) for events in by_pid.values()), default=0)
        return cls(before.at, after.at, ticks, by_pid)


def split_waits(
    delta: ProfileDelta, pid: int, statement_start: float
) -> list[tuple[str, str, float]] | None:
    """Shares of (wait type, wait event) for `pid`'s statement over the window, or None when
    the profile says nothing about it (then the pg_stat_activity wait stands)."""
    window = delta.until - delta.since
    if delta.ticks <= 0 or window <= 0:
        return None
    active = min(1.0, max(0.0, (delta.until - max(delta.since, statement_start)) / window))
    counts: dict[tuple[str, str], float] = {}
    waited = 0
    for (event_type, event), n in delta.by_pid.get(pid, {}).items():
        if event_type is None or event is None:
            key = (CPU, CPU)
        elif event_type in IDLE_TYPES or (event_type, event) in IDLE_EVENTS:
            continue
        else:
            key = (event_type, event)
        counts[key] = counts.get(key, 0.0) + n
        waited += n
    on_cpu = delta.ticks * active - waited
    if on_cpu > 0:
        counts[(CPU, CPU)] = counts.get((CPU, CPU), 0.0) + on_cpu
    total = sum(counts.values())
    if total <= 0:
        return None
    return [(t, e, n / total) for (t, e), n in sorted(counts.items())]
