"""Detectors, seen by the real `borealis collector --targets FILE` watching a primary and a
streaming standby that this test stops, restarts and promotes by hand, the way a cluster that
Borealis does not run changes under it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import INTEGRATION_PORTS, wait_for
from testsupport.collector import CollectorProcess
from testsupport.pgpair import Pair, start_pair, targets_yaml

pytestmark = pytest.mark.integration

PAIR_PORT = INTEGRATION_PORTS + 720
COLLECTOR_PORT = INTEGRATION_PORTS + 730
CLUSTER = "hand-made"


@pytest.fixture(scope="module")
def pair(shared_tmp: Path) -> Iterator[Pair]:
    running = start_pair(shared_tmp / "detector-pair", PAIR_PORT)
    yield running
    running.stop_all()


@pytest.fixture(scope="module")
def collector(pair: Pair, shared_tmp: Path) -> Iterator[CollectorProcess]:
    root = shared_tmp / "detector-collector"
    root.mkdir()
    targets = root / "targets.yaml"
    targets.write_text(targets_yaml(pair, CLUSTER))
    process = CollectorProcess(
        targets_file=targets,
        state_dir=root / "state",
        port=COLLECTOR_PORT,
        env={
            "BOREALIS_COLLECTOR__POLL_INTERVAL_S": "0.3",
            # Its PI API too, in the tests' port range, not on the default ports.
            "BOREALIS_PORTS__PI": str(COLLECTOR_PORT + 1),
        },
        log_file=root / "collector.log",
    )
    process.start()
    wait_for(
        lambda: process.value("borealis_replica_streaming", db_instance=pair.standby.name) == 1,
        15,
        what="the standby seen streaming",
    )
    yield process
    process.stop()


def seen(collector: CollectorProcess, event_id: str, source: str, after: str) -> list[Any]:
    return [
        e
        for e in collector.events()
        if e["EventId"] == event_id and e["SourceIdentifier"] == source and e["Date"] > after
    ]


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + ".000Z"


def test_stop_restart_and_promote_by_hand(collector: CollectorProcess, pair: Pair) -> None:
    primary, standby = pair.primary.name, pair.standby.name

    # 1. The standby stops: the primary sees its standby go, then the standby is unreachable.
    mark = now_iso()
    pair.stop(pair.standby)
    wait_for(
        lambda: seen(collector, "RDS-EVENT-0045", standby, mark), 15, what="replication stopped"
    )
    wait_for(lambda: seen(collector, "BOREALIS-EVENT-0152", standby, mark), 15, what="unreachable")
    assert collector.value("borealis_up", db_instance=standby) == 0

    # 2. It comes back: restarted, reachable, replicating again.
    mark = now_iso()
    pair.start(pair.standby)
    restarted = wait_for(
        lambda: seen(collector, "RDS-EVENT-0006", standby, mark), 20, what="standby restarted"
    )
    assert restarted[0]["Message"] == "DB instance restarted."
    wait_for(lambda: seen(collector, "BOREALIS-EVENT-0153", standby, mark), 15, what="reachable")
    resumed = wait_for(
        lambda: seen(collector, "RDS-EVENT-0046", standby, mark), 20, what="replication resumed"
    )
    assert resumed[0]["Message"] == "Replication for the Read Replica resumed."

    # 3. The primary restarts (fast): an availability event for it, and its standby's stream
    # is cut and comes back. One event for each, although both ends see it.
    mark = now_iso()
    pair.stop(pair.primary)
    wait_for(  # down long enough for the standby's receiver to be seen not streaming
        lambda: collector.value("borealis_replica_streaming", db_instance=standby) == 0,
        15,
        what="the standby seen not streaming",
    )
    pair.start(pair.primary)
    wait_for(lambda: seen(collector, "RDS-EVENT-0006", primary, mark), 20, what="primary restart")
    wait_for(lambda: seen(collector, "RDS-EVENT-0046", standby, mark), 30, what="resumed again")
    stopped = seen(collector, "RDS-EVENT-0057", standby, mark) + seen(
        collector, "RDS-EVENT-0045", standby, mark
    )
    assert len(stopped) == 1, stopped

    # 4. The standby is promoted by hand: a completed failover to it, on the cluster.
    mark = now_iso()
    pair.standby.sql("select pg_promote(true, 30)")
    failover = wait_for(
        lambda: [
            e for e in collector.events() if e["EventId"] == "RDS-EVENT-0071" and e["Date"] > mark
        ],
        15,
        what="completed failover",
    )
    assert [(e["SourceIdentifier"], e["SourceType"], e["Message"]) for e in failover] == [
        (CLUSTER, "db-cluster", f"Completed failover to DB instance: {standby}.")
    ]
    wait_for(
        lambda: collector.value("borealis_instance_is_writer", db_instance=standby) == 1,
        10,
        what="the promoted standby labelled writer",
    )
    # Nothing claims the old primary changed role: it is still a writer (split brain is the
    # operator's business here), and no restart was invented for the promoted standby.
    assert not seen(collector, "BOREALIS-EVENT-0151", primary, mark)
    assert not seen(collector, "RDS-EVENT-0006", standby, mark)
