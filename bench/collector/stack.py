"""What the collector benchmark runs: its own stack, collectors, a light load and
postgres_exporter, each a process it starts and stops."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import yaml

from bench.collector.procs import socket_ports
from collector.targets import Target, targets_from_state
from core.credentials import SUPERUSER, Credentials
from core.paths import StatePaths
from core.settings import Ports
from core.waiting import wait_until

EXPORTER = "/usr/bin/prometheus-postgres-exporter"


def http_get(url: str, timeout: float = 10) -> tuple[float, bytes]:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
        body = response.read()
    return time.perf_counter() - started, body


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without BOREALIS_* (so a developer's settings do not leak in)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOREALIS_")}
    return {**env, **extra}


# --- the stack ------------------------------------------------------------------------------


@dataclass
class Stack:
    state_dir: Path
    port_base: int
    paths: StatePaths = field(init=False)

    def __post_init__(self) -> None:
        self.paths = StatePaths(self.state_dir)

    def cli(self, *args: str, timeout: float = 600) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "borealis", *args, "--state-dir", str(self.state_dir)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=clean_env(
                BOREALIS_PORTS__BASE=str(self.port_base),
                BOREALIS_PG_ROOT=str(self.state_dir / "pg"),  # removed with the state dir
            ),
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"borealis {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout

    MARKER = ".bench-collector"

    def up(self, readers: int, attempts: int = 3) -> None:
        """A fresh cluster in the bench's own state directory (one it created before is
        removed first). Retried: Borealis' ports lie in Linux's ephemeral range
        (32768-60999), so on a busy machine a client connection may hold one for a while."""
        for attempt in range(attempts):
            self.discard()
            self.state_dir.mkdir(parents=True)
            (self.state_dir / self.MARKER).touch()
            try:
                self.cli("up", "--detach", "--readers", str(readers), "--no-workload")
                return
            except RuntimeError:
                if attempt == attempts - 1:
                    raise
                with contextlib.suppress(RuntimeError):
                    self.down()
                time.sleep(10)

    def discard(self) -> None:
        if not self.state_dir.exists():
            return
        if not (self.state_dir / self.MARKER).exists():
            raise RuntimeError(
                f"{self.state_dir} exists and was not made by this benchmark: "
                "choose another --state-dir"
            )
        self.down()
        shutil.rmtree(self.state_dir)

    def down(self) -> None:
        self.cli("down", timeout=300)

    def status(self) -> dict[str, Any]:
        return dict(json.loads(self.cli("status", "--json", timeout=60)))

    @property
    def credentials(self) -> Credentials:
        return Credentials.load(self.paths.secrets)

    def dsn(self, port: int, user: str = SUPERUSER, dbname: str = "postgres") -> str:
        return psycopg.conninfo.make_conninfo(
            host="127.0.0.1",
            port=port,
            user=user,
            password=self.credentials.password(user),
            dbname=dbname,
            connect_timeout=5,
        )

    def prometheus(self, promql: str) -> list[dict[str, Any]]:
        url = self.status_url("prometheus")
        query = urllib.parse.urlencode({"query": promql})
        _, body = http_get(f"{url}/api/v1/query?{query}")
        return list(json.loads(body)["data"]["result"])

    def status_url(self, service: str) -> str:
        return f"http://127.0.0.1:{Ports(base=self.port_base).port(service)}"

    def all_available(self) -> bool:
        status = self.status()
        return all(i["state"] == "available" for i in status["instances"])


# --- a collector of our own, for the measurement --------------------------------------------


class CollectorProcess:
    """`borealis collector` over a targets file, sampling at a chosen interval."""

    def __init__(
        self, stack: Stack, targets: list[Target], port: int, sample_s: float, work: Path
    ) -> None:
        self.stack = stack
        self.targets = targets
        self.port = port
        work.mkdir(parents=True, exist_ok=True)
        targets_file = work / f"targets-{port}.yaml"
        targets_file.touch(mode=0o600)
        targets_file.write_text(yaml.safe_dump(_targets_document(targets)))
        self.log = open(work / f"collector-{port}.log", "ab")  # noqa: SIM115
        self.popen = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "borealis",
                "collector",
                "--targets",
                str(targets_file),
                "--state-dir",
                str(work / "collector-state"),  # never created: no event store
            ],
            env=clean_env(
                BOREALIS_PORTS__COLLECTOR=str(port),
                # Its PI API too, off the default port a running stack may hold.
                BOREALIS_PORTS__PI=str(port + 5),
                BOREALIS_COLLECTOR__SAMPLE_INTERVAL_S=str(sample_s),
            ),
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.url = f"http://127.0.0.1:{port}"

    @property
    def pid(self) -> int:
        return self.popen.pid

    def wait_ready(self) -> None:
        def ready() -> bool:
            _, body = http_get(f"{self.url}/healthz", timeout=2)
            return bool(json.loads(body)["up"] == len(self.targets))

        wait_until(
            ready,
            timeout=60,
            what=f"the collector on {self.port} to see every instance",
            retry_on=(Exception,),
        )

    def backends(self) -> list[int]:
        """The server processes serving this collector's connections, on every instance."""
        return backends_of(self.stack, self.pid, self.targets)

    def stop(self) -> None:
        self.popen.terminate()
        try:
            self.popen.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=5)
        self.log.close()


