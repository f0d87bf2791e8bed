"""The real stack, seen as a user sees it: status, SQL, Prometheus, events."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time

import psycopg
import pytest

from core.ids import is_resource_id
from tests.cluster.helpers import assert_grafana_provisioning, events_since, now
from tests.conftest import Stack, wait_for

pytestmark = pytest.mark.cluster


def test_status_describes_the_cluster(stack: Stack) -> None:
    status = stack.status()
    instances = status["instances"]
    assert len(instances) == 3
    assert [i["role"] for i in instances].count("writer") == 1
    assert {i["az"] for i in instances} == {"local-1a", "local-1b", "local-1c"}
    assert all(is_resource_id(i["resource_id"]) for i in instances)
    assert all(i["state"] == "available" and i["pid"] for i in instances)
    assert sorted(s["az"] for s in status["segments"]) == sorted(
        ["local-1a", "local-1a", "local-1b", "local-1b", "local-1c", "local-1c"]
    )
    assert set(status["services"]) >= {
        "prometheus",
        "collector",
        "ui",
        "cloudwatch",
        "pi",
        "webhook",
        "alertmanager",
    }
    assert all(url.startswith("http://127.0.0.1:") for url in status["services"].values())
    assert_grafana_provisioning(stack, status)


def test_nothing_listens_beyond_loopback(stack: Stack) -> None:
    pids = {pid for pid, _ in stack.processes()}
    listing = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout
    ours = [line for line in listing.splitlines() if any(f"pid={pid}," in line for pid in pids)]
    assert ours, "the stack listens somewhere"
    for line in ours:
        local = line.split()[3]
        assert local.startswith(("127.0.0.1:", "[::1]:")), line


def test_a_commit_needs_four_of_six_segments(stack: Stack) -> None:
    status = stack.status()
    writer = next(i for i in status["instances"] if i["role"] == "writer")
    segment_pids = [s["pid"] for s in status["segments"]]
    assert all(segment_pids)
    with psycopg.connect(stack.app_dsn(writer["port"]), autocommit=True) as conn:
        conn.execute("create table if not exists quorum_probe(id int)")
    # Two segments (one AZ) gone: commits still go through.
    for pid in segment_pids[:2]:
        os.kill(pid, signal.SIGSTOP)
    try:
        with psycopg.connect(stack.app_dsn(writer["port"]), autocommit=True) as conn:
            conn.execute("insert into quorum_probe values (1)")
        # A third one: fewer than 4 acknowledge, the commit waits.
        os.kill(segment_pids[2], signal.SIGSTOP)
        done = threading.Event()

        def commit() -> None:
            with psycopg.connect(stack.app_dsn(writer["port"]), autocommit=True) as conn:
                conn.execute("insert into quorum_probe values (2)")
            done.set()

        thread = threading.Thread(target=commit, daemon=True)
        thread.start()
        wait_for(
            lambda: (
                stack.sql(
                    writer["port"],
                    "select count(*) from pg_stat_activity where wait_event = 'SyncRep'",
                )[0][0]
                == 1
            ),
            10,
            what="a commit waiting on SyncRep",
        )
        assert not done.is_set()
        os.kill(segment_pids[2], signal.SIGCONT)
        assert done.wait(10), "the commit did not complete once a segment came back"
    finally:
        for pid in segment_pids[:3]:
            os.kill(pid, signal.SIGCONT)
    rows = stack.sql(
        writer["port"], "select count(*) from pg_stat_replication where sync_state = 'quorum'"
    )
    assert rows[0][0] == 6


def test_lag_series_exist_for_every_reader(stack: Stack) -> None:
    readers = {i["id"] for i in stack.status()["instances"] if i["role"] == "reader"}

    def seen(promql: str, label: str) -> set[str]:
        return {r["metric"][label] for r in stack.prometheus(promql)}

    wait_for(
        lambda: seen('borealis_replica_lag_seconds{role="reader"}', "db_instance") >= readers,
        30,
        what="native lag series",
    )
    wait_for(
        lambda: (
            seen(
                'aws_rds_aurora_replica_lag_average{dimension_Role="READER",'
                'dimension_DBInstanceIdentifier!=""}',
                "dimension_DBInstanceIdentifier",
            )
            >= readers
        ),
        30,
        what="CloudWatch-named lag series",
    )
    for name in (
        "aws_rds_read_iops_average",
        "aws_rds_write_iops_average",
        "aws_rds_dbload_average",
    ):
        wait_for(lambda name=name: stack.prometheus(name), 30, what=name)


def test_killed_writer_is_replaced_automatically(stack: Stack) -> None:
    wait_for(stack.all_available, 60, what="a healthy cluster")
    old = stack.writer()
    since = now()
    killed_at = time.monotonic()
    os.kill(old["pid"], signal.SIGKILL)
    new = wait_for(
        lambda: (w := stack.writer())["id"] != old["id"] and w["state"] == "available" and w,
        30,
        what="a new writer",
    )
    assert time.monotonic() - killed_at < 30
    with psycopg.connect(stack.app_dsn(new["port"]), autocommit=True) as conn:
        conn.execute("create table if not exists after_failover(id int)")
        conn.execute("insert into after_failover values (1)")
    events = events_since(stack, since)  # this failover's, not an earlier test's
    ids = [e["EventId"] for e in events]
    assert "RDS-EVENT-0071" in ids
    assert {"RDS-EVENT-0072", "RDS-EVENT-0073"} & set(ids)
    [completed] = [e for e in events if e["EventId"] == "RDS-EVENT-0071"]
    assert completed["Message"] == f"Completed failover to DB instance: {new['id']}."
    assert completed["SourceType"] == "db-cluster"
    # The old writer rejoins as a reader.
    wait_for(stack.all_available, 60, what="the old writer back as a reader")
    roles = {i["id"]: i["role"] for i in stack.status()["instances"]}
    assert roles[old["id"]] == "reader"
    # And the collector sees the new roles in Prometheus.
    wait_for(
        lambda: any(
            r["metric"]["db_instance"] == new["id"]
            for r in stack.prometheus("borealis_instance_is_writer == 1")
        ),
        30,
        what="the new writer in Prometheus",
    )
