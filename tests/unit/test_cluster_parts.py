"""Pure parts of the cluster: endpoint routes, the zero-loss verdict, trail records,
workload scenarios, the reader resync rule."""

from dataclasses import replace
from datetime import UTC, datetime
from typing import cast

from cluster.decide import Action, decide
from cluster.endpoints import Backend, Endpoint, Routes, routes_from_view
from cluster.fault_catalog import FAULTS
from cluster.faults import FaultInjector
from cluster.manager import ClusterManager
from cluster.workload import SCENARIOS, statements
from core.settings import WORKLOAD_SCENARIOS
from core.topology import Role
from core.trail import Caller, TrailRecord
from tests.unit.test_decide import inst, view
from testsupport.checker import Ack, ClientLog, judge

PORTS = {"w": 1, "r1": 2, "r2": 3}


def test_routes_send_writes_to_the_writer_and_reads_round_the_healthy_readers() -> None:
    routes = routes_from_view(
        view(inst("w", Role.WRITER), inst("r1"), inst("r2", age=5.0)), PORTS, writer_ok=True
    )
    assert routes.targets(Endpoint.WRITER) == (Backend("w", 1),)
    assert routes.targets(Endpoint.READER) == (Backend("r1", 2),)
    # r2 is slow to answer: no new connections, but open ones stay.
    assert routes.keeps(Endpoint.READER, Backend("r2", 3))


def test_reader_endpoint_falls_back_to_the_writer_and_failover_empties_the_writer() -> None:
    no_readers = routes_from_view(
        view(inst("w", Role.WRITER), inst("r1", alive=False)), PORTS, writer_ok=True
    )
    assert no_readers.targets(Endpoint.READER) == (Backend("w", 1),)
    failing_over = routes_from_view(view(inst("w", Role.WRITER), inst("r1")), PORTS, False)
    assert failing_over.targets(Endpoint.WRITER) == ()
    assert not failing_over.keeps(Endpoint.WRITER, Backend("w", 1))


def test_hung_reader_loses_its_connections_a_promoted_one_too() -> None:
    routes = Routes(Backend("r1", 2), (Backend("r2", 3),), frozenset({"r2"}))
    assert not routes.keeps(Endpoint.READER, Backend("r1", 2))  # promoted: now the writer
    hung = routes_from_view(view(inst("w", Role.WRITER), inst("r1", held=True)), PORTS, True)
    assert not hung.keeps(Endpoint.READER, Backend("r1", 2))


def test_zero_loss_verdict() -> None:
    log = ClientLog(
        acknowledged={"a": Ack(1.0, 0.9, "w"), "b": Ack(2.0, 1.9, "w")},
        unknown={"u1", "u2"},
        rejected={"x"},
    )
    good = judge([log], {"a": 1, "b": 1, "u1": 1})
    assert good.ok
    assert good.unknown_committed == 1
    lost = judge([log], {"a": 1, "u1": 1})
    assert not lost.ok
    assert lost.missing == ("b",)
    doubled = judge([log], {"a": 2, "b": 1})
    assert doubled.duplicated == ("a",)
    assert not judge([log], {"a": 1, "b": 1, "x": 1}).ok


def test_trail_record_has_cloudtrail_shape() -> None:
    record = TrailRecord(
        event_name="FailoverDBCluster",
        caller=Caller(0, "root", 42),
        request_parameters={"dBClusterIdentifier": "c"},
        error_code="InvalidDBClusterStateFault",
        error_message="no healthy reader can be promoted",
        event_time=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    ).to_cloudtrail()
    assert record["eventTime"] == "2026-01-02T03:04:05Z"
    assert record["eventSource"] == "rds.amazonaws.com"
    assert record["userIdentity"] == {
        "type": "Root",
        "principalId": "0",
        "userName": "root",
        "uid": 0,
        "pid": 42,
    }
    assert record["errorCode"] == "InvalidDBClusterStateFault"
    assert {"eventID", "requestID", "responseElements", "requestParameters"} <= set(record)


def test_workload_scenarios_are_the_ones_settings_accept() -> None:
    assert tuple(SCENARIOS) == WORKLOAD_SCENARIOS
    assert {"oltp_setup", "cpu", "row_lock_update", "io_point", "sleep", "commit_insert"} <= set(
        statements()
    )


def test_reader_not_streaming_for_long_is_resynced() -> None:
    stale = inst("r1")
    v = view(inst("w", Role.WRITER), stale)
    assert decide(v) == []
    lagging = replace(stale, receiver_down_s=20.0)
    decisions = decide(view(inst("w", Role.WRITER), lagging))
    assert [(d.action, d.target) for d in decisions] == [(Action.RESYNC_READER, "r1")]
    # Not while the writer itself is in trouble (that is a failover's business).
    assert decide(view(inst("w", Role.WRITER, age=2.5), lagging)) == []


def test_every_fault_the_cli_offers_has_a_handler() -> None:
    injector = FaultInjector(cast(ClusterManager, None))
    assert set(injector._handlers) == {f.name for f in FAULTS}
