"""The collector benchmark's measurements, each against processes bench.collector.stack
started."""

from __future__ import annotations

import contextlib
import os
import re
import statistics
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from prometheus_client.parser import text_string_to_metric_families

from bench.collector.procs import cpu_seconds
from bench.collector.stack import (
    EXPORTER,
    CollectorProcess,
    Stack,
    backends_of,
    http_get,
)
from collector.targets import Target
from core.credentials import APP_DATABASE, APP_USER
from core.waiting import wait_until

# Series families that belong to Performance Insights (another part of the collector).
PI_FAMILIES = ("borealis_db_load", "borealis_sampler", "borealis_pi_", "borealis_digest")


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
            wait_until(
                lambda: stack.prometheus(query),
                timeout=30,
                interval=0.05,
                what="the lag in Prometheus",
                retry_on=(Exception,),
            )
            seen_after.append(time.monotonic() - committed)
        finally:
            with psycopg.connect(stack.dsn(reader_port), autocommit=True) as conn:
                conn.execute("select pg_wal_replay_resume()")
        wait_until(
            lambda: not stack.prometheus(query),
            timeout=30,
            what="the lag to clear",
            retry_on=(Exception,),
        )
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
        # A text search, not a parse: parsing 240 KiB takes longer than the change does.
        url = f"{stack.status_url('collector')}/metrics"
        line = re.compile(
            rf'^borealis_instance_is_writer{{[^}}]*db_instance="{re.escape(target)}"[^}}]*}} 1\.0$',
            re.MULTILINE,
        )
        while not stop.is_set():
            with contextlib.suppress(OSError):
                if line.search(http_get(url)[1].decode()):
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
    wait_until(
        lambda: stack.prometheus(query),
        timeout=120,
        interval=0.05,
        what="the new writer in Prometheus",
        retry_on=(Exception,),
    )
    seen = time.monotonic()
    stop.set()
    failover.join(timeout=120)
    for watcher in watchers:
        watcher.join(timeout=5)
    window = f"{max(1, round(time.monotonic() - requested + 1))}s"
    scrapes = stack.prometheus(
        f'max_over_time(scrape_duration_seconds{{job="borealis"}}[{window}])'
    )
    up = f'up{{job="borealis"}}[{window}]'
    failed = stack.prometheus(f"count_over_time({up}) - sum_over_time({up})")
    result = {
        "request_to_prometheus_s": seen - requested,
        "slowest_scrape_s": float(scrapes[0]["value"][1]) if scrapes else float("nan"),
        "failed_scrapes": float(failed[0]["value"][1]) if failed else float("nan"),
    }
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
