"""Performance Insights against a real PostgreSQL, as the `monitor` role (only pg_monitor),
read the way users read it: through boto3's `pi` client and /metrics."""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import boto3
import psycopg
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from collector.sampler import SessionSampler
from collector.service import Collector
from collector.targets import Target
from core.settings import CollectorSettings, Settings
from tests.conftest import INTEGRATION_PORTS, wait_for
from tests.integration.conftest import Postgres

pytestmark = pytest.mark.integration

RID = "db-PITESTINSTANCE"
Factory = Callable[..., Collector]


@pytest.fixture
def make_collector(postgres: Postgres, shared_tmp: Path) -> Iterator[Factory]:
    started: list[Collector] = []

    def make(name: str, *, dbname: str = "postgres", **collector: Any) -> Collector:
        # Ports from +600 in blocks of 100 (the plain collector tests use +500).
        port_base = INTEGRATION_PORTS + 600 + 100 * len(started)
        settings = Settings(
            state_dir=shared_tmp / f"pi-{name}",
            collector=CollectorSettings(poll_interval_s=0.5, **collector),
        )
        settings = replace(settings, ports=replace(settings.ports, base=port_base))
        dsn = postgres.monitor_dsn.replace("dbname=postgres", f"dbname={dbname}")
        target = Target("itest", "pi-instance", dsn, resource_id=RID, az="local-1a")
        instance = Collector(settings, [target], events=None)
        instance.start()
        started.append(instance)
        return instance

    yield make
    for instance in started:
        instance.stop()


def pi_client(collector: Collector) -> Any:
    assert collector.pi is not None
    return boto3.client(
        "pi",
        endpoint_url=collector.pi.http.url,
        region_name="us-east-1",
        aws_access_key_id="any",
        aws_secret_access_key="any",
    )


def metrics_text(collector: Collector) -> str:
    assert collector.http is not None
    return generate_latest(collector.http.registry).decode()


def samples_of(
    collector: Collector, name: str, text: str | None = None
) -> list[tuple[dict[str, str], float]]:
    return [
        (s.labels, s.value)
        for family in text_string_to_metric_families(text or metrics_text(collector))
        for s in family.samples
        if s.name == name
    ]


def load_by_wait(client: Any, start: float, end: float) -> dict[str, float]:
    """Average DB load per wait event over [start, end), from 1 s data points."""
    answer = client.get_resource_metrics(
        ServiceType="RDS",
        Identifier=RID,
        StartTime=start,
        EndTime=end,
        PeriodInSeconds=1,
        MetricQueries=[{"Metric": "db.load.avg", "GroupBy": {"Group": "db.wait_event"}}],
    )
    out = {}
    for key in answer["MetricList"]:
        name = key["Key"].get("Dimensions", {}).get("db.wait_event.name", "total")
        points = [p["Value"] for p in key["DataPoints"]]
        out[name] = sum(points) / len(points) if points else 0.0
    return out


class Workload:
    """Sessions of a known shape; every session is named, so it can be cancelled."""

    def __init__(self, postgres: Postgres) -> None:
        self.postgres = postgres
        self.threads: list[threading.Thread] = []
        self.errors: list[BaseException] = []

    def run(self, name: str, statement: str, *, user: str = "postgres") -> None:
        def body() -> None:
            try:
                with psycopg.connect(
                    self.postgres.dsn(), autocommit=True, application_name=name
                ) as conn:
                    conn.execute(statement)  # type: ignore[arg-type]
            except psycopg.errors.QueryCanceled:
                pass
            except BaseException as exc:
                self.errors.append(exc)

        thread = threading.Thread(target=body, name=name)
        thread.start()
        self.threads.append(thread)

    def stop(self, prefix: str) -> None:
        with self.postgres.connect() as conn:
            conn.execute(
                "select pg_cancel_backend(pid) from pg_stat_activity "
                "where application_name like %s",
                (prefix + "%",),
            )
        for thread in self.threads:
            thread.join(timeout=30)
        assert not self.errors, self.errors


