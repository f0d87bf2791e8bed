"""A real PostgreSQL 15 for the integration tier, started once per session."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from cluster import pgctl
from cluster.pgconf import available_preload_libraries
from core.waiting import WaitTimeout, wait_until
from tests.conftest import INTEGRATION_PORTS

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PORT = INTEGRATION_PORTS + 440
SUPER_PASSWORD = "integration-super"
MONITOR_PASSWORD = "integration-monitor"


@dataclass
class Postgres:
    data: Path
    port: int
    popen: subprocess.Popen[bytes]

    def dsn(self, user: str = "postgres", password: str = SUPER_PASSWORD) -> str:
        return f"host=127.0.0.1 port={self.port} user={user} password={password} dbname=postgres"

    @property
    def monitor_dsn(self) -> str:
        return self.dsn("monitor", MONITOR_PASSWORD)

    def connect(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(self.dsn(), autocommit=True)

    def signal_all(self, sig: signal.Signals) -> None:
        pgctl.signal_tree(self.popen.pid, sig)


def start_server(
    root: Path, port: int, super_password: str, max_connections: int = 60
) -> tuple[Path, subprocess.Popen[bytes], list[str]]:
    """A fresh PostgreSQL 15 under `root` (reachable by the postgres OS user), with every
    preload extension there is: (data dir, postmaster, preloaded libraries)."""
    user = pgctl.OsUser.lookup("postgres")
    tools = pgctl.PgTools(PG_BIN, user)
    root.mkdir()
    user.chown(root)
    data = root / "data"
    data.mkdir(mode=0o700)
    user.chown(data)
    pwfile = root / "pw"
    pwfile.write_text(super_password + "\n")
    user.chown(pwfile)
    tools.initdb(data, pwfile)
    preload = available_preload_libraries(PG_BIN)
    with open(data / "postgresql.conf", "a") as conf:
        conf.write(
            f"listen_addresses = '127.0.0.1'\nunix_socket_directories = '{root}'\n"
            f"shared_preload_libraries = '{','.join(preload)}'\ncompute_query_id = on\n"
            f"shared_buffers = 32MB\nmax_connections = {max_connections}\n"
            "track_io_timing = on\n"
        )
    popen = tools.start_postmaster(data, {"port": str(port)}, root / "postgres.log")

    def ready() -> bool:
        if popen.poll() is not None:
            raise RuntimeError(f"PostgreSQL exited: {(root / 'postgres.log').read_text()[-2000:]}")
        return pgctl.postmaster_status(data) == "ready"

    try:
        wait_until(ready, timeout=30, interval=0.05, what="PostgreSQL to accept connections")
    except WaitTimeout as exc:
        raise RuntimeError(f"{exc}: {(root / 'postgres.log').read_text()[-2000:]}") from exc
    return data, popen, preload


@pytest.fixture(scope="session")
def postgres(shared_tmp: Path) -> Iterator[Postgres]:
    if not (PG_BIN / "postgres").exists():
        pytest.fail("PostgreSQL 15 is not installed: run `make install`")
    try:
        data, popen, preload = start_server(shared_tmp / "integration", PORT, SUPER_PASSWORD)
    except RuntimeError as exc:
        pytest.fail(str(exc))
    server = Postgres(data, PORT, popen)
    with server.connect() as conn:
        conn.execute(f"create role monitor login password '{MONITOR_PASSWORD}'")
        conn.execute("grant pg_monitor to monitor")
        for ext in ("pg_stat_statements", "pg_wait_sampling"):
            if ext in preload:
                conn.execute(f"create extension if not exists {ext}")
    yield server
    pgctl.stop_process(popen.pid, sig=signal.SIGINT, timeout=30)
    popen.wait(timeout=10)
    os.sync()
