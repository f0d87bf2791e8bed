"""The PI sample store: aggregation per second, retention, and the settings behind it."""

from __future__ import annotations

from pathlib import Path

import pytest

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