def _targets_document(targets: list[Target]) -> dict[str, Any]:
    clusters: dict[str, list[dict[str, str]]] = {}
    for t in targets:
        clusters.setdefault(t.cluster, []).append(
            {"id": t.db_instance, "dsn": t.dsn, "resource_id": t.resource_id, "az": t.az}
        )
    return {"clusters": [{"id": c, "instances": i} for c, i in clusters.items()]}


def backends_of(stack: Stack, pid: int, targets: list[Target]) -> list[int]:
    ports = sorted(socket_ports(pid))
    if not ports:
        return []
    found: list[int] = []
    for target in targets:
        port = int(psycopg.conninfo.conninfo_to_dict(target.dsn)["port"] or 0)
        with psycopg.connect(stack.dsn(port), autocommit=True) as conn:
            rows = conn.execute(
                "select pid from pg_stat_activity where client_port = any(%s) "
                "and client_addr = '127.0.0.1'",
                (ports,),
            ).fetchall()
        found += [int(r[0]) for r in rows]
    return found


# --- a light workload -----------------------------------------------------------------------


class LightLoad:
    """A few small transactions a second on the writer, so there is WAL to ship, replay and
    count, and active sessions to sample."""

    def __init__(self, dsn: str, per_second: float = 20) -> None:
        self.dsn = dsn
        self.per_second = per_second
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name="light-load", daemon=True)
        self.errors = 0

    def start(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute("create table if not exists bench_load(id bigserial, pad text)")
        self.thread.start()

    def _run(self) -> None:
        while not self.stop_event.is_set():
            try:
                with psycopg.connect(self.dsn, autocommit=True) as conn:
                    while not self.stop_event.wait(1 / self.per_second):
                        conn.execute("insert into bench_load(pad) values (repeat('x', 200))")
                        conn.execute("select count(*) from bench_load where id > 0 limit 1")
            except psycopg.Error:
                self.errors += 1
                self.stop_event.wait(1)

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(timeout=10)


@contextlib.contextmanager
def postgres_exporter(stack: Stack, target: Target, port: int, work: Path) -> Iterator[int]:
    params = psycopg.conninfo.conninfo_to_dict(target.dsn)
    password = urllib.parse.quote(str(params["password"]), safe="")
    dsn = (
        f"postgresql://{params['user']}:{password}@127.0.0.1:{params['port']}/postgres"
        "?sslmode=disable"
    )
    with open(work / "postgres-exporter.log", "ab") as log:
        popen = subprocess.Popen(
            [EXPORTER, f"--web.listen-address=127.0.0.1:{port}"],
            env=clean_env(DATA_SOURCE_NAME=dsn),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until(
                lambda: http_get(f"http://127.0.0.1:{port}/metrics", timeout=5)[1],
                timeout=30,
                what="postgres_exporter",
                retry_on=(Exception,),
            )
            yield popen.pid
        finally:
            popen.terminate()
            popen.wait(timeout=15)


def local_targets(stack: Stack) -> list[Target]:
    return targets_from_state(stack.paths)
