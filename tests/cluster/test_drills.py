"""Drills on a stack of its own (a writer, 3 readers, 6 segments): zero-loss failovers, every
fault, quorum loss, reboots and the failover failure paths, checked the way a user sees them:
`status`, `events`, `trail`, Prometheus and SQL through the cluster endpoints."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.cluster.helpers import (
    a_reader,
    endpoint_dsn,
    events_since,
    fault,
    healthy,
    instance,
    metric,
    now,
)
from tests.conftest import DRILL_PORTS, Stack, start_stack, wait_for
from testsupport.checker import ZeroLossChecker

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def drill(shared_tmp: Path) -> Iterator[Stack]:
    running = start_stack(shared_tmp / "drill", DRILL_PORTS, readers=3)
    yield running
    done = running.cli("down", timeout=180)
    assert done.returncode == 0, done.stderr
    assert running.processes() == []


# --- zero loss --------------------------------------------------------------------------


def test_no_acknowledged_commit_is_lost_across_five_writer_kills(drill: Stack) -> None:
    healthy(drill)
    since = now()
    checker = ZeroLossChecker(endpoint_dsn(drill, "writer"), clients=3, pause_s=0.005)
    checker.start()
    promoted: list[dict[str, Any]] = []
    killed: list[str] = []
    try:
        for _ in range(5):
            healthy(drill)
            flowing = checker.acknowledged()
            wait_for(lambda f=flowing: checker.acknowledged() > f + 30, 30, what="commits")
            old = drill.writer()
            assert fault(drill, "kill-writer")["instance"] == old["id"]
            killed.append(old["id"])
            new = wait_for(
                lambda old=old: (w := drill.writer())["id"] != old["id"] and w,
                60,
                what="a new writer",
            )
            promoted.append(new)
            after = checker.acknowledged()
            wait_for(lambda a=after: checker.acknowledged() > a + 30, 60, what="commits resume")
        healthy(drill)
    finally:
        checker.stop()
    verdict = checker.verify()
    assert verdict.ok, verdict.summary()
    assert verdict.acknowledged > 300, verdict.summary()
    # Every new writer acknowledged commits through the same cluster endpoint.
    servers = {ack.server for ack in checker.acks()}
    assert {p["id"] for p in promoted} <= servers
    # Across tiers and AZs.
    assert len({p["tier"] for p in promoted}) >= 2, promoted
    assert len({p["az"] for p in promoted}) >= 2, promoted
    completed = events_since(drill, since, "RDS-EVENT-0071")
    assert len(completed) == 5
    assert [e["Message"] for e in completed] == [
        f"Completed failover to DB instance: {p['id']}." for p in promoted
    ]
    # Each killed writer came back as a reader.
    roles = {i["id"]: i["role"] for i in drill.status()["instances"]}
    assert all(roles[k] == "reader" for k in set(killed) - {promoted[-1]["id"]})


# --- faults on a reader -----------------------------------------------------------------


def test_stop_and_start_a_reader(drill: Stack) -> None:
    healthy(drill)
    since = now()
    reader = a_reader(drill)["id"]
    assert fault(drill, "stop-instance", reader)["instance"] == reader
    stopped = instance(drill, reader)
    assert (stopped["state"], stopped["fault"], stopped["pid"]) == ("stopped", "stopped", None)
    wait_for(
        lambda: metric(drill, f'borealis_up{{db_instance="{reader}"}}') == 0,
        30,
        what="the collector reporting the reader down",
    )
    with psycopg.connect(endpoint_dsn(drill, "reader")) as conn:  # the endpoint avoids it
        assert conn.execute("select current_setting('cluster_name')").fetchone() != (reader,)
    assert fault(drill, "start-instance", reader)["instance"] == reader
    wait_for(lambda: instance(drill, reader)["state"] == "available", 60, what="reader back")
    wait_for(
        lambda: metric(drill, f'borealis_up{{db_instance="{reader}"}}') == 1,
        30,
        what="the collector reporting the reader up",
    )
    ids = [(e["EventId"], e["SourceIdentifier"]) for e in events_since(drill, since)]
    assert ("RDS-EVENT-0087", reader) in ids
    assert ("RDS-EVENT-0088", reader) in ids
    again = drill.cli("fault", "start-instance", reader)
    assert again.returncode == 1
    assert "was not stopped" in again.stderr


def test_hang_and_resume_a_reader(drill: Stack) -> None:
    healthy(drill)
    reader = a_reader(drill)["id"]
    fault(drill, "hang-instance", reader)
    wait_for(lambda: instance(drill, reader)["state"] == "unresponsive", 30, what="hung")
    for _ in range(4):  # round robin over the others only
        with psycopg.connect(endpoint_dsn(drill, "reader")) as conn:
            row = conn.execute("select current_setting('cluster_name')").fetchone()
        assert row != (reader,)
    fault(drill, "resume-instance", reader)
    wait_for(lambda: instance(drill, reader)["state"] == "available", 30, what="reader back")


def test_pause_replay_and_delay_a_reader(drill: Stack) -> None:
    healthy(drill)
    since = now()
    reader = a_reader(drill)
    rid = reader["id"]
    fault(drill, "pause-replay", rid)
    assert wait_for(lambda: instance(drill, rid)["replay_paused"], 10, what="paused in status")
    wait_for(
        lambda: metric(drill, f'borealis_replica_replay_paused{{db_instance="{rid}"}}') == 1,
        30,
        what="the paused metric",
    )
    fault(drill, "resume-replay", rid)
    wait_for(
        lambda: metric(drill, f'borealis_replica_replay_paused{{db_instance="{rid}"}}') == 0,
        30,
        what="replay resumed in Prometheus",
    )
    ids = [(e["EventId"], e["SourceIdentifier"]) for e in events_since(drill, since)]
    assert ("RDS-EVENT-0045", rid) in ids
    assert ("RDS-EVENT-0046", rid) in ids

    assert fault(drill, "delay-replica", rid, "3000")["delay_ms"] == 3000
    assert instance(drill, rid)["replica_delay_ms"] == 3000
    assert drill.sql(reader["port"], "show recovery_min_apply_delay") == [("3s",)]
    stop = threading.Event()

    def write() -> None:
        with psycopg.connect(endpoint_dsn(drill, "writer"), autocommit=True) as conn:
            conn.execute("create table if not exists delay_probe(at timestamptz)")
            while not stop.wait(0.2):
                conn.execute("insert into delay_probe values (now())")

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        wait_for(
            lambda: (
                (metric(drill, f'borealis_replica_lag_seconds{{db_instance="{rid}"}}') or 0) >= 2
            ),
            60,
            what="AuroraReplicaLag showing the delay",
        )
    finally:
        stop.set()
        writer.join(10)
    fault(drill, "delay-replica", rid, "0")
    assert instance(drill, rid)["replica_delay_ms"] == 0
    assert drill.sql(reader["port"], "show recovery_min_apply_delay") == [("0",)]


# --- storage quorum ---------------------------------------------------------------------


def test_losing_an_az_keeps_writes_and_one_more_segment_stalls_commits(drill: Stack) -> None:
    healthy(drill)
    since = now()
    status = drill.status()
    writer_az = drill.writer()["az"]
    lost_az = next(az for az in ("local-1a", "local-1b", "local-1c") if az != writer_az)
    lost = fault(drill, "lose-az", lost_az)
    assert lost["writer_lost"] is False
    assert len(lost["segments"]) == 2
    after = drill.status()
    for inst in after["instances"]:
        if inst["az"] == lost_az:
            assert (inst["state"], inst["fault"]) == ("failed", "az-lost")
    assert {s["state"] for s in after["segments"] if s["az"] == lost_az} == {"failed"}
    wait_for(
        lambda: drill.status()["storage"]["segments_available"] == 4, 30, what="4 segments left"
    )
    dsn = endpoint_dsn(drill, "writer")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("create table if not exists quorum_drill(id int)")
        conn.execute("insert into quorum_drill values (1)")  # one AZ lost: writes go on

    third = next(s["id"] for s in status["segments"] if s["az"] not in (lost_az, writer_az))
    fault(drill, "stop-segment", third)
    outcome: list[str] = []

    def commit() -> None:
        try:
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute("insert into quorum_drill values (2)")
            outcome.append("acknowledged")
        except psycopg.Error as exc:
            outcome.append(f"failed: {exc}")

    thread = threading.Thread(target=commit, daemon=True)
    thread.start()
    try:
        # Both from one poll: the quorum is reported lost while our commit waits. (Waiting
        # alone is not enough: an earlier, acknowledged commit may have been caught in its
        # brief SyncRep wait by the last scrape.)
        wait_for(
            lambda: (
                metric(drill, 'borealis_sync_replication_waiting_sessions{role="writer"}')
                and metric(drill, 'borealis_sync_quorum_ok{role="writer"}') == 0
            ),
            30,
            what="a commit waiting on a lost storage quorum, seen in Prometheus",
        )
        assert metric(drill, 'borealis_sync_quorum_available{role="writer"}') == 3
        assert metric(drill, 'borealis_sync_quorum_required{role="writer",method="any"}') == 4
        storage = drill.status()["storage"]
        assert storage["write_quorum_ok"] is False
        assert storage["commits_waiting"] >= 1
        assert outcome == []  # neither failed nor acknowledged
        wait_for(lambda: events_since(drill, since, "BOREALIS-EVENT-0003"), 30, what="0003")
    finally:
        fault(drill, "start-segment", third)
        thread.join(30)
        fault(drill, "restore-az", lost_az)  # never leave the next test a broken cluster
    assert outcome == ["acknowledged"]
    wait_for(
        lambda: metric(drill, 'borealis_sync_quorum_ok{role="writer"}') == 1,
        30,
        what="quorum back in Prometheus",
    )
    healthy(drill)
    ids = [(e["EventId"], e["SourceIdentifier"]) for e in events_since(drill, since)]
    assert ("BOREALIS-EVENT-0004", "borealis") in ids
    repaired = [e["Message"] for e in events_since(drill, since, "BOREALIS-EVENT-0002")]
    assert any(third in m for m in repaired)
    assert sum(lost_az in m for m in repaired) == 2


# --- the writer -------------------------------------------------------------------------


def test_hung_writer_is_failed_over_and_fenced(drill: Stack) -> None:
    healthy(drill)
    since = now()
    old = drill.writer()
    hung = fault(drill, "hang-instance", old["id"])
    assert hung["role"] == "writer"
    assert hung["fails_over_after_s"] > 0
    new = wait_for(
        lambda: (w := drill.writer())["id"] != old["id"] and w, 60, what="the hung writer replaced"
    )
    resumed = drill.cli("fault", "resume-instance", old["id"])
    assert resumed.returncode == 1
    # Fenced already; by now it may even have rejoined as a reader (no longer hung).
    assert (
        "failed over and fenced" in resumed.stderr or f"{old['id']} is not hung" in resumed.stderr
    ), resumed.stderr
    healthy(drill)
    assert instance(drill, old["id"])["role"] == "reader"
    completed = events_since(drill, since, "RDS-EVENT-0071")
    assert [e["Message"] for e in completed] == [f"Completed failover to DB instance: {new['id']}."]


def test_reboot_restarts_without_failing_over(drill: Stack) -> None:
    healthy(drill)
    since = now()
    writer = drill.writer()
    done = drill.cli("reboot", writer["id"])
    assert done.returncode == 0, done.stderr
    assert "no failover" in done.stdout
    assert drill.writer()["id"] == writer["id"]
    with psycopg.connect(endpoint_dsn(drill, "writer"), autocommit=True) as conn:
        assert conn.execute("select pg_is_in_recovery()").fetchone() == (False,)
    reader = a_reader(drill)["id"]
    assert drill.cli("reboot", reader).returncode == 0
    healthy(drill)
    events = events_since(drill, since)
    restarted = {e["SourceIdentifier"] for e in events if e["EventId"] == "RDS-EVENT-0006"}
    assert {writer["id"], reader} <= restarted
    assert not [e for e in events if e["EventId"] in ("RDS-EVENT-0071", "RDS-EVENT-0073")]
    unknown = drill.cli("reboot", "no-such-instance")
    assert unknown.returncode == 1
    assert "no instance 'no-such-instance'" in unknown.stderr


def test_failover_failure_paths_emit_0069_and_0070(drill: Stack) -> None:
    healthy(drill)
    since = now()
    readers = [i["id"] for i in drill.status()["instances"] if i["role"] == "reader"]
    for reader in readers:
        fault(drill, "stop-instance", reader)
    refused = drill.cli("failover")
    assert refused.returncode == 1
    assert "no healthy reader" in refused.stderr
    for reader in readers:
        fault(drill, "start-instance", reader)
    healthy(drill)
    assert events_since(drill, since, "RDS-EVENT-0069")

    # Only 2 segments readable: promoting anyone could lose acknowledged commits, so the
    # previous writer is brought back instead.
    since = now()
    writer = drill.writer()["id"]
    segments = [s["id"] for s in drill.status()["segments"]][:4]
    for seg in segments:
        fault(drill, "stop-segment", seg)
    fault(drill, "kill-writer")
    wait_for(
        lambda: events_since(drill, since, "RDS-EVENT-0070"), 60, what="RDS-EVENT-0070 emitted"
    )
    wait_for(lambda: instance(drill, writer)["pid"], 30, what="the previous writer restarted")
    assert drill.writer()["id"] == writer
    fallback = events_since(drill, since, "RDS-EVENT-0070")[0]
    assert fallback["Message"] == f"Promoting previous primary again: {writer}."
    assert events_since(drill, since, "RDS-EVENT-0069")
    for seg in segments:
        fault(drill, "start-segment", seg)
    healthy(drill)
    assert drill.writer()["id"] == writer


def trail_records(stack: Stack) -> list[dict[str, Any]]:
    done = stack.cli("trail", "--json")
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout)["Records"])


def test_trail_records_who_asked_for_what(drill: Stack) -> None:
    healthy(drill)
    before = len(trail_records(drill))  # what the stack's creation and earlier tests left
    writer = drill.writer()["id"]
    reader = a_reader(drill)["id"]
    assert drill.cli("reboot", reader).returncode == 0
    fault(drill, "pause-replay", reader)
    fault(drill, "resume-replay", reader)
    refused = drill.cli("failover", "--target", writer)
    assert refused.returncode == 1
    assert "already the writer" in refused.stderr
    missing = drill.cli("fault", "stop-instance", "no-such-instance")
    assert missing.returncode == 1
    healthy(drill)

    every = trail_records(drill)
    assert every[0]["eventName"] == "CreateDBCluster"  # the stack's creation, first of all
    records = every[before:]
    assert [r["eventName"] for r in records] == [
        "RebootDBInstance",
        "InjectFault",
        "InjectFault",
        "FailoverDBCluster",
        "InjectFault",
    ]
    assert all(r["userIdentity"]["userName"] == "root" for r in records)
    assert all(r["userAgent"].startswith("borealis-cli/") for r in records)
    reboot, pause, resume, failover, last = records
    assert reboot["requestParameters"] == {"dBInstanceIdentifier": reader}
    assert reboot["eventSource"] == "rds.amazonaws.com"
    assert "errorCode" not in reboot
    assert [r["requestParameters"]["action"] for r in (pause, resume)] == [
        "pause-replay",
        "resume-replay",
    ]
    assert all(r["eventSource"] == "fis.amazonaws.com" for r in (pause, resume, last))
    assert failover["requestParameters"]["targetDBInstanceIdentifier"] == writer
    assert failover["errorCode"] == "InvalidDBClusterStateFault"
    assert "already the writer" in failover["errorMessage"]
    assert last["errorCode"] == "DBInstanceNotFound"
    assert last["requestParameters"] == {
        "action": "stop-instance",
        "parameters": ["no-such-instance"],
    }
    text = drill.cli("trail")
    assert "RebootDBInstance" in text.stdout
