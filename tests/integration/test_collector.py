"""The collector against a real PostgreSQL, connected as a role with only pg_monitor."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from collector.exposition import render
from collector.service import Collector
from collector.targets import Target
from core.settings import CollectorSettings, Settings
from tests.conftest import INTEGRATION_PORTS, wait_for
from tests.integration.conftest import Postgres

pytestmark = pytest.mark.integration


def sample_values(collector: Collector, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    assert collector.http is not None
    text = render(collector.http.registry).decode()
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                out[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def value_for(collector: Collector, name: str, **labels: str) -> float | None:
    for key, value in sample_values(collector, name).items():
        if all(dict(key).get(k) == v for k, v in labels.items()):
            return value
    return None


@pytest.fixture
def collector(postgres: Postgres, shared_tmp: Path) -> Iterator[Collector]:
    settings = replace(
        Settings(state_dir=shared_tmp / "collector-state"),
        collector=CollectorSettings(poll_interval_s=0.5, sample_interval_s=0.2, down_after_s=2.0),
    )
    settings = replace(settings, ports=replace(settings.ports, base=INTEGRATION_PORTS + 500))
    targets = [
        Target(
            "itest", "live-instance", postgres.monitor_dsn, resource_id="db-LIVE", az="local-1a"
        ),
        Target(
            "itest",
            "dead-instance",
            "host=127.0.0.1 port=1 user=monitor password=x dbname=postgres",
            az="local-1b",
        ),
    ]
    instance = Collector(settings, targets, events=None)
    instance.start()
    yield instance
    instance.stop()


def test_live_instance_is_up_and_dead_one_is_down(collector: Collector) -> None:
    wait_for(lambda: value_for(collector, "borealis_up", db_instance="live-instance") == 1, 10)
    assert value_for(collector, "borealis_up", db_instance="dead-instance") == 0
    assert value_for(collector, "borealis_instance_is_writer", db_instance="live-instance") == 1
    # A dead instance shows only that it is down, no stale values.
    assert value_for(collector, "borealis_xact_commits_total", db_instance="dead-instance") is None
    assert value_for(collector, "borealis_xact_commits_total", db_instance="live-instance")
    # Each source reports its own health, and they all succeed with only pg_monitor.
    health = sample_values(collector, "borealis_source_success")
    live = {
        dict(k)["source"]: v for k, v in health.items() if dict(k)["db_instance"] == "live-instance"
    }
    assert live == {
        "instance": 1,
        "database": 1,
        "wal": 1,
        "activity": 1,
        "replication": 1,
        "quorum": 1,
        "sizes": 1,
        "process": 1,
        "host": 1,
    }


def test_commits_and_reads_are_counted(collector: Collector, postgres: Postgres) -> None:
    wait_for(
        lambda: value_for(collector, "borealis_xact_commits_total", db_instance="live-instance"), 10
    )
    before = value_for(collector, "borealis_xact_commits_total", db_instance="live-instance") or 0
    with postgres.connect() as conn:
        for _ in range(50):
            conn.execute("select 1")
    wait_for(
        lambda: (
            (value_for(collector, "borealis_xact_commits_total", db_instance="live-instance") or 0)
            >= before + 50
        ),
        10,
        what="50 more commits",
    )


def test_db_load_counts_sleeping_sessions_by_wait_event(
    collector: Collector, postgres: Postgres
) -> None:
    """Three sessions in pg_sleep for 4 s add about 12 active-session-seconds of Timeout:PgSleep."""

    def load() -> float:
        return (
            value_for(
                collector,
                "borealis_db_load_seconds_total",
                db_instance="live-instance",
                wait_event_type="Timeout",
                wait_event="PgSleep",
            )
            or 0.0
        )

    wait_for(lambda: value_for(collector, "borealis_up", db_instance="live-instance") == 1, 10)
    before = load()

    def sleeper() -> None:
        with psycopg.connect(postgres.dsn(), autocommit=True, application_name="sleeper") as conn:
            conn.execute("select pg_sleep(4)")

    threads = [threading.Thread(target=sleeper) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wait_for(lambda: load() - before >= 10.0, 10, what="3 x 4 s of pg_sleep load counted")
    added = load() - before
    assert 10.0 <= added <= 13.5, added


def test_a_hung_instance_goes_down_and_comes_back(collector: Collector, postgres: Postgres) -> None:
    wait_for(lambda: value_for(collector, "borealis_up", db_instance="live-instance") == 1, 10)
    postgres.signal_all(signal.SIGSTOP)
    try:
        # Reported down within the 2 s budget (plus one poll of slack), not after a TCP timeout.
        wait_for(lambda: value_for(collector, "borealis_up", db_instance="live-instance") == 0, 3.5)
        # Scrapes still answer while the instance is hung: they never wait on it.
        scrape = threading.Thread(target=sample_values, args=(collector, "borealis_up"))
        scrape.start()
        scrape.join(timeout=5)
        assert not scrape.is_alive()
    finally:
        postgres.signal_all(signal.SIGCONT)
    wait_for(lambda: value_for(collector, "borealis_up", db_instance="live-instance") == 1, 15)


def test_an_instance_going_down_speeds_up_its_cluster_s_polls(
    postgres: Postgres, shared_tmp: Path
) -> None:
    """While one instance of a cluster fails, the others are polled every 0.2 s (not every
    1 s), so a failover's new writer shows within a fraction of a second."""
    with postgres.connect() as conn:
        conn.execute("drop role if exists doomed")
        conn.execute("create role doomed login password 'doomed'")
        conn.execute("grant pg_monitor to doomed")
    settings = replace(
        Settings(state_dir=shared_tmp / "alert-state"),
        collector=CollectorSettings(poll_interval_s=1.0, sample_interval_s=1.0),
    )
    settings = replace(settings, ports=replace(settings.ports, base=INTEGRATION_PORTS + 600))
    doomed_dsn = postgres.monitor_dsn.replace("user=monitor", "user=doomed").replace(
        "password=integration-monitor", "password=doomed"
    )
    targets = [
        Target("alert", "steady", postgres.monitor_dsn),
        Target("alert", "doomed", doomed_dsn),
    ]
    collector = Collector(settings, targets, events=None)
    collector.start()
    try:
        for name in ("steady", "doomed"):
            wait_for(lambda name=name: value_for(collector, "borealis_up", db_instance=name), 10)
        before = value_for(collector, "borealis_polls_total", db_instance="steady") or 0
        with postgres.connect() as conn:
            conn.execute("alter role doomed nologin")
            conn.execute(
                "select pg_terminate_backend(pid) from pg_stat_activity where usename = 'doomed'"
            )
        wait_for(lambda: value_for(collector, "borealis_up", db_instance="doomed") == 0, 10)
        # At the normal 1 s cadence this takes about 8 s; alerted, under 2.
        wait_for(
            lambda: (
                (value_for(collector, "borealis_polls_total", db_instance="steady") or 0)
                >= before + 8
            ),
            4,
            what="fast polls of the rest of the cluster",
        )
    finally:
        collector.stop()
        with postgres.connect() as conn:
            conn.execute("alter role doomed login")
