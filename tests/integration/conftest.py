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
from psycopg.conninfo import make_conninfo

from cluster import pgctl
from tests.conftest import INTEGRATION_PORTS
from testsupport.postgres import PG_BIN, start_server

PORT = INTEGRATION_PORTS + 440
SUPER_PASSWORD = "integration-super"
MONITOR_PASSWORD = "integration-monitor"


@dataclass
class Postgres:
    data: Path
    port: int
    popen: subprocess.Popen[bytes]

    def dsn(self, user: str = "postgres", password: str = SUPER_PASSWORD) -> str:
        return make_conninfo(
            host="127.0.0.1", port=self.port, user=user, password=password, dbname="postgres"
        )

    @property
    def monitor_dsn(self) -> str:
        return self.dsn("monitor", MONITOR_PASSWORD)

    def connect(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(self.dsn(), autocommit=True)

    def signal_all(self, sig: signal.Signals) -> None:
        pgctl.signal_tree(self.popen.pid, sig)


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
