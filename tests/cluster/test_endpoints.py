"""The cluster and reader endpoints on the shared stack, as an application sees them."""

from __future__ import annotations

import json
from typing import Any

import psycopg
import pytest

from tests.cluster.helpers import endpoint_dsn
from tests.conftest import STACK_PORTS, Stack, wait_for

pytestmark = pytest.mark.cluster


def where(conn: psycopg.Connection[Any]) -> tuple[str, bool]:
    row = conn.execute("select current_setting('cluster_name'), pg_is_in_recovery()").fetchone()
    assert row is not None
    return str(row[0]), bool(row[1])


def test_status_names_both_endpoints_and_where_the_password_is(stack: Stack) -> None:
    status = stack.status()
    assert status["endpoints"] == {
        "writer": f"postgresql://borealis_app@127.0.0.1:{STACK_PORTS + 32}/app",
        "reader": f"postgresql://borealis_app@127.0.0.1:{STACK_PORTS + 33}/app",
    }
    secrets = json.loads((stack.state_dir / "secrets.json").read_text())
    assert all(password not in json.dumps(status) for password in secrets.values())
    assert status["credentials"]["password_file"] == str(stack.state_dir / "secrets.json")
    text = stack.cli("status").stdout
    assert f"writer endpoint  postgresql://borealis_app@127.0.0.1:{STACK_PORTS + 32}/app" in text
    assert "secrets.json" in text


def test_writer_endpoint_writes_and_reader_endpoint_spreads_over_readers(stack: Stack) -> None:
    wait_for(stack.all_available, 60, what="a healthy cluster")
    status = stack.status()
    readers = {i["id"] for i in status["instances"] if i["role"] == "reader"}
    with psycopg.connect(endpoint_dsn(stack, "writer")) as conn:
        assert where(conn) == (status["writer"], False)
    seen = set()
    for _ in range(2 * len(readers)):
        with psycopg.connect(endpoint_dsn(stack, "reader")) as conn:
            name, in_recovery = where(conn)
        assert in_recovery
        seen.add(name)
    assert seen == readers


def test_endpoints_follow_a_failover_and_cut_connections_that_changed_role(stack: Stack) -> None:
    wait_for(stack.all_available, 60, what="a healthy cluster")
    old = stack.writer()["id"]
    to_writer = psycopg.connect(endpoint_dsn(stack, "writer"), autocommit=True)
    on_readers = [psycopg.connect(endpoint_dsn(stack, "reader"), autocommit=True) for _ in range(2)]
    target, _ = where(on_readers[0])
    done = stack.cli("failover", "--target", target, timeout=120)
    assert done.returncode == 0, done.stderr
    # The old writer's connection is gone, and so is the reader-endpoint connection to the
    # reader that became the writer: their clients reconnect.
    with pytest.raises(psycopg.OperationalError):
        to_writer.execute("select 1")
    with pytest.raises(psycopg.OperationalError):
        on_readers[0].execute("select 1")
    # The other reader's connection was left alone.
    assert where(on_readers[1])[1] is True
    with psycopg.connect(endpoint_dsn(stack, "writer")) as conn:
        assert where(conn) == (target, False)
    for conn in (to_writer, *on_readers):
        conn.close()
    wait_for(stack.all_available, 90, what="the old writer back as a reader")
    roles = {i["id"]: i["role"] for i in stack.status()["instances"]}
    assert roles[old] == "reader"
