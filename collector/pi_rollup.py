"""Coarser copies of the PI store's per-second load and coverage, per minute and per hour, so
that a query over days reads thousands of rows rather than millions (bench.ui: a 7-day
GetResourceMetrics over one writer's per-second rows took 2.6 s, its DescribeDimensionKeys
3.9 s). They are written in the same transaction as the seconds and pruned with them; a store
written before they existed is rolled up once when it is opened.

A query uses the coarsest grain whose buckets fall whole inside its range and its period
(the PI API aligns both to the period), else the seconds.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

GRAINS = (3600, 60)  # coarsest first
SECONDS = ("load", "coverage")


def schema() -> str:
    return "\n".join(
        f"create table if not exists load_{g} (res integer not null, ts integer not null, "
        "dim integer not null, seconds real not null, primary key (res, ts, dim)) "
        f"without rowid;\ncreate table if not exists coverage_{g} (res integer not null, "
        "ts integer not null, seconds real not null, primary key (res, ts)) without rowid;"
        for g in GRAINS
    )


def tables(start: int, end: int, period: int | None) -> tuple[str, str]:
    """(load table, coverage table) that hold [start, end) in whole buckets of `period`."""
    for grain in GRAINS:
        if start % grain == 0 and end % grain == 0 and (period is None or period % grain == 0):
            return f"load_{grain}", f"coverage_{grain}"
    return SECONDS


def add(
    db: sqlite3.Connection,
    load: Sequence[tuple[int, int, int, float]],
    coverage: Sequence[tuple[int, int, float]],
) -> None:
    """Add (res, second, dim, seconds) load rows and (res, second, seconds) coverage rows,
    just written per second, to every grain."""
    for grain in GRAINS:
        db.executemany(
            f"insert into load_{grain} (res, ts, dim, seconds) values (?, ?, ?, ?) "
            "on conflict do update set seconds = seconds + excluded.seconds",
            [(res, ts // grain * grain, dim, seconds) for res, ts, dim, seconds in load],
        )
        db.executemany(
            f"insert into coverage_{grain} (res, ts, seconds) values (?, ?, ?) "
            "on conflict do update set seconds = seconds + excluded.seconds",
            [(res, ts // grain * grain, seconds) for res, ts, seconds in coverage],
        )


def rebuild(db: sqlite3.Connection) -> None:
    """Every grain again from the seconds (a store written before the rollups, or a bulk
    load written straight into the seconds)."""
    for grain in GRAINS:
        db.execute(f"delete from load_{grain}")
        db.execute(
            f"insert into load_{grain} (res, ts, dim, seconds) "
            f"select res, (ts / {grain}) * {grain}, dim, sum(seconds) from load group by 1, 2, 3"
        )
        db.execute(f"delete from coverage_{grain}")
        db.execute(
            f"insert into coverage_{grain} (res, ts, seconds) "
            f"select res, (ts / {grain}) * {grain}, sum(seconds) from coverage group by 1, 2"
        )


def missing(db: sqlite3.Connection) -> bool:
    """Whether the seconds hold rows the rollups do not (a store from before them)."""
    has_seconds = db.execute("select exists (select 1 from load)").fetchone()[0]
    has_rollup = db.execute(f"select exists (select 1 from load_{GRAINS[-1]})").fetchone()[0]
    return bool(has_seconds) and not has_rollup


def prune(db: sqlite3.Connection, cutoff: int) -> None:
    """Drop the buckets wholly older than `cutoff` (a bucket across it keeps its older
    seconds until it has passed: a little longer than the retention, never less)."""
    for grain in GRAINS:
        for table in (f"load_{grain}", f"coverage_{grain}"):
            db.execute(f"delete from {table} where ts + {grain} <= ?", (cutoff,))
