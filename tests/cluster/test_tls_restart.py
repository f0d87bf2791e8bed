"""TLS to every instance, clients required to use it, and a host crash that loses nothing.

One stack of its own (a writer and one reader) with `tls.require_clients: true`:
- the manager's and the collector's sessions are encrypted (pg_stat_ssl), a client with
  sslmode=verify-full and the cluster CA connects through the cluster endpoint, a client
  without TLS is refused;
- the collector is killed, DDL is written to the writer's log while it is down, then every
  Borealis process is SIGKILLed (the supervisor, its services, postmasters, backends,
  pg_receivewal) while a ledger client writes; `up` says what it recovered, no acknowledged
  write is lost, the events from before the crash are kept and the DDL lines written while
  the collector was down become events exactly once; Prometheus kept its samples; the
  certificates, removed meanwhile (a stack from before TLS), are made again and used.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import signal
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import psycopg
import pytest

from cluster import pgctl
from tests.cluster.helpers import endpoint_dsn
from tests.conftest import LIFECYCLE_PORTS, Stack, wait_for
from testsupport.checker import ZeroLossChecker

pytestmark = pytest.mark.cluster

CRASH_PORTS = LIFECYCLE_PORTS + 500  # a block of its own inside the lifecycle range


def _up(stack: Stack) -> str:
    done = stack.cli("up", "--detach", "--readers", "1", "--no-workload", timeout=300)
    if done.returncode != 0:
        log = stack.state_dir / "logs" / "supervisor.log"
        tail = log.read_text()[-3000:] if log.exists() else ""
        pytest.fail(f"borealis up failed: {done.stderr}\n{tail}")
    return done.stdout


def _sigkill_everything(stack: Stack) -> None:
    """A host crash, as near as one host allows: SIGKILL every process of the stack."""

    def survivors() -> list[int]:
        pids = [pid for pid, _ in stack.processes()]
        for data_dir in (stack.data_root / "data").iterdir():
            pids += pgctl.processes_in(data_dir)  # backends: their cmdline names no path
        return pids

    killed: set[int] = set()

    def all_dead() -> bool:
        for pid in survivors():
            killed.add(pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return not survivors()

    wait_for(all_dead, 30, interval=0.05, what="every process of the stack killed")
    # Gone, not just dying: after a host crash no pid of the stack exists, and PostgreSQL
    # takes a socket lock file whose pid is still exiting (or not yet reaped) as in use.
    wait_for(
        lambda: not any(Path(f"/proc/{pid}").exists() for pid in killed),
        30,
        interval=0.05,
        what="every killed process reaped",
    )


def _ssl_sessions(stack: Stack, port: int) -> dict[str, set[bool]]:
    rows = stack.sql(
        port,
        "select a.application_name, s.ssl from pg_stat_ssl s join pg_stat_activity a "
        "using (pid) where a.client_port is not null",
    )
    sessions: dict[str, set[bool]] = {}
    for name, ssl in rows:
        sessions.setdefault(str(name), set()).add(bool(ssl))
    return sessions


def _ddl_events(stack: Stack, marker: str) -> list[dict[str, Any]]:
    return [
        e
        for e in stack.events(minutes=30)
        if e["EventId"] == "BOREALIS-EVENT-0111" and marker in e["Message"]
    ]


def _prometheus_at(stack: Stack, promql: str, at: float) -> list[dict[str, Any]]:
    url = stack.status()["services"]["prometheus"]
    query = urllib.parse.urlencode({"query": promql, "time": f"{at:.3f}"})
    with urllib.request.urlopen(f"{url}/api/v1/query?{query}", timeout=10) as response:  # noqa: S310
        return list(json.load(response)["data"]["result"])


def test_tls_everywhere_and_a_host_crash_loses_nothing(shared_tmp: Path) -> None:
    state = shared_tmp / "crash"
    stack = Stack(
        state,
        {
            "BOREALIS_PORTS__BASE": str(CRASH_PORTS),
            "BOREALIS_PG_ROOT": str(shared_tmp / "crash-pg"),
            "BOREALIS_TLS__REQUIRE_CLIENTS": "true",
        },
    )
    _up(stack)
    try:
        _check_tls(stack)
        _crash_and_recover(stack)
    finally:
        stack.cli("down", timeout=180)
    assert stack.processes() == []


def _check_tls(stack: Stack) -> None:
    ca = stack.data_root / "tls" / "ca.crt"
    writer = stack.writer()
    key = stack.data_root / "tls" / f"{writer['id']}.key"
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    assert key.stat().st_uid == pgctl.OsUser.lookup("postgres").uid

    def manager_and_collector() -> dict[str, set[bool]]:
        found = _ssl_sessions(stack, writer["port"])
        ours = {n: s for n, s in found.items() if n.startswith(("borealis-manager", "borealis-c"))}
        kinds = {n.split("-")[1] for n in ours}
        return ours if kinds >= {"manager", "collector"} else {}

    sessions = wait_for(
        manager_and_collector, 30, what="the manager's and the collector's sessions on the writer"
    )
    assert all(ssl == {True} for ssl in sessions.values()), sessions
    # A client that verifies the server (name and CA) through the cluster endpoint.
    verified = endpoint_dsn(stack, "writer") + f" sslmode=verify-full sslrootcert={ca}"
    with psycopg.connect(verified, autocommit=True) as conn:
        row = conn.execute("select ssl, version from pg_stat_ssl where pid = pg_backend_pid()")
        ssl, version = row.fetchone() or (False, None)
    assert ssl is True and version in {"TLSv1.2", "TLSv1.3"}
    # Without TLS: refused, on the endpoint and on the instance itself.
    for port in (urllib.parse.urlsplit(stack.status()["endpoints"]["writer"]).port, writer["port"]):
        plain = stack.app_dsn(int(port or 0)) + " sslmode=disable"
        with pytest.raises(psycopg.OperationalError, match="no encryption"):
            psycopg.connect(plain).close()


def _crash_and_recover(stack: Stack) -> None:
    ca = stack.data_root / "tls" / "ca.crt"
    writer = stack.writer()
    dsn = endpoint_dsn(stack, "writer") + f" sslmode=verify-full sslrootcert={ca}"
    marker = f"crash_probe_{int(time.time())}"
    # An event stored before the crash, and a sample Prometheus took before it.
    with psycopg.connect(stack.superuser_dsn(writer["port"]), autocommit=True) as conn:
        conn.execute(f"create table {marker}_before (id int)")
    wait_for(lambda: _ddl_events(stack, f"{marker}_before"), 30, what="the event before the crash")
    wait_for(
        lambda: stack.prometheus('up{job="borealis"} == 1'),
        60,
        what="a collector sample in Prometheus",
    )
    before_crash = time.time()

    checker = ZeroLossChecker(dsn, clients=2)
    checker.start()
    wait_for(lambda: checker.acknowledged() >= 50, 60, what="acknowledged writes")
    # The collector goes first: the DDL below reaches the log while nobody reads it.
    collector_pid = pgctl.read_pid(stack.state_dir / "run" / "collector.pid")
    assert collector_pid is not None
    os.kill(collector_pid, signal.SIGKILL)
    with psycopg.connect(stack.superuser_dsn(writer["port"]), autocommit=True) as conn:
        for n in range(3):
            conn.execute(f"create table {marker}_down_{n} (id int)")
    _sigkill_everything(stack)
    checker.stop()
    # As a stack made before TLS existed: no certificates; the next `up` makes them.
    old_ca = ca.read_bytes()
    shutil.rmtree(stack.data_root / "tls")
    (stack.state_dir / "tls-ca.key").unlink()

    report = _up(stack)
    assert f"{writer['id']} was not shut down cleanly: recovered" in report, report
    assert "supervisor" in report and "pid file replaced" in report, report
    assert "collector was not stopped cleanly: stale pid file removed" in report, report
    assert "TLS: made a certificate authority" in report, report
    assert ca.read_bytes() != old_ca
    _check_tls(stack)
    verdict = checker.verify(dsn)
    assert verdict.acknowledged >= 50
    assert verdict.ok, verdict.summary()

    assert len(_ddl_events(stack, f"{marker}_before")) == 1
    for n in range(3):
        table = f"{marker}_down_{n}"
        found = wait_for(
            functools.partial(_ddl_events, stack, table),
            30,
            what=f"the DDL written while the collector was down ({table})",
        )
        assert len(found) == 1, found
    assert _prometheus_at(stack, 'up{job="borealis"}', before_crash)
