"""Shared test helpers. Tiers: unit (pure), integration (one real PostgreSQL), cluster (the
real stack), ui (a real headless Chromium against the real stack)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import psycopg
import pytest
from botocore.config import Config
from psycopg.conninfo import make_conninfo

from testsupport.children import child_env
from testsupport.waiting import wait_for

# Every port a test uses derives from one base, so two checkouts can run their suites at once
# (BOREALIS_TEST_PORT_BASE=30000 make test). Blocks of 1000: integration, stack, lifecycle,
# drill (the cluster tier's stack for faults and failovers).
PORT_BASE = int(os.environ.get("BOREALIS_TEST_PORT_BASE", "26000"))
INTEGRATION_PORTS = PORT_BASE  # PostgreSQL at +440, collector ports from +500
STACK_PORTS = PORT_BASE + 1000
LIFECYCLE_PORTS = PORT_BASE + 2000
DRILL_PORTS = PORT_BASE + 3000

__all__ = ["child_env", "wait_for"]  # the tests import them from here


@pytest.fixture(scope="session")
def shared_tmp(request: pytest.FixtureRequest) -> Iterator[Path]:
    """A directory the unprivileged postgres user can reach (pytest's own are mode 0700).

    Kept, with every log in it, when a test failed."""
    path = Path(tempfile.mkdtemp(prefix="borealis-test-", dir="/var/tmp"))
    os.chmod(path, 0o755)
    yield path
    if request.session.testsfailed:
        print(f"\nkept {path} for inspection (logs under */logs)")
    else:
        shutil.rmtree(path, ignore_errors=True)


# --- the real stack -----------------------------------------------------------------------


def borealis(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "borealis", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=child_env(env),
        check=False,
    )


def cloudwatch_client(endpoint_url: str, access_key: str = "borealis") -> Any:
    """boto3's `cloudwatch` client against a Borealis CloudWatch API, failing at once (no
    retries); `access_key` is the caller the trail records."""
    return boto3.client(
        "cloudwatch",
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id=access_key,
        aws_secret_access_key="borealis",
        config=Config(retries={"max_attempts": 1}),
    )


def stack_processes(*directories: Path) -> list[tuple[int, str]]:
    """Live (non-zombie) processes whose command line mentions one of the directories (the
    state directory: the services; the data root: PostgreSQL and pg_receivewal)."""
    found = []
    markers = [str(directory).encode() for directory in directories]
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            stat = Path(f"/proc/{entry}/stat").read_bytes()
        except OSError:
            continue
        state = stat[stat.rindex(b")") + 2 : stat.rindex(b")") + 3]
        mentioned = any(marker in cmdline for marker in markers)
        if mentioned and state not in (b"Z", b"X") and int(entry) != os.getpid():
            found.append((int(entry), cmdline.replace(b"\0", b" ").decode(errors="replace")))
    return found


@dataclass
class Stack:
    state_dir: Path
    env: dict[str, str]
    status_cache: dict[str, Any] = field(default_factory=dict)

    @property
    def data_root(self) -> Path:
        """PostgreSQL's files: next to the state directory in tests (see `start_stack`)."""
        return Path(self.env["BOREALIS_PG_ROOT"])

    def processes(self) -> list[tuple[int, str]]:
        return stack_processes(self.state_dir, self.data_root)

    def cli(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return borealis(*args, "--state-dir", str(self.state_dir), env=self.env, timeout=timeout)

    def status(self) -> dict[str, Any]:
        done = self.cli("status", "--json", timeout=60)
        assert done.returncode == 0, done.stderr
        return dict(json.loads(done.stdout))

    def events(self, minutes: float = 60) -> list[dict[str, Any]]:
        done = self.cli("events", "--json", "--minutes", str(minutes), timeout=60)
        assert done.returncode == 0, done.stderr
        return list(json.loads(done.stdout)["Events"])

    def writer(self) -> dict[str, Any]:
        return next(i for i in self.status()["instances"] if i["role"] == "writer")

    def superuser_dsn(self, port: int) -> str:
        secrets = json.loads((self.state_dir / "secrets.json").read_text())
        return make_conninfo(
            host="127.0.0.1",
            port=port,
            user="postgres",
            password=secrets["superuser"],
            dbname="postgres",
            connect_timeout=3,
        )

    def app_dsn(self, port: int) -> str:
        secrets = json.loads((self.state_dir / "secrets.json").read_text())
        return make_conninfo(
            host="127.0.0.1",
            port=port,
            user="borealis_app",
            password=secrets["app"],
            dbname="app",
            connect_timeout=3,
        )

    def sql(self, port: int, query: str) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.superuser_dsn(port), autocommit=True) as conn:
            return conn.execute(query).fetchall()  # type: ignore[arg-type]

    def prometheus_url(self) -> str:
        """Prometheus' URL, asked of `status` once: its port comes from the stack's port base
        and does not move. (Not `setdefault(..., self.status()...)`, which runs `status`, a
        CLI process, on every call.)"""
        if "prometheus" not in self.status_cache:
            self.status_cache["prometheus"] = self.status()["services"]["prometheus"]
        return str(self.status_cache["prometheus"])

    def prometheus(self, promql: str) -> list[dict[str, Any]]:
        url = self.prometheus_url()
        query = urllib.parse.urlencode({"query": promql})
        with urllib.request.urlopen(f"{url}/api/v1/query?{query}", timeout=10) as response:  # noqa: S310
            body = json.load(response)
        return list(body["data"]["result"])

    def all_available(self) -> bool:
        status = self.status()
        return all(i["state"] == "available" for i in status["instances"]) and all(
            s["state"] == "available" for s in status["segments"]
        )


def start_stack(state_dir: Path, port_base: int, readers: int) -> Stack:
    # The data root beside the state directory, inside shared_tmp: removed with it (the
    # default, under /var/lib/borealis, is what test_first_start exercises).
    env = {
        "BOREALIS_PORTS__BASE": str(port_base),
        "BOREALIS_PG_ROOT": str(state_dir.parent / f"{state_dir.name}-pg"),
    }
    stack = Stack(state_dir, env)
    done = stack.cli("up", "--detach", "--readers", str(readers), "--no-workload", timeout=300)
    if done.returncode != 0:
        log = state_dir / "logs" / "supervisor.log"
        tail = log.read_text()[-3000:] if log.exists() else ""
        stack.cli("down", timeout=120)
        pytest.fail(f"borealis up failed: {done.stderr}\n{tail}")
    return stack


@pytest.fixture(scope="session")
def stack(shared_tmp: Path) -> Iterator[Stack]:
    """The real stack (writer, 2 readers, 6 segments, collector, Prometheus, UI), once per
    session, shared by the cluster and UI tiers."""
    running = start_stack(shared_tmp / "stack", STACK_PORTS, readers=2)
    yield running
    done = running.cli("down", timeout=180)
    assert done.returncode == 0, done.stderr
    assert running.processes() == []
