"""`borealis collector --targets FILE`, the real process, against PostgreSQL instances this
test starts itself (a primary with TLS and a streaming standby): metrics over HTTP, events
from their logs in `borealis events`, OpenTelemetry records at a local OTLP receiver."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.conftest import INTEGRATION_PORTS, wait_for
from testsupport.collector import CollectorProcess
from testsupport.otlp import OtlpReceiver
from testsupport.pgpair import Pair, start_pair, targets_yaml

pytestmark = pytest.mark.integration

PAIR_PORT = INTEGRATION_PORTS + 700
OTLP_PORT = INTEGRATION_PORTS + 710
COLLECTOR_PORT = INTEGRATION_PORTS + 711
SECRET = "Ultra-Secret-PW-4711"
CLUSTER = "ext-cluster"


@pytest.fixture(scope="module")
def pair(shared_tmp: Path) -> Iterator[Pair]:
    running = start_pair(shared_tmp / "targets-pair", PAIR_PORT, tls=True)
    yield running
    running.stop_all()


@pytest.fixture(scope="module")
def otlp() -> Iterator[OtlpReceiver]:
    with OtlpReceiver(OTLP_PORT) as receiver:
        yield receiver


@pytest.fixture(scope="module")
def collector(pair: Pair, otlp: OtlpReceiver, shared_tmp: Path) -> Iterator[CollectorProcess]:
    root = shared_tmp / "targets-collector"
    root.mkdir()
    targets = root / "targets.yaml"
    targets.write_text(targets_yaml(pair, CLUSTER, tls=True))
    process = CollectorProcess(
        targets_file=targets,
        state_dir=root / "state",  # does not exist yet: the collector creates it
        port=COLLECTOR_PORT,
        env={
            "BOREALIS_COLLECTOR__POLL_INTERVAL_S": "0.5",
            "BOREALIS_COLLECTOR__LOGS__INTERVAL_S": "0.2",
            "BOREALIS_COLLECTOR__LOGS__EVENT_BURST": "5",
            "BOREALIS_COLLECTOR__LOGS__EVENT_WINDOW_S": "4",
            "BOREALIS_COLLECTOR__LOGS__OTLP_ENDPOINT": otlp.endpoint,
            # Its PI API too, in the tests' port range, not on the default ports.
            "BOREALIS_PORTS__PI": str(COLLECTOR_PORT + 1),
        },
        log_file=root / "collector.log",
    )
    process.start()
    wait_for(
        lambda: process.value("borealis_up", db_instance=pair.standby.name) == 1,
        15,
        what="both instances up",
    )
    yield process
    process.stop()


def events_for(collector: CollectorProcess, event_id: str, needle: str) -> list[str]:
    return [
        e["Message"]
        for e in collector.events()
        if e["EventId"] == event_id and needle in e["Message"]
    ]


def test_metrics_of_both_instances_over_http(collector: CollectorProcess, pair: Pair) -> None:
    primary, standby = pair.primary.name, pair.standby.name
    assert collector.value("borealis_up", db_instance=primary, cluster=CLUSTER) == 1
    assert collector.value("borealis_instance_is_writer", db_instance=primary, role="writer") == 1
    assert collector.value("borealis_instance_is_writer", db_instance=standby, role="reader") == 0
    assert collector.value(
        "borealis_replication_standby_info", db_instance=primary, standby=standby
    )
    assert collector.value("borealis_log_tail_success", db_instance=standby) == 1


def test_the_primary_is_watched_over_verified_tls(collector: CollectorProcess, pair: Pair) -> None:
    rows = pair.primary.sql(
        "select s.ssl, s.version from pg_stat_ssl s join pg_stat_activity a using (pid) "
        "where a.application_name = 'borealis-collector'"
    )
    assert rows and all(ssl for ssl, _ in rows), rows
    assert all(version.startswith("TLSv1.") for _, version in rows)


def test_failed_logins_are_events_and_counters(collector: CollectorProcess, pair: Pair) -> None:
    before = collector.value(
        "borealis_authentication_failures_total",
        db_instance=pair.primary.name,
        reason="unknown_role",  # mallory has no role here
    )
    pair.primary.fail_login("mallory", times=2)
    pair.standby.fail_login("mallory", times=1)  # the standby's own log

    def mallory_sources() -> dict[str, str] | None:
        """How each instance reported mallory: "listed" (one 0101 event per failure) or
        "summed up" (a 0102 naming mallory). A test that ran just before (the brute-force or
        the restart test) can leave an instance's limiter window full, so its failures then
        arrive inside a summary rather than one by one."""
        listed: dict[str, int] = {}
        summed: set[str] = set()
        for e in collector.events():
            if "mallory" not in e["Message"]:
                continue
            if e["EventId"] == "BOREALIS-EVENT-0101":
                listed[e["SourceIdentifier"]] = listed.get(e["SourceIdentifier"], 0) + 1
            elif e["EventId"] == "BOREALIS-EVENT-0102":
                summed.add(e["SourceIdentifier"])
        seen: dict[str, str] = {}
        for name, failures in ((pair.primary.name, 2), (pair.standby.name, 1)):
            if name in summed:
                seen[name] = "summed up"
            elif listed.get(name, 0) >= failures:
                seen[name] = "listed"
        return seen if len(seen) == 2 else None

    seen = wait_for(mallory_sources, 60, what="mallory's failures on both instances")
    assert set(seen) == {pair.primary.name, pair.standby.name}
    after = collector.value(
        "borealis_authentication_failures_total",
        db_instance=pair.primary.name,
        reason="unknown_role",
    )
    assert after == (before or 0) + 2
    assert (collector.value("borealis_connections_received_total") or 0) >= 3


def test_a_brute_force_attempt_is_summed_up_not_listed(
    collector: CollectorProcess, pair: Pair
) -> None:
    before = (
        collector.value(
            "borealis_authentication_failures_total",
            db_instance=pair.standby.name,
            reason="unknown_role",
        )
        or 0
    )
    started = time.monotonic()
    pair.standby.fail_login("brute", times=25)
    windows = int((time.monotonic() - started) / 4) + 2  # 4 s windows the logins spanned
    wait_for(
        lambda: (
            collector.value(
                "borealis_authentication_failures_total",
                db_instance=pair.standby.name,
                reason="unknown_role",
            )
            == before + 25
        ),
        20,
        what="all 25 failures counted",
    )

    def accounted_for() -> tuple[list[str], int] | None:
        """(failures listed, failures summed up), once every one is either: the events reach
        the store after the counters, and a slow run spans more than one window."""
        listed = events_for(collector, "BOREALIS-EVENT-0101", "user brute ")
        aggregates = events_for(collector, "BOREALIS-EVENT-0102", "brute")
        counted = sum(int(message.split()[0]) for message in aggregates)
        return (listed, counted) if aggregates and len(listed) + counted >= 25 else None

    listed, counted = wait_for(
        accounted_for, 20, what="every failure listed or summed up after the 4 s windows"
    )
    assert len(listed) <= 5 * windows < 25  # at most the burst (5) per window
    assert len(listed) + counted == 25


def test_ddl_and_role_changes_are_audited_without_secrets(
    collector: CollectorProcess, pair: Pair, otlp: OtlpReceiver
) -> None:
    pair.primary.sql("create table audited (id int primary key, note text default 'lit-4711')")
    pair.primary.sql(f"create role auditee login password '{SECRET}'")
    pair.primary.sql("grant select on audited to auditee")
    # A typo: PostgreSQL logs the statement, password and all.
    with pytest.raises(psycopg.errors.SyntaxError, match=r"(?i)loginn"):
        pair.primary.sql(f"create role auditee2 password '{SECRET}' LOGINN")
    ddl = wait_for(
        lambda: events_for(collector, "BOREALIS-EVENT-0111", "CREATE TABLE public.audited"),
        15,
        what="the DDL event",
    )
    assert ddl[0].endswith(
        "Statement: create table audited (id int primary key, note text default ?)"
    )
    roles = wait_for(
        lambda: (
            len(events_for(collector, "BOREALIS-EVENT-0121", "auditee")) == 2
            and events_for(collector, "BOREALIS-EVENT-0121", "auditee")
        ),
        15,
        what="the role events",
    )
    assert any("CREATE ROLE auditee." in m for m in roles)
    assert (
        collector.value(
            "borealis_audit_records_total",
            db_instance=pair.primary.name,
            **{"class": "ROLE", "command": "CREATE ROLE"},
        )
        or 0
    ) >= 1
    # The secret is nowhere a user or a backend could read it.
    wait_for(lambda: any("auditee" in str(r) for r in otlp.records()), 15, what="OTLP records")
    state = collector.state_dir
    stored = b"".join(p.read_bytes() for p in state.rglob("*") if p.is_file())
    for where, data in {
        "event store": stored,
        "collector log": collector.log_file.read_bytes(),
        "/metrics": collector.metrics_text().encode(),
        "OTLP": b"".join(otlp.bodies),
    }.items():
        assert SECRET.encode() not in data, where
        assert b"lit-4711" not in data, where


def test_log_records_reach_the_otlp_receiver(
    collector: CollectorProcess, pair: Pair, otlp: OtlpReceiver
) -> None:
    pair.primary.sql("create table otel_probe (id int)")
    pair.primary.fail_login("monitor")  # a role that exists: a wrong password

    def found() -> dict[str, tuple[dict[str, object], dict[str, object], str]]:
        out = {}
        for resource, attrs, body in otlp.records():
            if "otel_probe" in str(attrs.get("db.query.text")):
                out["ddl"] = (resource, attrs, body)
            if attrs.get("db.user.name") == "monitor" and attrs["severity_text"] == "FATAL":
                out["auth"] = (resource, attrs, body)
            if attrs.get("postgresql.log.kind") == "connection_received":
                out["connection"] = (resource, attrs, body)
        return out if len(out) == 3 else {}

    got = wait_for(found, 20, what="DDL, auth failure and connection records")
    resource, attrs, body = got["ddl"]
    assert resource["borealis.cluster"] == CLUSTER
    assert resource["borealis.db_instance"] == pair.primary.name
    assert resource["cloud.availability_zone"] == "local-1a"
    assert attrs["postgresql.audit.class"] == "DDL"
    assert attrs["postgresql.audit.command"] == "CREATE TABLE"
    assert attrs["db.query.text"] == "create table otel_probe (id int)"
    assert body.startswith("AUDIT: SESSION,")
    _, attrs, body = got["auth"]
    assert attrs["severity_text"] == "FATAL"
    assert attrs["db.response.status_code"] == "28P01"
    assert attrs["postgresql.auth.failure_reason"] == "password"
    assert body == 'password authentication failed for user "monitor"'


def test_a_collector_restart_neither_loses_nor_repeats_log_lines(
    collector: CollectorProcess, pair: Pair
) -> None:
    pair.primary.fail_login("restart-a")
    wait_for(
        lambda: events_for(collector, "BOREALIS-EVENT-0101", "user restart-a "), 15, what="event"
    )
    collector.stop()
    pair.primary.fail_login("restart-b", times=2)  # while nobody reads the log
    collector.start()
    pair.primary.fail_login("restart-c")
    wait_for(
        lambda: events_for(collector, "BOREALIS-EVENT-0101", "user restart-c "), 15, what="event"
    )
    assert len(events_for(collector, "BOREALIS-EVENT-0101", "user restart-a ")) == 1
    assert len(events_for(collector, "BOREALIS-EVENT-0101", "user restart-b ")) == 2
