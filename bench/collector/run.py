"""Each measurement of the collector benchmark, against a stack this module starts."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import statistics
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
from prometheus_client.parser import text_string_to_metric_families

from bench.collector.procs import cpu_seconds, socket_ports
from borealis.paths import StatePaths
from borealis.settings import Ports
from cluster.credentials import APP_DATABASE, APP_USER, SUPERUSER, Credentials
from collector.targets import Target, targets_from_state

EXPORTER = "/usr/bin/prometheus-postgres-exporter"
# Series families that belong to Performance Insights (another part of the collector).
PI_FAMILIES = ("borealis_db_load", "borealis_sampler", "borealis_pi_", "borealis_digest")


def http_get(url: str, timeout: float = 10) -> tuple[float, bytes]:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
        body = response.read()
    return time.perf_counter() - started, body


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without BOREALIS_* (so a developer's settings do not leak in)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOREALIS_")}
    return {**env, **extra}


def wait_until(check: Any, timeout: float, what: str, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            value = check()
            if value:
                return value
        time.sleep(interval)
    raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")


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
            env=clean_env(BOREALIS_PORTS__BASE=str(self.port_base)),
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"borealis {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout

    MARKER = ".bench-collector"

    def up(self, readers: int, attempts: int = 2) -> None:
        """A fresh cluster in the bench's own state directory (one it created before is
        removed first). Retried once: an instance port can be taken by some client's
        ephemeral port on a busy machine."""
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

        wait_until(ready, 60, f"the collector on {self.port} to see every instance")

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


@dataclass(frozen=True)
class CpuWindow:
    seconds: float
    instances: int
    process_cpu: float
    backend_cpu: float
    backends: int
    backends_lost: int  # reconnected during the window: their CPU is not counted

    @property
    def percent_per_instance(self) -> float:
        return 100 * (self.process_cpu + self.backend_cpu) / self.seconds / self.instances

    @property
    def process_percent_per_instance(self) -> float:
        return 100 * self.process_cpu / self.seconds / self.instances


def cpu_window(
    pid: int, backends: list[int], seconds: float, instances: int, scrape_url: str
) -> CpuWindow:
    """CPU over `seconds` while scraped once a second, as Prometheus does."""
    p0, b0 = cpu_seconds([pid]), cpu_seconds(backends)
    started = time.monotonic()
    tick = 0
    while (now := time.monotonic()) < started + seconds:
        if now >= started + tick:
            http_get(scrape_url)
            tick += 1
        time.sleep(max(0.0, min(started + tick, started + seconds) - time.monotonic()))
    p1, b1 = cpu_seconds([pid]), cpu_seconds(backends)
    elapsed = time.monotonic() - started
    return CpuWindow(
        seconds=elapsed,
        instances=instances,
        process_cpu=p1[pid] - p0[pid],
        backend_cpu=sum(b1[p] - b0[p] for p in b0 if p in b1),
        backends=len(b0),
        backends_lost=sum(1 for p in b0 if p not in b1),
    )


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


# --- measurements ---------------------------------------------------------------------------


def series_counts(text: str) -> dict[str, Any]:
    total = 0
    per_instance: dict[str, int] = {}
    own_per_instance: dict[str, int] = {}
    for family in text_string_to_metric_families(text):
        pi = family.name.startswith(PI_FAMILIES)
        for sample in family.samples:
            total += 1
            instance = sample.labels.get("db_instance")
            if instance is None:
                continue
            per_instance[instance] = per_instance.get(instance, 0) + 1
            if not pi:
                own_per_instance[instance] = own_per_instance.get(instance, 0) + 1
    return {
        "total": total,
        "per_instance_max": max(per_instance.values(), default=0),
        "per_instance_median": statistics.median(per_instance.values()) if per_instance else 0,
        "own_per_instance_max": max(own_per_instance.values(), default=0),
        "instances": len(per_instance),
    }


def scrape_timings(url: str, scrapes: int, gap_s: float = 0.2) -> dict[str, Any]:
    durations = []
    body = b""
    for _ in range(scrapes):
        took, body = http_get(url)
        durations.append(took)
        time.sleep(gap_s)
    return {
        "median_ms": 1000 * statistics.median(durations),
        "p95_ms": 1000 * sorted(durations)[int(0.95 * (len(durations) - 1))],
        "max_ms": 1000 * max(durations),
        "bytes": len(body),
        "series": series_counts(body.decode()),
    }


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
                30,
                "postgres_exporter",
            )
            yield popen.pid
        finally:
            popen.terminate()
            popen.wait(timeout=15)


def side_by_side(
    ours: CollectorProcess, exporter_pid: int, exporter_url: str, target: Target, rounds: int
) -> dict[str, Any]:
    """Both scraped once a second, interleaved, for `rounds` seconds: scrape time, CPU per
    scrape (process alone, and with its database backends), series."""
    for _ in range(3):  # warm-up: the exporter connects on its first scrape
        http_get(exporter_url)
        http_get(f"{ours.url}/metrics")
    stack = ours.stack
    our_backends = ours.backends()
    their_backends = backends_of(stack, exporter_pid, [target])
    pids = [ours.pid, exporter_pid, *our_backends, *their_backends]
    before = cpu_seconds(pids)
    times: dict[str, list[float]] = {"ours": [], "exporter": []}
    bodies: dict[str, bytes] = {}
    started = time.monotonic()
    for i in range(rounds):
        took, bodies["ours"] = http_get(f"{ours.url}/metrics")
        times["ours"].append(took)
        took, bodies["exporter"] = http_get(exporter_url)
        times["exporter"].append(took)
        time.sleep(max(0.0, started + i + 1 - time.monotonic()))
    after = cpu_seconds(pids)
    their_backends_after = backends_of(stack, exporter_pid, [target])

    def spent(group: list[int]) -> float:
        return sum(after[p] - before[p] for p in group if p in before and p in after)

    result: dict[str, Any] = {"rounds": rounds}
    for name, pid, backends in (
        ("ours", ours.pid, our_backends),
        ("exporter", exporter_pid, their_backends),
    ):
        result[name] = {
            "median_ms": 1000 * statistics.median(times[name]),
            "p95_ms": 1000 * sorted(times[name])[int(0.95 * (rounds - 1))],
            "cpu_per_scrape_ms": 1000 * spent([pid]) / rounds,
            "cpu_with_backends_per_scrape_ms": 1000 * spent([pid, *backends]) / rounds,
            "backends": len(backends),
            "series": series_counts(bodies[name].decode())["total"],
        }
    result["exporter"]["pg_series"] = sum(
        1
        for line in bodies["exporter"].decode().splitlines()
        if line.startswith("pg_") and not line.startswith("#")
    )
    result["exporter"]["backends_changed"] = set(their_backends) != set(their_backends_after)
    return result


def lag_jumps(stack: Stack, writer_port: int, reader: str, reader_port: int, n: int) -> list[float]:
    """Pause replay on a reader, write 2 MB on the writer: seconds until Prometheus shows the
    reader more than 1 MB behind."""
    seen_after = []
    app = stack.dsn(writer_port, APP_USER, APP_DATABASE)
    with psycopg.connect(app, autocommit=True) as conn:
        conn.execute("create table if not exists bench_lag(pad text)")
    query = f'borealis_replica_lag_bytes{{db_instance="{reader}"}} > 1000000'
    for _ in range(n):
        with psycopg.connect(stack.dsn(reader_port), autocommit=True) as conn:
            conn.execute("select pg_wal_replay_pause()")
        try:
            with psycopg.connect(app, autocommit=True) as conn:
                conn.execute(
                    "insert into bench_lag select repeat('x', 1000) from generate_series(1, 2000)"
                )
            committed = time.monotonic()
            wait_until(lambda: stack.prometheus(query), 30, "the lag in Prometheus", 0.05)
            seen_after.append(time.monotonic() - committed)
        finally:
            with psycopg.connect(stack.dsn(reader_port), autocommit=True) as conn:
                conn.execute("select pg_wal_replay_resume()")
        wait_until(lambda: not stack.prometheus(query), 30, "the lag to clear", 0.2)
        time.sleep(2)
    return seen_after


def new_writer(stack: Stack, target: str, port: int) -> dict[str, float]:
    """Fail over to `target`: seconds from its promotion (seen in SQL) until the stack's
    collector, then Prometheus, show it as the writer."""
    marks: dict[str, float] = {}
    stop = threading.Event()

    def watch_promotion() -> None:
        while not stop.is_set():
            try:
                with psycopg.connect(stack.dsn(port), autocommit=True) as conn:
                    while not stop.is_set():
                        row = conn.execute("select pg_is_in_recovery()").fetchone()
                        if row is not None and row[0] is False:
                            marks["promoted"] = time.monotonic()
                            return
                        time.sleep(0.01)
            except psycopg.Error:
                time.sleep(0.05)

    def watch_collector() -> None:
        url = f"{stack.status_url('collector')}/metrics"
        while not stop.is_set():
            with contextlib.suppress(OSError):
                for family in text_string_to_metric_families(http_get(url)[1].decode()):
                    if family.name != "borealis_instance_is_writer":
                        continue
                    for sample in family.samples:
                        if sample.labels.get("db_instance") == target and sample.value == 1:
                            marks["collector"] = time.monotonic()
                            return
            time.sleep(0.02)

    watchers = [threading.Thread(target=f, daemon=True) for f in (watch_promotion, watch_collector)]
    for watcher in watchers:
        watcher.start()
    requested = time.monotonic()
    failover = threading.Thread(target=lambda: stack.cli("failover", "--target", target))
    failover.start()
    query = f'borealis_instance_is_writer{{db_instance="{target}"}} == 1'
    wait_until(lambda: stack.prometheus(query), 120, "the new writer in Prometheus", 0.05)
    seen = time.monotonic()
    stop.set()
    failover.join(timeout=120)
    for watcher in watchers:
        watcher.join(timeout=5)
    result = {"request_to_prometheus_s": seen - requested}
    if "promoted" in marks:
        result["promotion_to_prometheus_s"] = seen - marks["promoted"]
        if "collector" in marks:
            result["promotion_to_collector_s"] = marks["collector"] - marks["promoted"]
    return result


def prometheus_cost(stack: Stack) -> dict[str, float]:
    def one(promql: str) -> float:
        found = stack.prometheus(promql)
        return float(found[0]["value"][1]) if found else float("nan")

    return {
        "rule_group_seconds": one(
            'avg_over_time(prometheus_rule_group_last_duration_seconds{rule_group=~".*cloudwatch"}[2m])'
        ),
        "rule_group_interval_s": one(
            'prometheus_rule_group_interval_seconds{rule_group=~".*cloudwatch"}'
        ),
        "rules": one('prometheus_rule_group_rules{rule_group=~".*cloudwatch"}'),
        "prometheus_cpu_cores": one('rate(process_cpu_seconds_total{job="prometheus"}[2m])'),
        "head_series": one("prometheus_tsdb_head_series"),
    }


def machine() -> dict[str, Any]:
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gib": round(int(mem) / 1024 / 1024, 1),
        "kernel": os.uname().release,
        "postgres_exporter": subprocess.run(
            [EXPORTER, "--version"], capture_output=True, text=True, check=False
        ).stderr.splitlines()[0]
        if Path(EXPORTER).exists()
        else "missing",
    }


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def local_targets(stack: Stack) -> list[Target]:
    return targets_from_state(stack.paths)