def test_db_load_by_wait_event_is_within_ten_percent_of_the_truth(
    make_collector: Factory, postgres: Postgres
) -> None:
    """3 sessions in pg_sleep, 2 blocked on a row lock held by an idle transaction, 2 burning
    CPU: after 30 s PI says Timeout:PgSleep 3, Lock:transactionid 2, CPU 2 (±10%), both from
    pg_wait_sampling's history (sampling every 100 ms) and from pg_stat_activity alone (1 s)."""
    with postgres.connect() as conn:
        conn.execute("drop table if exists pi_lock")
        conn.execute("create table pi_lock(id int primary key, v int)")
        conn.execute("insert into pi_lock values (1, 0), (2, 0)")
    refined = make_collector("refined", sample_interval_s=0.1, wait_sampling=True)
    plain = make_collector("plain", sample_interval_s=1.0, wait_sampling=False)
    holder = psycopg.connect(postgres.dsn(), application_name="pi-work-holder")
    workload = Workload(postgres)
    try:
        # One row each, so both wait on the holder's transaction id (a second waiter for the
        # same row would queue on Lock:tuple behind the first).
        holder.execute("update pi_lock set v = v + 1")  # then idle in transaction
        for i in range(3):
            workload.run(f"pi-work-sleep-{i}", "select pg_sleep(60)")
        for i in range(2):
            workload.run(f"pi-work-blocked-{i}", f"update pi_lock set v = v + 1 where id = {i + 1}")
        for i in range(2):
            workload.run(
                f"pi-work-cpu-{i}",
                "do $$ begin while clock_timestamp() < statement_timestamp() + interval '60 s'"
                " loop perform md5(random()::text); end loop; end $$",
            )
        start = time.time() + 2.0  # every session is in its statement by then
        # The 30 s window is over and stored once each store holds load from after it (the
        # sessions run on for 60 s; stores flush in time order).
        for collector in (refined, plain):
            wait_for(
                lambda c=collector: (
                    time.time() >= start + 31
                    and load_by_wait(pi_client(c), start + 30, start + 40).get("total", 0) > 0
                ),
                60,
                what="load after the 30 s window in the store",
            )
        truth = {"Timeout:PgSleep": 3.0, "Lock:transactionid": 2.0, "CPU": 2.0, "total": 7.0}
        for collector in (refined, plain):
            measured = load_by_wait(pi_client(collector), start, start + 30)
            for name, expected in truth.items():
                assert measured.get(name, 0.0) == pytest.approx(expected, rel=0.10), (
                    collector.settings.collector.wait_sampling,
                    measured,
                )
    finally:
        holder.rollback()
        holder.close()
        workload.stop("pi-work-")
    # Which way each collector attributed waits is visible to users.
    assert samples_of(refined, "borealis_sampler_wait_sampling")[0][1] == 1
    assert samples_of(plain, "borealis_sampler_wait_sampling")[0][1] == 0
    features = [
        pi_client(c).get_resource_metadata(ServiceType="RDS", Identifier=RID)["Features"]
        for c in (refined, plain)
    ]
    assert features[0]["WAIT_SAMPLING"] == {"Status": "ENABLED"}
    assert features[1]["WAIT_SAMPLING"] == {"Status": "DISABLED"}
    assert features[0]["SQL_STATISTICS"] == {"Status": "ENABLED"}


