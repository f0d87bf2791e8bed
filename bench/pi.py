"""Performance Insights benchmark (on demand, not in CI): `python -m bench.pi`.

Starts its own PostgreSQL 15 (pg_stat_statements + pg_wait_sampling preloaded) with a steady
workload (sleeping, lock-waiting and idle sessions), then runs the collector alone against it,
one configuration at a time, side by side in one run:

* sampling every 1 s and every 100 ms, each with and without pg_wait_sampling;
* CPU = the collector process plus its database backends, from /proc (utime + stime), over a
  measured window after a warm-up, as % of one core;
* the series of the PI part of /metrics with 60 distinct digests running (cap 50).

Results go to docs/benchmarks.md under `## Performance Insights` (that section is replaced).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from prometheus_client.parser import text_string_to_metric_families
from psycopg.conninfo import make_conninfo

from cluster import pgctl
from core.waiting import wait_until
from testsupport.postgres import start_server

SUPER = "bench-super"
MONITOR = "bench-monitor"
CLOCK_TICK = os.sysconf("SC_CLK_TCK")
PI_FAMILIES = (
    "borealis_db_load",
    "borealis_db_sql_digest_info",
    "borealis_sampler_",
)


@dataclass(frozen=True)
class Result:
    name: str
    interval: float
    wait_sampling: bool
    collector_pct: float
    backend_pct: float
    samples_per_s: float

    @property
    def total_pct(self) -> float:
        return self.collector_pct + self.backend_pct


def cpu_seconds(pid: int) -> float:
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICK


# --- PostgreSQL and workload --------------------------------------------------------------


@contextlib.contextmanager
def postgres(root: Path, port: int) -> Iterator[str]:
    _, popen, _ = start_server(root, port, SUPER, max_connections=100)
    try:
        dsn = make_conninfo(
            host="127.0.0.1", port=port, user="postgres", password=SUPER, dbname="postgres"
        )
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"create role monitor login password '{MONITOR}'")
            conn.execute("grant pg_monitor to monitor")
            conn.execute("create extension pg_stat_statements")
            conn.execute("create extension pg_wait_sampling")
            conn.execute("create table bench_lock(id int primary key)")
            conn.execute("insert into bench_lock values (1), (2)")
        yield dsn
    finally:
        pgctl.stop_process(popen.pid, sig=signal.SIGINT, timeout=30)
        popen.wait(timeout=10)


class Workload:
    """20 idle connections, 4 sessions looping over pg_sleep(1), 2 waiting on row locks."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        self.conns: list[psycopg.Connection[tuple[object, ...]]] = []

    def start(self, digests: int = 0) -> None:
        for _ in range(20):
            self.conns.append(psycopg.connect(self.dsn, autocommit=True, application_name="idle"))
        holder = psycopg.connect(self.dsn, application_name="holder")
        holder.execute("update bench_lock set id = id")
        self.conns.append(holder)
        for i in range(4):
            self._loop(f"sleeper-{i}", ["select pg_sleep(1)"])
        for i in range(2):
            self._loop(f"blocked-{i}", [f"update bench_lock set id = id where id = {i + 1}"])
        if digests:
            # Statements of different shapes are different digests (constants are not).
            shapes = [
                "select pg_sleep(0.2)" + "".join(f", {k}" for k in range(n)) for n in range(digests)
            ]
            for i in range(6):
                self._loop(f"digests-{i}", shapes[i::6])

    def _loop(self, name: str, statements: list[str]) -> None:
        def body() -> None:
            with psycopg.connect(self.dsn, autocommit=True, application_name=name) as conn:
                while not self.stop.is_set():
                    for statement in statements:
                        with contextlib.suppress(psycopg.errors.QueryCanceled):
                            conn.execute(statement)  # type: ignore[arg-type]

        thread = threading.Thread(target=body, daemon=True)
        thread.start()
        self.threads.append(thread)

    def close(self) -> None:
        self.stop.set()
        for conn in self.conns:
            conn.close()  # the holder's rollback releases the lock waiters
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute(
                "select pg_cancel_backend(pid) from pg_stat_activity "
                "where application_name like 'sleeper%' or application_name like 'digests%'"
            )
        for thread in self.threads:
            thread.join(timeout=10)


# --- the collector, alone, in a child process ---------------------------------------------


