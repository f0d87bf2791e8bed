"""The stack's collector tails every instance's jsonlog: what a user sees of it."""

from __future__ import annotations

import contextlib

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from tests.conftest import Stack, wait_for

pytestmark = pytest.mark.cluster


def test_ddl_and_failed_logins_on_the_writer_are_events_and_series(stack: Stack) -> None:
    writer = stack.writer()
    port = writer["port"]
    with psycopg.connect(stack.superuser_dsn(port), autocommit=True) as conn:
        conn.execute("create table if not exists logs_probe (id int, note text default 'x-123')")
    with contextlib.suppress(psycopg.OperationalError):
        psycopg.connect(
            make_conninfo(
                host="127.0.0.1",
                port=port,
                user="borealis_app",
                password="wrong",
                dbname="app",
                connect_timeout=3,
            )
        ).close()
    ddl = wait_for(
        lambda: [
            e
            for e in stack.events()
            if e["EventId"] == "BOREALIS-EVENT-0111" and "logs_probe" in e["Message"]
        ],
        20,
        what="a DDL event from the writer's pgaudit record",
    )
    assert ddl[-1]["SourceIdentifier"] == writer["id"]
    assert "default ?" in ddl[-1]["Message"]  # no literal
    failed = wait_for(
        lambda: [
            e
            for e in stack.events()
            if e["EventId"] == "BOREALIS-EVENT-0101" and "borealis_app" in e["Message"]
        ],
        20,
        what="an authentication-failure event",
    )
    assert failed[-1]["Message"].endswith("to database app: wrong password.")
    series = wait_for(
        lambda: stack.prometheus(
            f'borealis_authentication_failures_total{{db_instance="{writer["id"]}",'
            'reason="password"} > 0'
        ),
        20,
        what="the failure counted in Prometheus",
    )
    assert series[0]["metric"]["role"] == "writer"
    # Every instance's log is being read.
    tails = stack.prometheus("borealis_log_tail_success == 1")
    assert len(tails) == len(stack.status()["instances"])