def test_top_sql_joins_statement_statistics_and_keeps_literals_in(
    make_collector: Factory, postgres: Postgres, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with postgres.connect() as conn:
        conn.execute("drop table if exists pi_items")
        conn.execute("create table pi_items(id int primary key, name text)")
        conn.execute("insert into pi_items select g, 'item ' || g from generate_series(1, 100) g")
    collector = make_collector("topsql", sample_interval_s=0.2, stats_interval_s=1.0)
    client = pi_client(collector)
    sampler = collector.samplers[0]
    wait_for(lambda: sampler.stats.has_baseline, 10, what="the first statistics read")
    start = time.time()
    workload = Workload(postgres)
    workload.run("pi-secret", "select pg_sleep(2), 'secret-4111-1111'")
    with psycopg.connect(postgres.dsn(), autocommit=True, application_name="pi-items") as conn:
        for i in range(1, 151):
            conn.execute(f"select name, pg_sleep(0.01) from pi_items where id = {i % 100 + 1}")  # type: ignore[arg-type]
    workload.stop("pi-secret")

    def top_sql() -> dict[str, dict[str, Any]]:
        answer = client.describe_dimension_keys(
            ServiceType="RDS",
            Identifier=RID,
            StartTime=start,
            EndTime=time.time(),
            PeriodInSeconds=1,
            Metric="db.load.avg",
            GroupBy={"Group": "db.sql_tokenized"},
            AdditionalMetrics=[
                "db.sql_tokenized.stats.calls_per_sec.avg",
                "db.sql_tokenized.stats.rows_per_call.avg",
                "db.sql_tokenized.stats.avg_latency_per_call.avg",
                "db.sql_tokenized.stats.shared_blks_hit_per_call.avg",
            ],
        )
        return {k["Dimensions"]["db.sql_tokenized.statement"]: k for k in answer["Keys"]}

    items = "select name, pg_sleep(?) from pi_items where id = ?"
    try:
        keys = wait_for(
            lambda: (found := top_sql()).get(items, {}).get("AdditionalMetrics") and found,
            15,
            what="top SQL with statistics",
        )
    except AssertionError as exc:  # say what the sampler went through
        raise AssertionError(
            f"{exc}; sampler errors {sampler.errors_total}, statements error "
            f"{sampler.stats.statements_error!r}, samples {sampler.load.samples}"
        ) from exc
    stats = keys[items]["AdditionalMetrics"]
    assert stats["db.sql_tokenized.stats.rows_per_call.avg"] == pytest.approx(1.0)
    assert stats["db.sql_tokenized.stats.calls_per_sec.avg"] > 0
    assert stats["db.sql_tokenized.stats.avg_latency_per_call.avg"] >= 10.0  # pg_sleep(0.01)
    assert stats["db.sql_tokenized.stats.shared_blks_hit_per_call.avg"] >= 1.0
    assert keys[items]["Total"] > 0
    # The id is the server's query id, as pg_stat_statements knows it.
    with postgres.connect() as conn:
        query_ids = {
            str(row[0])
            for row in conn.execute(
                "select queryid from pg_stat_statements where query like %s",
                ("select name, pg_sleep%",),
            )
        }
    assert keys[items]["Dimensions"]["db.sql_tokenized.id"] in query_ids
    # Counters: rates from pg_stat_database, gauges, and this host's CPUs (a local instance).
    counters = client.get_resource_metrics(
        ServiceType="RDS",
        Identifier=RID,
        StartTime=start - 5,
        EndTime=time.time(),
        PeriodInSeconds=1,
        MetricQueries=[
            {"Metric": "db.Transactions.xact_commit.avg"},
            {"Metric": "db.User.numbackends.max"},
            {"Metric": "os.general.numVCPUs.max"},
        ],
    )["MetricList"]
    assert max(p["Value"] for p in counters[0]["DataPoints"]) > 0
    assert max(p["Value"] for p in counters[1]["DataPoints"]) >= 2
    assert counters[2]["DataPoints"][-1]["Value"] == os.cpu_count()
    secret = "select pg_sleep(?), ?"
    assert secret in keys
    details = client.get_dimension_key_details(
        ServiceType="RDS",
        Identifier=RID,
        Group="db.sql",
        GroupIdentifier=keys[secret]["Dimensions"]["db.sql_tokenized.id"],
        RequestedDimensions=["db.sql.statement"],
    )
    assert details["Dimensions"][0]["Value"] == secret
    # No literal anywhere: API, metrics, the store on disk, the logs.
    assert collector.pi is not None
    collector.pi.store.flush()
    assert "secret-4111" not in metrics_text(collector)
    assert b"secret-4111" not in collector.pi.store.path.read_bytes()
    assert "secret-4111" not in caplog.text
    assert 'digest_text="select name, pg_sleep(?) from pi_items where id = ?"' in metrics_text(
        collector
    )


def test_statement_text_with_literals_only_when_turned_on(
    make_collector: Factory, postgres: Postgres
) -> None:
    collector = make_collector("literals", sample_interval_s=0.2, sql_literals=True)
    client = pi_client(collector)
    wait_for(lambda: collector.samplers[0].connected_version, 10, what="the sampler connects")
    start = time.time()
    workload = Workload(postgres)
    workload.run("pi-literal", "select pg_sleep(1.5), 'visible-literal'")
    workload.stop("pi-nothing-to-cancel")

    def sql_keys() -> list[dict[str, Any]]:
        answer = client.describe_dimension_keys(
            ServiceType="RDS",
            Identifier=RID,
            StartTime=start,
            EndTime=time.time(),
            Metric="db.load.avg",
            GroupBy={"Group": "db.sql"},
            Filter={"db.application.name": "pi-literal"},
        )
        return list(answer["Keys"])

    keys = wait_for(sql_keys, 10, what="the statement's load")
    dims = keys[0]["Dimensions"]
    assert dims["db.sql.statement"] == "select pg_sleep(1.5), 'visible-literal'"
    assert dims["db.sql.tokenized_id"] != dims["db.sql.id"]
    details = client.get_dimension_key_details(
        ServiceType="RDS", Identifier=RID, Group="db.sql", GroupIdentifier=dims["db.sql.id"]
    )
    assert details["Dimensions"][0]["Value"] == "select pg_sleep(1.5), 'visible-literal'"
    assert (
        client.get_resource_metadata(ServiceType="RDS", Identifier=RID)["Features"][
            "SQL_TEXT_WITH_LITERALS"
        ]["Status"]
        == "ENABLED"
    )


def test_without_pg_stat_statements_or_pg_wait_sampling_load_still_works(
    make_collector: Factory, postgres: Postgres
) -> None:
    with postgres.connect() as conn:
        if not conn.execute("select 1 from pg_database where datname = 'pi_bare'").fetchone():
            conn.execute("create database pi_bare")  # neither extension is created there
    collector = make_collector("bare", dbname="pi_bare", sample_interval_s=0.2)
    client = pi_client(collector)
    wait_for(lambda: collector.samplers[0].connected_version, 10, what="the sampler connects")
    start = time.time()
    workload = Workload(postgres)
    for i in range(2):
        workload.run(f"pi-bare-{i}", "select pg_sleep(2)")
    workload.stop("pi-nothing-to-cancel")
    wait_for(
        lambda: load_by_wait(client, start, time.time()).get("Timeout:PgSleep", 0) > 0,
        15,
        what="the pg_sleep load stored",
    )
    features = client.get_resource_metadata(ServiceType="RDS", Identifier=RID)["Features"]
    assert features["WAIT_SAMPLING"] == {"Status": "UNSUPPORTED"}
    assert features["SQL_STATISTICS"] == {"Status": "UNSUPPORTED"}
    answer = client.describe_dimension_keys(
        ServiceType="RDS",
        Identifier=RID,
        StartTime=start,
        EndTime=time.time(),
        Metric="db.load.avg",
        GroupBy={"Group": "db.sql_tokenized"},
        AdditionalMetrics=["db.sql_tokenized.stats.calls_per_sec.avg"],
    )
    assert answer["Keys"][0]["Dimensions"]["db.sql_tokenized.statement"] == "select pg_sleep(?)"
    assert answer["Keys"][0]["AdditionalMetrics"] == {}
    assert samples_of(collector, "borealis_sampler_wait_sampling")[0][1] == 0


def test_prometheus_gets_load_per_dimension_with_a_cap_on_values(
    make_collector: Factory, postgres: Postgres
) -> None:
    collector = make_collector(
        "capped", sample_interval_s=0.2, max_digests=2, max_dimension_values=2
    )
    wait_for(lambda: collector.samplers[0].connected_version, 10, what="the sampler connects")
    workload = Workload(postgres)
    statements = [
        "select pg_sleep(2)",
        "select pg_sleep(2), 1",
        "select 1, pg_sleep(2)",
        "select pg_sleep(2), 1, 2",
    ]
    for i, statement in enumerate(statements):
        workload.run(f"pi-cap-{i}", statement)
    workload.stop("pi-nothing-to-cancel")
    # Samples held for pg_wait_sampling's history are counted a moment after the sessions end.
    wait_for(
        lambda: (
            sum(v for _, v in samples_of(collector, "borealis_db_load_seconds_total")) > 4 * 1.5
        ),
        15,
        what="the four sessions' load counted",
    )
    text = metrics_text(collector)
    by_sql = samples_of(collector, "borealis_db_load_by_sql_seconds_total", text)
    by_app = samples_of(collector, "borealis_db_load_by_application_seconds_total", text)
    by_wait = samples_of(collector, "borealis_db_load_seconds_total", text)
    assert len(by_sql) == 3  # two digests and "other"
    assert len(by_app) == 3
    assert {labels["digest_id"] for labels, _ in by_sql} >= {"other"}
    assert dict((labels["application"], v) for labels, v in by_app)["other"] > 0
    total = sum(v for _, v in by_wait)
    assert total > 4 * 1.5
    # Every active-session-second is in exactly one series of each family.
    assert sum(v for _, v in by_sql) == pytest.approx(total)
    assert sum(v for _, v in by_app) == pytest.approx(total)
    info = samples_of(collector, "borealis_db_sql_digest_info", text)
    assert len(info) == 2
    assert all("pg_sleep(?)" in labels["digest_text"] for labels, _ in info)
    for name in ("user", "database", "host", "session_type"):
        assert samples_of(collector, f"borealis_db_load_by_{name}_seconds_total", text)


def test_one_round_trip_carries_ten_samples_taken_100_ms_apart_by_the_server(
    postgres: Postgres,
) -> None:
    """At 100 ms the server takes ten samples per round trip, each a fresh look at
    pg_stat_activity: a statement that ends mid-batch leaves the later samples, one that
    starts mid-batch joins them with its text, and the weights add up to the time covered."""
    target = Target("itest", "pi-round-trip", postgres.monitor_dsn, resource_id=RID)
    sampler = SessionSampler(target, CollectorSettings(sample_interval_s=0.1), consumers=[])
    workload = Workload(postgres)
    try:
        sampler.take()  # connect, and start the server's grid
        workload.run("rt-long", "select pg_sleep(30)")
        wait_for(lambda: _active(postgres, "rt-long"), timeout=10, what="rt-long active")
        # Ends within the next round trip: sleeping 0.35 s from about 0.2 s into it.
        starter = threading.Timer(0.2, workload.run, ("rt-short", "select pg_sleep(0.35) as x"))
        starter.start()
        samples = sampler.take()
        starter.join()
        assert samples is not None and len(samples) == 10
        steps = [b.server_time - a.server_time for a, b in itertools.pairwise(samples)]
        assert all(0.07 < step < 0.13 for step in steps), steps
        assert sum(s.weight for s in samples) == pytest.approx(1.0, abs=0.15)
        apps = [{s.application for s in sample.sessions} for sample in samples]
        assert all("rt-long" in seen for seen in apps), apps
        with_short = [i for i, seen in enumerate(apps) if "rt-short" in seen]
        assert 2 <= len(with_short) <= 5 and with_short == list(
            range(with_short[0], with_short[-1] + 1)
        ), apps
        short = next(s for s in samples[with_short[-1]].sessions if s.application == "rt-short")
        assert sampler.digests.text(short.digest_id) == "select pg_sleep(?) as x"
        assert (short.user, short.database, short.session_type) == (
            "postgres",
            "postgres",
            "client backend",
        )
    finally:
        workload.stop("rt-")
        sampler._close()


def _active(postgres: Postgres, application: str) -> bool:
    with postgres.connect() as conn:
        row = conn.execute(
            "select count(*) from pg_stat_activity where state = 'active' "
            "and application_name = %s",
            (application,),
        ).fetchone()
    return bool(row and row[0])


def test_at_one_second_a_round_trip_is_one_sample_taken_at_once(postgres: Postgres) -> None:
    """Nothing sleeps in the server at 1 s sampling, so no snapshot is held between samples
    (a hot standby could otherwise wait for it to replay cleanup in that database)."""
    target = Target("itest", "pi-one", postgres.monitor_dsn, resource_id=RID)
    sampler = SessionSampler(target, CollectorSettings(sample_interval_s=1.0), consumers=[])
    try:
        first, second = sampler.take(), sampler.take()
        assert first is not None and second is not None
        assert len(first) == len(second) == 1
        assert second[0].server_time - first[0].server_time < 0.5
    finally:
        sampler._close()