def child_env(interval: float, wait_sampling: bool, port_base: int, state: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOREALIS_")}
    env.update(
        BOREALIS_COLLECTOR__SAMPLE_INTERVAL_S=str(interval),
        BOREALIS_COLLECTOR__WAIT_SAMPLING="true" if wait_sampling else "false",
        # The metric pollers are the other half of the collector (bench/collector measures
        # them): one poll a minute keeps them out of this measurement.
        BOREALIS_COLLECTOR__POLL_INTERVAL_S="60",
        BOREALIS_COLLECTOR__DOWN_AFTER_S="600",
        BOREALIS_PORTS__BASE=str(port_base),
        BOREALIS_STATE_DIR=str(state),
    )
    return env


def targets_file(path: Path, port: int) -> Path:
    monitor_dsn = make_conninfo(
        host="127.0.0.1", port=port, user="monitor", password=MONITOR, dbname="postgres"
    )
    path.write_text(
        "clusters:\n  - id: bench\n    instances:\n      - id: bench-1\n"
        f"        dsn: {json.dumps(monitor_dsn)}\n        resource_id: db-BENCH\n"
    )
    return path


def collector_backends(dsn: str) -> list[int]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "select pid from pg_stat_activity where application_name = 'borealis-collector'"
        ).fetchall()
    return [int(r[0]) for r in rows]


@contextlib.contextmanager
def collector(
    interval: float, wait_sampling: bool, port_base: int, state: Path, targets: Path
) -> Iterator[subprocess.Popen[bytes]]:
    argv = [sys.executable, "-m", "borealis", "collector", "--targets", str(targets)]
    env = child_env(interval, wait_sampling, port_base, state)
    log = open(state / "collector.log", "ab")  # noqa: SIM115 - closed below
    child = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield child
    finally:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        log.close()


def metrics(port: int) -> str:
    url = f"http://127.0.0.1:{port}/metrics"
    with urllib.request.urlopen(url, timeout=10) as response:
        return str(response.read().decode())


def samples_taken(port: int) -> float:
    for family in text_string_to_metric_families(metrics(port)):
        for sample in family.samples:
            if sample.name == "borealis_db_load_samples_total":
                return float(sample.value)
    return 0.0


def sampling(child: subprocess.Popen[bytes], port: int, state: Path) -> bool:
    """Whether the collector answers /metrics with samples taken (it fails if it exited)."""
    if child.poll() is not None:
        tail = (state / "collector.log").read_text(errors="replace")[-3000:]
        raise RuntimeError(f"the collector exited ({child.returncode}): {tail}")
    return samples_taken(port) > 0


def measure(
    name: str,
    interval: float,
    wait_sampling: bool,
    *,
    dsn: str,
    port_base: int,
    root: Path,
    targets: Path,
    seconds: float,
) -> Result:
    state = root / name
    state.mkdir()
    collector_port = port_base + 91
    with collector(interval, wait_sampling, port_base, state, targets) as child:
        time.sleep(8)  # imports, connections, the first statistics read
        wait_until(
            functools.partial(sampling, child, collector_port, state),
            timeout=60,
            interval=0.5,
            retry_on=(OSError,),
            what=f"the {name} collector to answer with samples",
        )
        backends = collector_backends(dsn)
        before = cpu_seconds(child.pid), sum(cpu_seconds(p) for p in backends)
        samples_before = samples_taken(collector_port)
        started = time.monotonic()
        time.sleep(seconds)
        elapsed = time.monotonic() - started
        after = cpu_seconds(child.pid), sum(cpu_seconds(p) for p in backends)
        samples_after = samples_taken(collector_port)
    return Result(
        name,
        interval,
        wait_sampling,
        100 * (after[0] - before[0]) / elapsed,
        100 * (after[1] - before[1]) / elapsed,
        (samples_after - samples_before) / elapsed,
    )


def pi_series(*, port_base: int, root: Path, targets: Path, dsn: str) -> tuple[int, int, int]:
    """(PI series, all collector series, digest series) with 60 digests running, cap 50."""
    state = root / "series"
    state.mkdir()
    workload = Workload(dsn)
    workload.start(digests=60)
    try:
        with collector(0.1, True, port_base, state, targets):
            time.sleep(20)
            text = metrics(port_base + 91)
    finally:
        workload.close()
    names = [s.name for family in text_string_to_metric_families(text) for s in family.samples]
    pi = [n for n in names if n.startswith(PI_FAMILIES)]
    digests = [n for n in names if n == "borealis_db_load_by_sql_seconds_total"]
    return len(pi), len(names), len(digests)


# --- report -------------------------------------------------------------------------------


