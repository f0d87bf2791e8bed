"""From one round trip's pg_stat_activity rows to samples: ticks, the query id a session
caught while parsing borrows from its other rows, and each sample's weight."""

from __future__ import annotations

from typing import Any

import pytest

from collector.activity import Names, SampleBuilder, ticks_of
from collector.digest import DigestBook, StatementBook
from collector.targets import Target

TARGET = Target("c", "i-1", "host=127.0.0.1", resource_id="db-TEST")


def row(
    tick: int,
    at: float,
    *,
    pid: int | None = 10,
    query_id: int | None = None,
    start: float = 5.0,
    text: str | None = "select * from t where id = 1",
    wait: tuple[str | None, str | None] = (None, None),
) -> tuple[Any, ...]:
    """Columns as in active_sessions.sql."""
    if pid is None:  # a tick with no active session
        return (tick, at, None, None, None, None, None, None, None, 0, 0, None, None, None)
    return (tick, at, pid, 1.0, *wait, query_id, start, "app", 0, 0, "", "client", text)


def builder(interval: float = 0.1) -> SampleBuilder:
    return SampleBuilder(TARGET, interval, StatementBook(DigestBook(), literals=False), Names())


def test_rows_group_by_tick_and_an_empty_tick_still_has_a_time() -> None:
    ticks, at = ticks_of([row(1, 100.0), row(1, 100.0, pid=11), row(2, 100.1, pid=None)])
    assert at == {1: 100.0, 2: 100.1}
    assert [r[2] for r in ticks[1]] == [10, 11]
    assert 2 not in ticks


def test_a_session_caught_while_parsing_borrows_its_statements_query_id() -> None:
    rows = [
        row(1, 100.0, query_id=None),
        row(2, 100.1, query_id=42, text=None),
        # the session's next statement, not yet with its query id
        row(3, 100.2, query_id=None, start=9.0, text="update u set n = 2"),
    ]
    ticks, _ = ticks_of(rows)
    assert ticks[1][0][6] == 42
    assert ticks[3][0][6] is None
    build = builder()
    samples = build.samples(rows, received=1000.0)
    assert [s.sessions[0].digest_id for s in samples[:2]] == ["42", "42"]
    assert samples[2].sessions[0].digest_id.startswith("pi-")
    # the first statement again, caught parsing in a later round trip with no row to borrow
    # from: its text is known under query id 42, so it is not a second digest
    (again,) = build.samples([row(1, 200.0, start=20.0)], received=1001.0)
    assert again.sessions[0].digest_id == "42"


def test_each_sample_weighs_the_server_time_since_the_previous_one() -> None:
    build = builder(interval=0.1)
    first = build.samples([row(1, 100.0), row(2, 100.1), row(3, 100.2)], received=1000.0)
    assert [s.weight for s in first] == pytest.approx([0.1, 0.1, 0.1])
    assert [s.wall_time for s in first] == pytest.approx([999.8, 999.9, 1000.0])
    assert [s.server_time for s in first] == [100.0, 100.1, 100.2]
    # a slow round trip missed ticks: covered, but never more than two intervals
    later = build.samples([row(1, 100.35), row(2, 101.5)], received=1002.0)
    assert [s.weight for s in later] == pytest.approx([0.15, 0.2])
    build.restart()  # a new connection: no predecessor
    assert build.samples([row(1, 50.0)], received=1003.0)[0].weight == pytest.approx(0.1)


def test_a_stall_backwards_in_server_time_weighs_nothing() -> None:
    build = builder(interval=1.0)
    build.samples([row(1, 100.0)], received=1.0)
    assert build.samples([row(1, 99.0)], received=2.0)[0].weight == 0.0


def test_a_session_in_the_same_state_is_the_same_object_until_forgotten() -> None:
    build = builder()
    a, b = build.samples([row(1, 100.0), row(2, 100.1, text=None)], received=1.0)
    assert a.sessions[0] is b.sessions[0]
    build.forget_sessions()
    (c,) = build.samples([row(1, 100.2, text=None)], received=2.0)
    assert c.sessions[0] == a.sessions[0]
    assert c.sessions[0] is not a.sessions[0]


def test_no_rows_no_samples() -> None:
    assert builder().samples([], received=1.0) == []
