"""The PI sample store: aggregation per second, retention, and the settings behind it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from collector import pi_rollup
from collector.activity import ActiveSession, Sample
from collector.pi_store import PiStore
from collector.targets import Target
from core.errors import ConfigError
from core.settings import load_settings

TARGET = Target("c", "i-1", "host=127.0.0.1", resource_id="db-STORE")
DAY = 86400


class Book:
    def text(self, key: str) -> str:
        return {"1": "select ?", "2": "select pg_sleep(?)"}.get(key, "")


def sample(at: float, digest: str, weight: float = 0.1) -> Sample:
    session = ActiveSession(
        pid=1,
        user="u",
        database="d",
        application="a",
        host="h",
        session_type="client backend",
        wait_event_type="CPU",
        wait_event="CPU",
        query_id=int(digest),
        query="",
        digest_id=digest,
        sql_id=digest,
    )
    return Sample(TARGET, at, weight, (session,))


def test_ten_samples_a_second_make_one_row_and_one_second_of_coverage(tmp_path: Path) -> None:
    store = PiStore(tmp_path / "pi.db", retention_days=7)
    for i in range(10):
        store.add_sample(sample(1000.05 + i / 10, "1"), Book())
    store.flush()
    assert store.load_rows("db-STORE", 1000, 1001, ["digest_id"], []) == [("1", pytest.approx(1.0))]
    assert store.coverage("db-STORE", 1000, 1001, 1) == {1000: pytest.approx(1.0)}
    assert store.digest_texts(["1"]) == {"1": "select ?"}


def test_rows_older_than_the_retention_are_pruned(tmp_path: Path) -> None:
    store = PiStore(tmp_path / "pi.db", retention_days=1)
    now = 10 * DAY
    store.add_sample(sample(now - 2 * DAY, "2", 1.0), Book())
    store.add_sample(sample(now - 10, "1", 1.0), Book())
    store.flush()
    store.prune(now)
    assert store.load_rows("db-STORE", 0, now, ["digest_id"], []) == [("1", 1.0)]
    assert store.coverage("db-STORE", 0, now, 60) == {now - 60: 1.0}
    assert store.digest_texts(["1", "2"]) == {"1": "select ?"}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"BOREALIS_COLLECTOR__RETENTION_DAYS": "0"}, "retention_days"),
        ({"BOREALIS_COLLECTOR__MAX_DIGESTS": "0"}, "max_digests"),
        ({"BOREALIS_COLLECTOR__SAMPLE_INTERVAL_S": "0.05"}, "100 ms"),
        ({"BOREALIS_COLLECTOR__SQL_LITERALS": "maybe"}, "true or false"),
    ],
)
def test_bad_pi_settings_are_refused(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(environ=env)


def test_pi_settings_have_safe_defaults() -> None:
    cfg = load_settings(environ={}).collector
    assert (cfg.sql_literals, cfg.wait_sampling, cfg.retention_days, cfg.max_digests) == (
        False,
        True,
        7.0,
        50,
    )
    assert load_settings(environ={"BOREALIS_COLLECTOR__SQL_LITERALS": "on"}).collector.sql_literals


def _spread(store: PiStore, start: int) -> None:
    """Samples at uneven seconds over two hours and a bit, two digests."""
    for i, second in enumerate(range(start + 7, start + 2 * 3600 + 400, 37)):
        store.add_sample(sample(second + 0.2, "1" if i % 3 else "2", 1.0), Book())
    store.flush()


@pytest.mark.parametrize(
    ("start", "end", "period"),
    [(0, 3 * 3600, 3600), (0, 3 * 3600, 300), (60, 7200, 60), (0, 7200, None), (5, 7205, 1)],
)
def test_rollups_answer_as_the_seconds_do(
    tmp_path: Path, start: int, end: int, period: int | None
) -> None:
    """Minute and hour rollups give what the per-second rows give, for ranges they serve
    (aligned) and for those they do not (read from the seconds)."""
    base = 100 * DAY
    store = PiStore(tmp_path / "pi.db", retention_days=365)
    _spread(store, base)
    rows = store.load_rows("db-STORE", base + start, base + end, ["digest_id"], [], period=period)
    with sqlite3.connect(tmp_path / "pi.db") as db:
        expected = db.execute(
            "select "
            + (f"(ts / {period}) * {period}, " if period else "")
            + "digest_id, sum(seconds) from load l join dims d on d.id = l.dim "
            "where ts >= ? and ts < ? group by " + ("1, 2" if period else "1"),
            (base + start, base + end),
        ).fetchall()
        covered = dict(
            db.execute(
                f"select (ts / {period or 1}) * {period or 1}, sum(seconds) from coverage "
                "where ts >= ? and ts < ? group by 1",
                (base + start, base + end),
            ).fetchall()
        )
    assert sorted(rows) == sorted(expected) and rows
    assert store.coverage("db-STORE", base + start, base + end, period or 1) == covered


def test_a_store_from_before_the_rollups_is_rolled_up_when_opened(tmp_path: Path) -> None:
    base = 100 * DAY
    _spread(PiStore(tmp_path / "pi.db", retention_days=365), base)
    with sqlite3.connect(tmp_path / "pi.db") as db:
        for grain in pi_rollup.GRAINS:
            db.execute(f"delete from load_{grain}")
            db.execute(f"delete from coverage_{grain}")
    reopened = PiStore(tmp_path / "pi.db", retention_days=365)
    week = reopened.load_rows("db-STORE", base, base + 3 * 3600, ["digest_id"], [], period=3600)
    seconds = reopened.load_rows("db-STORE", base + 1, base + 3 * 3600, ["digest_id"], [])
    assert pi_rollup.tables(base, base + 3 * 3600, 3600) == ("load_3600", "coverage_3600")
    assert sum(s for *_, s in week) == sum(s for *_, s in seconds) > 0


def test_pruning_drops_only_buckets_wholly_past_the_retention(tmp_path: Path) -> None:
    store = PiStore(tmp_path / "pi.db", retention_days=1)
    now = 10 * DAY + 1800  # half past the hour: that hour's bucket straddles the cutoff
    store.add_sample(sample(now - DAY - 3600, "2", 1.0), Book())  # wholly past
    store.add_sample(sample(now - 60, "1", 1.0), Book())
    store.flush()
    store.prune(now)
    hours = store.load_rows("db-STORE", 0, 11 * DAY, ["digest_id"], [], period=3600)
    assert [(digest, seconds) for _, digest, seconds in hours] == [("1", 1.0)]
