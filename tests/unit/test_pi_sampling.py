"""Wait attribution from pg_wait_sampling's history and the capped per-dimension counters."""

from __future__ import annotations

import pytest

from collector.sampler import ActiveSession, LoadAccumulator, Sample, attribute
from collector.targets import Target
from collector.topk import CappedCounters
from collector.waits import History, split_waits

TARGET = Target("c", "i-1", "host=127.0.0.1", resource_id="db-TEST")


def history(pid: int, events: list[tuple[str, str] | None], start: float = 100.0) -> History:
    """One tick every 10 ms from `start`; None = no row for the pid (on CPU)."""
    rows: list[tuple[int | None, float, str | None, str | None]] = []
    for i, event in enumerate(events):
        ts = start + 0.01 * (i + 1)
        rows.append((None, ts, None, None))
        rows.append((999, ts, "Activity", "CheckpointerMain"))  # another process
        if event is not None:
            rows.append((pid, ts, event[0], event[1]))
    return History.from_rows(rows)


def session(
    pid: int = 7, wait: tuple[str, str] = ("CPU", "CPU"), start: float = 0.0
) -> ActiveSession:
    return ActiveSession(
        pid=pid,
        user="app",
        database="app",
        application="web",
        host="10.0.0.1",
        session_type="client backend",
        wait_event_type=wait[0],
        wait_event=wait[1],
        query_id=42,
        query="",
        digest_id="42",
        sql_id="42",
        query_start=start,
    )


def test_ticks_without_a_row_are_cpu_and_waits_keep_their_share() -> None:
    h = history(7, [("IO", "DataFileRead")] * 30 + [None] * 70)
    shares = split_waits(h, 7, 100.0, 101.0)
    assert shares == [
        ("CPU", "CPU", pytest.approx(0.7)),
        ("IO", "DataFileRead", pytest.approx(0.3)),
    ]


def test_idle_ticks_are_left_out() -> None:
    # Idle (ClientRead) before the statement, then a lock wait: all of the load is the lock.
    h = history(7, [("Client", "ClientRead")] * 50 + [("Lock", "transactionid")] * 50)
    assert split_waits(h, 7, 100.0, 101.0) == [("Lock", "transactionid", 1.0)]


def test_only_the_window_counts_and_an_empty_window_falls_back() -> None:
    h = history(7, [("Timeout", "PgSleep")] * 50 + [None] * 50)
    assert split_waits(h, 7, 100.5, 101.0) == [("CPU", "CPU", 1.0)]
    assert split_waits(h, 7, 101.5, 102.0) is None


def test_a_sample_keeps_its_weight_split_across_waits() -> None:
    h = history(7, [("Lock", "tuple")] * 25 + [None] * 75)
    sample = Sample(TARGET, 1000.0, 1.0, (session(wait=("Lock", "tuple")), session(pid=8)), 101.0)
    out = attribute(sample, 100.0, h)
    by_wait = {(s.pid, s.wait_event): s.share for s in out.sessions}
    assert by_wait == {(7, "tuple"): 0.25, (7, "CPU"): 0.75, (8, "CPU"): 1.0}
    load = LoadAccumulator()
    load.add(out)
    by_wait_load, samples, seconds = load.snapshot()
    assert by_wait_load == {("Lock", "tuple"): 0.25, ("CPU", "CPU"): 1.75}
    assert (samples, seconds) == (1, 1.0)


def test_a_statement_that_started_inside_the_window_is_judged_on_its_own_ticks() -> None:
    # Idle-in-transaction ClientRead is excluded anyway; here the earlier ticks were another
    # statement's IO, which must not be blamed on the current one.
    h = history(7, [("IO", "DataFileRead")] * 50 + [None] * 50)
    sample = Sample(TARGET, 1000.0, 1.0, (session(start=100.5),), 101.0)
    assert [(s.wait_event, s.share) for s in attribute(sample, 100.0, h).sessions] == [("CPU", 1.0)]


def test_capped_counters_keep_n_series_and_count_the_rest_as_other() -> None:
    counters = CappedCounters(2, rebalance_s=60)
    for key in ("a", "b", "c", "d"):
        counters.add(key, 1.0, now=0.0)
    totals, other = counters.snapshot()
    assert totals == {"a": 1.0, "b": 1.0}
    assert other == 2.0


def test_a_new_heavy_key_takes_a_slot_at_the_next_rebalance() -> None:
    counters = CappedCounters(2, rebalance_s=60, half_life_s=60)
    counters.add("a", 1.0, now=0.0)
    counters.add("b", 1.0, now=0.0)
    history_of_other = []
    for t in range(1, 62):
        counters.add("heavy", 5.0, now=float(t))
        history_of_other.append(counters.snapshot()[1])
    totals, other = counters.snapshot()
    assert "heavy" in totals
    assert len(totals) == 2
    # Every series only ever grows: "other" kept what it had.
    assert history_of_other == sorted(history_of_other)
    assert other == history_of_other[-2]