def machine() -> str:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown CPU",
    )
    memory = next(
        line.split()[1]
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    return f"{os.cpu_count()} x {model}, {int(memory) // 1024 // 1024} GiB, {platform.platform()}"


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def report(
    results: list[Result], series: tuple[int, int, int], seconds: float, load: tuple[str, str]
) -> str:
    pi, total, digests = series
    lines = [
        "## Performance Insights",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}, with "
        "`make install-test && .venv/bin/python -m bench.pi` (about 4 minutes). `uptime` "
        f"before: `{load[0]}`; after: `{load[1]}`.",
        "",
        "One PostgreSQL 15 instance with 20 idle connections, 4 sessions in `pg_sleep(1)` loops "
        "and 2 waiting on row locks; the collector alone (`borealis collector --targets`) as "
        "the `pg_monitor` role. CPU is utime + stime from /proc over "
        f"{seconds:.0f} s after an 8 s warm-up, as % of one core, for the collector process "
        "(its metric pollers slowed to one poll a minute, so this is the PI part: sampler, "
        "pg_stat_statements and counters every 30 s, store, /metrics scraped twice) plus its "
        "database backends. With pg_wait_sampling, its profile is read once a second.",
        "",
        "| sampling | pg_wait_sampling | samples/s | collector % | backends % | total % |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.interval:g} s | {'on' if r.wait_sampling else 'off'} | {r.samples_per_s:.1f} "
            f"| {r.collector_pct:.2f} | {r.backend_pct:.2f} | {r.total_pct:.2f} |"
        )
    worst = max((r for r in results if r.interval < 1), key=lambda r: r.total_pct)
    slow = next(
        (r for r in results if r.interval >= 1 and r.wait_sampling == worst.wait_sampling), worst
    )
    verdict = "meets it" if worst.total_pct <= 1.0 else (
        f"misses it by {worst.total_pct - 1.0:.2f} points"
    )  # fmt: skip
    verdict += (
        f": the collector's part is {worst.collector_pct:.2f} % ({slow.collector_pct:.2f} % "
        f"at 1 s), its backend's {worst.backend_pct:.2f} % ({slow.backend_pct:.2f} % at 1 s). "
        "One round trip carries ten samples (the server takes them 100 ms apart, "
        "collector/sql/active_sessions.sql), so Python and the network are paid once a "
        "second whatever the rate. What stays per sample is the backend waking up (about "
        "0.1 ms on this VM: `pg_sleep` alone, from /proc/<pid>/schedstat) and copying every "
        "backend's status for pg_stat_get_activity with cold caches (about 0.2 ms; 0.06 ms "
        "warm)."
    )
    lines += [
        "",
        f"Target: 100 ms sampling at ≤ 1 % of one core per instance. The worst 100 ms row "
        f"({worst.total_pct:.2f} %) {verdict}",
        "",
        f"Series with 60 distinct digests running (cap `collector.max_digests` = 50): the PI "
        f"part of /metrics is {pi} series for the instance ({digests} of them "
        f"`borealis_db_load_by_sql_seconds_total`: 50 digests + `other`), of {total} in the "
        "whole collector for one instance.",
        "",
    ]
    return "\n".join(lines)


def write_section(path: Path, section: str) -> None:
    text = path.read_text() if path.exists() else "# Benchmarks\n\n"
    start = text.find("## Performance Insights")
    if start >= 0:
        end = text.find("\n## ", start + 1)
        rest = text[end + 1 :] if end >= 0 else ""
        text = text[:start] + section.rstrip("\n") + "\n\n" + rest
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port-base", type=int, default=22000)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks.md"))
    args = parser.parse_args(argv)
    load_before = uptime()
    root = Path(tempfile.mkdtemp(prefix="borealis-bench-pi-", dir="/var/tmp"))
    os.chmod(root, 0o755)
    pg_port = args.port_base + 440
    try:
        with postgres(root / "pg", pg_port) as dsn:
            targets = targets_file(root / "targets.yaml", pg_port)
            workload = Workload(dsn)
            workload.start()
            results = []
            try:
                for interval in (1.0, 0.1):
                    for waits in (False, True):
                        name = f"{interval:g}s-{'waits' if waits else 'activity'}"
                        result = measure(
                            name,
                            interval,
                            waits,
                            dsn=dsn,
                            port_base=args.port_base,
                            root=root,
                            targets=targets,
                            seconds=args.seconds,
                        )
                        print(result, flush=True)
                        results.append(result)
            finally:
                workload.close()
            series = pi_series(port_base=args.port_base, root=root, targets=targets, dsn=dsn)
            print("series (pi, all, digests):", series, flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    section = report(results, series, args.seconds, (load_before, uptime()))
    write_section(args.out, section)
    print(section)


if __name__ == "__main__":
    main()
