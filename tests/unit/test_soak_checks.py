"""The soak's verdicts: the per-process RSS slope, events and alerts matched to episodes."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench.soak.checks import _matches, check_events
from bench.soak.episodes import Episode, ExpectedAlert, ExpectedEvent, Injector
from bench.soak.observe import MemorySample, SeenAlert, slope_mib_per_min
from core.events import EventStore, make_event

T0 = time.time() - 3600  # within the event store's retention, not in the future


def test_slope_is_zero_for_flat_memory_and_ignores_a_restart_drop() -> None:
    flat = [MemorySample(t, 1, 100 * 1024) for t in range(0, 600, 5)]
    assert slope_mib_per_min(flat) == 0
    # A service at 200 MiB killed and restarted at 50 MiB: the drop is no negative slope.
    restarted = [MemorySample(t, 1, 200 * 1024) for t in range(0, 300, 5)]
    restarted += [MemorySample(t, 2, 50 * 1024) for t in range(300, 600, 5)]
    assert slope_mib_per_min(restarted) == 0


def test_slope_measures_growth_in_mib_per_minute_within_each_process() -> None:
    # 1 MiB a minute in both processes, each with its own starting size.
    samples = [MemorySample(t, 1, 100 * 1024 + t * 1024 // 60) for t in range(0, 300, 5)]
    samples += [MemorySample(t, 2, 40 * 1024 + t * 1024 // 60) for t in range(300, 600, 5)]
    slope = slope_mib_per_min(samples)
    assert slope == pytest.approx(1.0, abs=0.01)
    assert slope_mib_per_min(samples[:1]) is None


def episode(**kwargs: object) -> Episode:
    values: dict[str, object] = {"kind": "stop-reader", "target": "r1", "hold_s": 10.0}
    values.update(started=T0, undone=T0 + 10, healed=T0 + 15)
    values.update(kwargs)
    return Episode(**values)  # type: ignore[arg-type]


def test_events_must_fall_in_the_episode_window_and_name_their_segment(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "events.db")
    at = datetime.fromtimestamp(T0 + 2, UTC)
    store.add(make_event("RDS-EVENT-0087", "r1", at))
    store.add(make_event("BOREALIS-EVENT-0001", "c", at, segment="seg-a", az="a", available="5"))
    late = datetime.fromtimestamp(T0 + 500, UTC)
    store.add(make_event("RDS-EVENT-0088", "r1", late))  # long after: another episode's
    ep = episode(
        events=[
            ExpectedEvent("RDS-EVENT-0087", "r1"),
            ExpectedEvent("RDS-EVENT-0088", "r1"),
            ExpectedEvent("BOREALIS-EVENT-0001", "c", "seg-a"),
            ExpectedEvent("BOREALIS-EVENT-0001", "c", "seg-b"),
        ]
    )
    missing = check_events([ep], tmp_path / "events.db")
    assert ep.events_missing == ["RDS-EVENT-0088(r1)", "BOREALIS-EVENT-0001(seg-b)"]
    assert len(missing) == 2
    assert missing[0].startswith("episode 1 stop-reader r1: no RDS-EVENT-0088")


def test_an_alert_counts_when_held_between_the_fault_and_the_grace_after_healing() -> None:
    expected = ExpectedAlert("BorealisInstanceDown", (("dimension_DBInstanceIdentifier", "r1"),))
    ep = episode()
    labels = {"alertname": "BorealisInstanceDown", "dimension_DBInstanceIdentifier": "r1"}

    def seen(first: float, last: float, **other: str) -> SeenAlert:
        return SeenAlert("BorealisInstanceDown", {**labels, **other}, first, last)

    assert _matches(seen(T0 + 12, T0 + 20), expected, ep, grace=30)
    assert _matches(seen(T0 + 40, T0 + 50), expected, ep, grace=30)  # fired late, in grace
    assert not _matches(seen(T0 + 60, T0 + 70), expected, ep, grace=30)  # after the grace
    assert not _matches(seen(T0 - 60, T0 - 10), expected, ep, grace=30)  # resolved before
    other = seen(T0 + 12, T0 + 20, dimension_DBInstanceIdentifier="r2")
    assert not _matches(other, expected, ep, grace=30)


def test_the_deck_deals_every_kind_before_repeating_one_and_a_seed_replays_it() -> None:
    kinds = ("a", "b", "c", "d")
    first = Injector(None, random.Random(7), (1, 2))  # type: ignore[arg-type]
    dealt = [first.next_kind(kinds) for _ in range(8)]
    assert sorted(dealt[:4]) == sorted(dealt[4:]) == sorted(kinds)
    again = Injector(None, random.Random(7), (1, 2))  # type: ignore[arg-type]
    assert [again.next_kind(kinds) for _ in range(8)] == dealt


def test_the_steady_slope_leaves_out_each_processes_warm_up() -> None:
    # Grows 5 MiB in its first minute (caches), flat after: a leak-free process.
    samples = [MemorySample(t, 1, (100 + min(t, 60) // 12) * 1024) for t in range(0, 600, 5)]
    assert slope_mib_per_min(samples) > 0.1
    assert slope_mib_per_min(samples, skip_s=120) == 0
