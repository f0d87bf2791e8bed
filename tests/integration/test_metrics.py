"""The native metrics move the way the instance does, read as a role with only pg_monitor."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest

from collector.localhost import LocalInstances
from collector.poller import InstancePoller
from collector.procfs import ProcFs
from collector.service import Collector
from collector.sources.base import Source
from collector.sources.instance import InstanceSource
from collector.sources.process import ProcessSource
from collector.targets import Target
from core.settings import CollectorSettings, Settings
from tests.conftest import INTEGRATION_PORTS, wait_for
from tests.integration.conftest import Postgres
from tests.integration.test_collector import sample_values, value_for
from tests.unit.test_proctree import CountingProcFs

pytestmark = pytest.mark.integration

LIVE = "metrics-instance"


def start_collector(
    shared_tmp: Path, postgres: Postgres, port_offset: int, sources: list[Source] | None = None
) -> Collector:
    settings = replace(
        Settings(state_dir=shared_tmp / "metrics-state"),
        collector=CollectorSettings(poll_interval_s=0.3, sample_interval_s=0.5),
    )
    settings = replace(
        settings, ports=replace(settings.ports, base=INTEGRATION_PORTS + 510 + port_offset)
    )
    target = Target("itest", LIVE, postgres.monitor_dsn, resource_id="db-METRICS", az="local-1a")
    if sources is None:
        collector = Collector(settings, [target], events=None)
    else:
        collector = Collector(settings, [target], events=None, sources=sources)
    collector.start()
    wait_for(lambda: value_for(collector, "borealis_up", db_instance=LIVE) == 1, 15)
    return collector


@pytest.fixture
def collector(postgres: Postgres, shared_tmp: Path) -> Iterator[Collector]:
    instance = start_collector(shared_tmp, postgres, 0)
    yield instance
    instance.stop()


def metric(collector: Collector, name: str, **labels: str) -> float:
    value = value_for(collector, name, db_instance=LIVE, **labels)
    assert value is not None, f"{name} is not exposed"
    return value


def grows(collector: Collector, name: str, by: float, before: float, **labels: str) -> float:
    return wait_for(
        lambda: (v := metric(collector, name, **labels)) >= before + by and v,
        10,
        what=f"{name} to grow by {by} from {before}",
    )


def test_reading_a_table_moves_blocks_read_and_the_hit_ratio(
    collector: Collector, postgres: Postgres
) -> None:
    with postgres.connect() as conn:
        conn.execute("create table if not exists hot(id int primary key)")
        conn.execute("insert into hot values (1) on conflict do nothing")
        conn.execute("select * from hot where id = 1")
    # Index lookups of a cached row are served from shared buffers: hits grow, reads do not.
    hit_before = metric(collector, "borealis_blocks_hit_total")
    read_before = metric(collector, "borealis_blocks_read_total")
    with postgres.connect() as conn:
        for _ in range(300):
            conn.execute("select * from hot where id = 1")
    hit = grows(collector, "borealis_blocks_hit_total", 300, hit_before)
    read = metric(collector, "borealis_blocks_read_total")
    assert (hit - hit_before) / ((hit - hit_before) + (read - read_before)) > 0.9

    with postgres.connect() as conn:
        conn.execute("drop table if exists scanned")
        # ~40 MB, more than shared_buffers (32 MB): a sequential scan reads it through a
        # small ring buffer, so most of it comes from outside shared buffers. No autovacuum:
        # its reads would land in the other half of this test.
        conn.execute(
            "create table scanned with (autovacuum_enabled = off) as "
            "select g as id, repeat('x', 400) as pad from generate_series(1, 80000) g"
        )
    read_before = metric(collector, "borealis_blocks_read_total")
    with postgres.connect() as conn:
        conn.execute("select count(*) from scanned")
    grows(collector, "borealis_blocks_read_total", 1000, read_before)
    assert metric(collector, "borealis_block_size_bytes") == 8192


def test_the_instances_own_processes_show_cpu_memory_and_io(
    collector: Collector, postgres: Postgres
) -> None:
    cpu_before = metric(collector, "borealis_process_cpu_seconds_total")
    written_before = metric(collector, "borealis_process_io_write_bytes_total")
    with postgres.connect() as conn:
        conn.execute("select count(*) from generate_series(1, 3000000)")  # ~0.3 s of CPU
        conn.execute("create table if not exists io_probe(pad text)")
        conn.execute("insert into io_probe select repeat('y', 1000) from generate_series(1, 5000)")
        conn.execute("checkpoint")
    grows(collector, "borealis_process_cpu_seconds_total", 0.2, cpu_before)
    grows(collector, "borealis_process_io_write_bytes_total", 5_000_000, written_before)
    # postmaster, checkpointer, background writer, WAL writer, launchers, our backends...
    assert metric(collector, "borealis_processes") >= 5
    rss = metric(collector, "borealis_process_resident_memory_bytes")
    pss = metric(collector, "borealis_process_proportional_memory_bytes")
    assert 0 < pss <= rss
    assert metric(collector, "borealis_process_cpus") >= 1
    # What the instance sees of the host.
    available = metric(collector, "borealis_host_memory_available_bytes")
    assert 0 < available <= metric(collector, "borealis_host_memory_bytes")
    free = metric(collector, "borealis_filesystem_free_bytes")
    assert 0 < free <= metric(collector, "borealis_filesystem_size_bytes")
    assert metric(collector, "borealis_network_receive_bytes_total") > 0
    devices = sample_values(collector, "borealis_disk_io_weighted_seconds_total")
    assert [dict(k)["device"] for k in devices if dict(k)["db_instance"] == LIVE]


def test_transaction_ids_temp_files_and_sizes(collector: Collector, postgres: Postgres) -> None:
    age_before = metric(collector, "borealis_oldest_xid_age")
    temp_before = metric(collector, "borealis_temp_bytes_total")
    with postgres.connect() as conn:
        for _ in range(20):
            conn.execute("select txid_current()")  # each autocommit call takes a new xid
        conn.execute("set work_mem = '64kB'")
        conn.execute("select g from generate_series(1, 200000) g order by g desc")
    grows(collector, "borealis_oldest_xid_age", 20, age_before)
    grows(collector, "borealis_temp_bytes_total", 1_000_000, temp_before)
    with postgres.connect() as conn:
        size = conn.execute("select sum(pg_database_size(oid)) from pg_database").fetchone()
    assert size is not None
    assert metric(collector, "borealis_databases_size_bytes") == pytest.approx(
        float(size[0]), rel=0.2
    )
    assert metric(collector, "borealis_wal_directory_bytes") >= 16 * 1024 * 1024
    assert metric(collector, "borealis_wal_directory_files") >= 1


def test_a_lagging_slot_holds_back_wal(collector: Collector, postgres: Postgres) -> None:
    with postgres.connect() as conn:
        conn.execute("select pg_create_physical_replication_slot('itest_lagging', true)")
    try:
        wait_for(
            lambda: value_for(collector, "borealis_replication_slots", active="false") == 1,
            10,
            what="an inactive slot",
        )
        before = metric(collector, "borealis_replication_slot_retained_bytes")
        with postgres.connect() as conn:
            conn.execute("create table if not exists wal_probe(pad text)")
            conn.execute(
                "insert into wal_probe select repeat('z', 1000) from generate_series(1, 3000)"
            )
        grows(collector, "borealis_replication_slot_retained_bytes", 3_000_000, before)
    finally:
        with postgres.connect() as conn:
            conn.execute("select pg_drop_replication_slot('itest_lagging')")


def test_an_instance_on_another_host_has_no_process_metrics_and_no_error(
    postgres: Postgres, shared_tmp: Path, tmp_path: Path
) -> None:
    """Seen through an empty /proc, the instance is not local: the process source succeeds
    with no series, as for RDS, Aurora or a remote host."""
    elsewhere = LocalInstances(ProcFs(root=tmp_path))
    collector = start_collector(
        shared_tmp, postgres, 1, sources=[InstanceSource(), ProcessSource(elsewhere)]
    )
    try:
        wait_for(
            lambda: value_for(collector, "borealis_source_success", source="process") == 1,
            10,
            what="a successful process source",
        )
        assert sample_values(collector, "borealis_process_cpu_seconds_total") == {}
        assert value_for(collector, "borealis_up", db_instance=LIVE) == 1
    finally:
        collector.stop()


class CountingSource:
    """A source that counts how often it is read."""

    def __init__(self, name: str, os_metrics: bool) -> None:
        self.name = name
        self.os_metrics = os_metrics
        self.reads = 0

    def poll(self, conn: object, version_num: int) -> int:
        self.reads += 1
        return self.reads

    def families(self, polls: object) -> list[object]:
        return []


def test_os_sources_are_read_every_os_poll_interval_and_their_reading_stands_between(
    postgres: Postgres,
) -> None:
    counting = CountingSource("counting", os_metrics=True)
    every_poll = CountingSource("every-poll", os_metrics=False)
    target = Target("itest", "cadence", postgres.monitor_dsn, resource_id="db-CADENCE")
    settings = CollectorSettings(poll_interval_s=0.1, os_poll_interval_s=0.6)
    sources = [InstanceSource(), counting, every_poll]
    poller = InstancePoller(target, sources, settings)  # type: ignore[arg-type]
    try:
        started = time.monotonic()
        polls = []
        while time.monotonic() - started < 1.5:
            polls.append(poller.poll_once())
            time.sleep(0.1)
        assert all(p.ok for p in polls)
        readings = [p.results["counting"] for p in polls]
        # Every poll carries a reading; a fresh one about every 0.6 s (3 in 1.5 s), not 15.
        assert len(polls) >= 10 and counting.reads == 3, (len(polls), readings)
        assert readings == sorted(readings) and readings[0] == 1
        # The other sources are read on every poll all the same.
        assert every_poll.reads == len(polls)
        assert [p.results["every-poll"] for p in polls] == list(range(1, len(polls) + 1))
    finally:
        poller._close()


def test_idle_connections_add_no_proc_reads_per_poll(postgres: Postgres) -> None:
    """500 connections once slowed the writer's poll below 1/s (docs/reliability.md, Load):
    the process source read /proc for every backend on every reading. Now a backend is read
    once, then only while pg_stat_activity does not show it idle: the files a poll opens do
    not grow with idle connections, and an active session is read on every poll."""
    procfs = CountingProcFs()
    source = ProcessSource(LocalInstances(procfs), read_budget=10_000)  # idle cost, not budget
    target = Target("itest", "proc-reads", postgres.monitor_dsn, resource_id="db-PROCREADS")
    poller = InstancePoller(target, [InstanceSource(), source], CollectorSettings())
    extra: list[psycopg.Connection[tuple[object, ...]]] = []

    def stat_reads() -> int:
        poller._os_readings.clear()  # every poll takes an OS reading
        procfs.opened.clear()
        assert poller.poll_once().ok
        return sum(1 for path in procfs.opened if path.endswith("/stat"))

    try:
        stat_reads()
        baseline = stat_reads()
        extra = [postgres.connect() for _ in range(30)]
        assert stat_reads() >= baseline + 30  # new backends: each read once
        stat_reads()  # they turned quiet before this poll's query ran
        assert stat_reads() <= baseline + 3  # (autovacuum workers come and go)
        busy = extra[0]
        busy.pgconn.send_query(b"select pg_sleep(30)")
        wait_for(lambda: stat_reads() >= baseline + 1, 10, what="the active backend re-read")
        busy_pid = busy.info.backend_pid
        procfs.opened.clear()
        poller._os_readings.clear()
        poller.poll_once()
        assert f"{busy_pid}/stat" in procfs.opened
    finally:
        pids = [conn.info.backend_pid for conn in extra]
        for conn in extra:
            conn.cancel()  # a closed client does not stop pg_sleep: other tests count PgSleep
            conn.close()
        poller._close()
        with postgres.connect() as check:
            wait_for(
                lambda: (
                    not check.execute(
                        "select 1 from pg_stat_activity where pid = any(%s)", [pids]
                    ).fetchone()
                ),
                10,
                what="this test's backends to exit",
            )
