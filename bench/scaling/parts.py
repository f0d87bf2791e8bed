"""The real parts the scaling bench starts: plain PostgreSQL servers, `borealis collector`
processes, Prometheus, and a synthetic exporter; CPU and memory from /proc."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cluster import pgctl
from collector.procfs import CLOCK_TICKS, ProcFs

PG_BIN = Path("/usr/lib/postgresql/15/bin")
SUPER_PASSWORD = "bench-scaling-super"  # noqa: S105 - throwaway local servers
MONITOR_PASSWORD = "bench-scaling-monitor"  # noqa: S105
PROC = ProcFs()
PAGE = os.sysconf("SC_PAGE_SIZE")


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"bench.scaling: timed out waiting for {what}")


def http_get(url: str, timeout: float = 30) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - local
        return bytes(response.read())


def tree(pid: int) -> list[int]:
    """`pid` and every descendant (the PostgreSQL backends under a postmaster)."""
    found, frontier = [pid], [pid]
    while frontier:
        parent = frontier.pop()
        kids = pgctl.children(parent)
        found += kids
        frontier += kids
    return found


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            total += PROC.stat(pid).own_ticks / CLOCK_TICKS
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def rss_bytes(pid: int) -> int:
    return PROC.stat(pid).rss_pages * PAGE


@dataclass
class PgServer:
    data: Path
    port: int
    popen: subprocess.Popen[bytes]

    def stop(self) -> None:
        pgctl.stop_process(self.popen.pid, sig=signal.SIGINT, timeout=60)
        self.popen.wait(timeout=30)

    def dsn(self) -> str:
        return (
            f"host=127.0.0.1 port={self.port} user=monitor password={MONITOR_PASSWORD} "
            "dbname=postgres connect_timeout=5"
        )


def start_pg(root: Path, port: int, max_connections: int) -> PgServer:
    user = pgctl.OsUser.lookup("postgres")
    tools = pgctl.PgTools(PG_BIN, user)
    root.mkdir(mode=0o755)
    user.chown(root)
    data = root / "data"
    data.mkdir(mode=0o700)
    user.chown(data)
    pwfile = root / "pw"
    pwfile.write_text(SUPER_PASSWORD + "\n")
    user.chown(pwfile)
    tools.initdb(data, pwfile)
    with open(data / "postgresql.conf", "a") as conf:
        conf.write(
            f"listen_addresses = '127.0.0.1'\nunix_socket_directories = '{root}'\n"
            f"max_connections = {max_connections}\nshared_buffers = 64MB\n"
            "shared_preload_libraries = 'pg_stat_statements'\n"
        )
    popen = tools.start_postmaster(data, {"port": str(port)}, root / "postgres.log")
    wait_for(lambda: pgctl.postmaster_status(data) == "ready", 60, f"PostgreSQL on {port}")
    psql = [
        str(PG_BIN / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
        "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-c",
        f"create role monitor login password '{MONITOR_PASSWORD}'; grant pg_monitor to monitor;"
        " create extension pg_stat_statements;",
    ]  # fmt: skip
    subprocess.run(psql, check=True, capture_output=True, env={"PGPASSWORD": SUPER_PASSWORD})
    return PgServer(data, port, popen)


def targets_yaml(servers: list[PgServer], instances: int, per_cluster: int) -> str:
    """`instances` targets, round-robin over `servers`, `per_cluster` to a cluster."""
    lines = ["clusters:"]
    for n in range(instances):
        if n % per_cluster == 0:
            lines += [f"  - id: sim-{n // per_cluster:03d}", "    instances:"]
        server = servers[n % len(servers)]
        lines += [f"      - id: sim-{n:04d}", f'        dsn: "{server.dsn()}"']
    return "\n".join(lines) + "\n"


@dataclass
class Process:
    """A child process with its log file; stopped with SIGTERM."""

    argv: list[str]
    log_file: Path
    env: dict[str, str] = field(default_factory=dict)
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("BOREALIS_")}
        with open(self.log_file, "ab") as log:
            self.popen = subprocess.Popen(
                self.argv, stdout=log, stderr=subprocess.STDOUT, env={**inherited, **self.env}
            )
        return self

    def alive(self) -> bool:
        if self.popen is None or self.popen.poll() is not None:
            raise SystemExit(f"bench.scaling: {self.argv[0]} exited; see {self.log_file}")
        return True

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self.popen = None


def collector(root: Path, targets: str, port: int, pi_port: int) -> Process:
    root.mkdir(parents=True)
    (root / "targets.yaml").write_text(targets)
    argv = [
        sys.executable, "-m", "borealis", "collector",
        "--targets", str(root / "targets.yaml"), "--state-dir", str(root / "state"),
    ]  # fmt: skip
    env = {"BOREALIS_PORTS__COLLECTOR": str(port), "BOREALIS_PORTS__PI": str(pi_port)}
    return Process(argv, root / "collector.log", env)


def prometheus(root: Path, port: int, config: dict[str, Any]) -> Process:
    root.mkdir(parents=True)
    (root / "prometheus.yml").write_text(json.dumps(config))  # JSON is YAML
    argv = [
        "prometheus",
        f"--config.file={root / 'prometheus.yml'}",
        f"--storage.tsdb.path={root / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    return Process(argv, root / "prometheus.log")


def promql(port: int, query: str) -> list[dict[str, Any]]:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": query})
    return list(json.loads(http_get(url))["data"]["result"])


def scalar(port: int, query: str) -> float:
    rows = promql(port, query)
    return float(rows[0]["value"][1]) if rows else float("nan")


class SyntheticExporter:
    """`targets` /metrics paths, each `series` gauge series (values alternate per scrape, so
    Prometheus appends real samples); bodies are built once."""

    def __init__(self, port: int, targets: int, series: int) -> None:
        self.port = port
        self.bodies: dict[str, tuple[bytes, bytes]] = {}
        for t in range(targets):
            rows = [
                f'synthetic_value{{target="t{t}",shard="{i % 100}",id="{i}"}} '
                for i in range(series)
            ]
            header = "# TYPE synthetic_value gauge\n"
            self.bodies[f"/t{t}"] = tuple(  # type: ignore[assignment]
                (header + "".join(f"{r}{v}\n" for r in rows)).encode() for v in (1, 2)
            )
        self.flip = 0
        self._server: ThreadingHTTPServer | None = None

    def __enter__(self) -> SyntheticExporter:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                pair = outer.bodies.get(self.path)
                if pair is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                outer.flip ^= 1
                body = pair[outer.flip]
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()
