"""Wait attribution from pg_wait_sampling's profile and the capped per-dimension counters."""

from __future__ import annotations

import pytest

from collector.activity import ActiveSession, Sample, attribute
from collector.db_load import LoadAccumulator
from collector.digest import DigestBook, StatementBook
from collector.sampler import hot_query
from collector.targets import Target
from collector.topk import CappedCounters
from collector.waits import ProfileDelta, ProfileRead, split_waits

TARGET = Target("c", "i-1", "host=127.0.0.1", resource_id="db-TEST")
CHECKPOINTER = 999


def delta(waits: dict[int, dict[tuple[str, str], int]], ticks: int = 100) -> ProfileDelta:
    """Two profile reads one second apart; the checkpointer waited at every tick."""
    before = ProfileRead.from_rows(
        [
            (CHECKPOINTER, "Activity", "CheckpointerMain", 1000, 100.0),
            (7, "IO", "DataFileRead", 5, 100.0),
        ]
    )
    rows = [(CHECKPOINTER, "Activity", "CheckpointerMain", 1000 + ticks, 101.0)]
    for pid, events in waits.items():
        for (event_type, event), n in events.items():
            base = 5 if (pid, event_type, event) == (7, "IO", "DataFileRead") else 0
            rows.append((pid, event_type, event, base + n, 101.0))
    return ProfileDelta.between(before, ProfileRead.from_rows(rows))


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


def test_ticks_a_session_did_not_wait_are_cpu() -> None:
    shares = split_waits(delta({7: {("IO", "DataFileRead"): 30}}), 7, statement_start=0.0)
    assert shares == [
        ("CPU", "CPU", pytest.approx(0.7)),
        ("IO", "DataFileRead", pytest.approx(0.3)),
    ]


def test_idle_ticks_and_time_before_the_statement_are_left_out() -> None:
    # Idle (ClientRead) for the first half, then a lock wait until the end: all of it is the lock.
    d = delta({7: {("Client", "ClientRead"): 50, ("Lock", "transactionid"): 50}})
    assert split_waits(d, 7, statement_start=100.5) == [("Lock", "transactionid", 1.0)]
    # A statement that began half-way and never waited was on CPU for its half.
    assert split_waits(delta({}), 7, statement_start=100.5) == [("CPU", "CPU", 1.0)]


def test_without_profile_ticks_the_activity_wait_stands() -> None:
    empty = ProfileDelta.between(ProfileRead(100.0, {}), ProfileRead(101.0, {}))
    assert split_waits(empty, 7, statement_start=0.0) is None


def test_a_sample_keeps_its_weight_split_across_waits() -> None:
    d = delta({7: {("Lock", "tuple"): 25}})
    sample = Sample(TARGET, 1000.0, 1.0, (session(wait=("Lock", "tuple")), session(pid=8)), 101.0)
    out = attribute(sample, d)
    by_wait = {(s.pid, s.wait_event): s.share for s in out.sessions}
    assert by_wait == {(7, "tuple"): 0.25, (7, "CPU"): 0.75, (8, "CPU"): 1.0}
    load = LoadAccumulator()
    load.add(out)
    by_wait_load, samples, seconds = load.snapshot()
    assert by_wait_load == {("Lock", "tuple"): 0.25, ("CPU", "CPU"): 1.75}
    assert (samples, seconds) == (1, 1.0)


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


def test_the_hot_query_reads_query_id_only_where_the_server_has_it() -> None:
    """pg_stat_get_activity has query_id from PostgreSQL 14: a PostgreSQL 13 target gets a
    null digest id (the text is digested instead) rather than an error on every sample."""
    pg13, pg15 = hot_query(130000).as_string(None), hot_query(150000).as_string(None)
    assert "null::int8 as query_id" in pg13 and "s.query_id" not in pg13
    assert "s.query_id as query_id" in pg15
    for text in (pg13, pg15):
        assert "borealis-collector" in text
        assert "{own_applications}" not in text and "{query_id}" not in text


def test_a_statement_caught_before_its_query_id_keeps_one_digest() -> None:
    """A session sampled while its statement is parsed has no query id yet: once that
    statement (or its text) is known by query id, it is that digest, not a second one."""
    digests = DigestBook()
    book = StatementBook(digests, literals=False)
    text = "select name from items where id = 7"
    # Seen with its query id first: a later execution caught early joins that digest.
    assert book.statement(101, 1.0, 42, text).digest_id == "42"
    assert book.statement(102, 2.0, None, "select name from items where id = 8").digest_id == "42"
    # Seen early first (a synthetic id), then with its query id: it moves to the query id.
    early = book.statement(103, 3.0, None, "select 1 + 1")
    assert early.digest_id.startswith("pi-")
    assert book.statement(103, 3.0, 77, None).digest_id == "77"
    assert book.statement(103, 3.0, None, None).digest_id == "77"
    # Texts learnt from pg_stat_statements count as known by query id too.
    digests.learn({"99": "select ? from t"})
    assert book.statement(104, 4.0, None, "select 5 from t").digest_id == "99"
