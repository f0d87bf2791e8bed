"""The observer effect: pgbench TPS on the writer with no collector, one sampling at 1 s and
one at 100 ms, in paired rounds.

Each round runs every mode once, back to back, in an order rotated from round to round, and
each mode's TPS is divided by the same round's `off` TPS: a machine whose speed drifts over
minutes (a shared VM) moves both sides of a ratio together, where means over the whole run
would mix rounds taken at different speeds. The figure is the median of those paired
ratios, with a bootstrap 95 % interval of it, so a reader sees whether the 2 % bound is
inside what was measured. The median, not the mean, decides: now and then one run of a round
(any mode, `off` included) is 10-30 % slow, as if the VM's host took a core for a while, and
those rounds pull the mean and widen its interval more than they say about the collector.
The mean and its interval are reported beside it.

The stack's own monitoring (its collector, Prometheus, Alertmanager, the UI and APIs) is held
with SIGSTOP for the whole measurement: its bursts (a rule group's evaluation every few
seconds) would only add noise, the same in every mode. The running collector is scraped
once a second, as Prometheus does, so what serving /metrics costs it is counted.

The CPU each collector used while it ran (its process, and its server backends on every
instance) is counted too, as a share of the machine's cores: in a CPU-bound benchmark that is
about what it can take from the benchmark. The backends' part is what a database host pays
wherever the collector runs; the process part only when it runs on the same host, as under
`borealis up`.
"""

from __future__ import annotations

import os
import random
import signal
import statistics
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.collector import stack as stacks
from bench.collector.procs import cpu_seconds
from bench.load.pressure import pgbench
from collector.targets import targets_from_state

OFF = "off"
MODES = {"1 s": 1.0, "100 ms": 0.1}  # mode -> the collector's sample interval
SETTLE_S = 2.0  # a resumed collector gets back into its cadence
HELD = ("collector", "prometheus", "alertmanager", "ui", "cloudwatch", "webhook")
BOOTSTRAP_DRAWS = 4000


@dataclass
class Rounds:
    """Per mode, one TPS and one CPU figure a round (CPU: share of the machine's cores)."""

    tps: dict[str, list[float]] = field(default_factory=dict)
    cpu: dict[str, list[tuple[float, float]]] = field(default_factory=dict)  # process, backends

    def add(self, mode: str, tps: float, cpu: tuple[float, float] = (0.0, 0.0)) -> None:
        self.tps.setdefault(mode, []).append(tps)
        self.cpu.setdefault(mode, []).append(cpu)


def paired_ratios(rounds: Rounds, mode: str) -> list[float]:
    """Each round's TPS of `mode` over the same round's TPS without a collector."""
    return [v / off for v, off in zip(rounds.tps[mode], rounds.tps[OFF], strict=True)]


def bootstrap_interval(
    values: Sequence[float],
    statistic: Callable[[Sequence[float]], float] = statistics.fmean,
    draws: int = BOOTSTRAP_DRAWS,
    seed: int = 0,
) -> tuple[float, float]:
    """A 95 % percentile-bootstrap interval of `statistic` (the mean unless told) of `values`
    (seeded: reproducible)."""
    draw = random.Random(seed)
    stats = sorted(statistic(draw.choices(values, k=len(values))) for _ in range(draws))
    return stats[int(0.025 * draws)], stats[int(0.975 * draws) - 1]


def summary(rounds: Rounds, cores: int) -> dict[str, Any]:
    """What the report prints: per mode its TPS, paired ratios, interval and CPU share."""
    out: dict[str, Any] = {
        "rounds": len(rounds.tps[OFF]),
        "tps": {m: [round(v) for v in values] for m, values in rounds.tps.items()},
        "median_tps": {m: round(statistics.median(v)) for m, v in rounds.tps.items()},
        "modes": {},
    }
    for mode in rounds.tps:
        if mode == OFF:
            continue
        ratios = paired_ratios(rounds, mode)
        low, high = bootstrap_interval(ratios)
        median_low, median_high = bootstrap_interval(ratios, statistics.median)
        process = statistics.fmean(c[0] for c in rounds.cpu[mode])
        backends = statistics.fmean(c[1] for c in rounds.cpu[mode])
        out["modes"][mode] = {
            "ratios": [round(r, 3) for r in ratios],
            "median_ratio": round(statistics.median(ratios), 4),
            "median_interval": [round(median_low, 4), round(median_high, 4)],
            "mean_ratio": round(statistics.fmean(ratios), 4),
            "interval": [round(low, 4), round(high, 4)],
            "cpu_process_pct": round(100 * process / cores, 2),
            "cpu_backends_pct": round(100 * backends / cores, 2),
        }
    return out


@contextmanager
def scraped_every_second(url: str) -> Iterator[None]:
    """/metrics of `url` read once a second while the block runs (as Prometheus would)."""
    stop = threading.Event()

    def scrape() -> None:
        while not stop.wait(1.0):
            try:
                with urllib.request.urlopen(f"{url}/metrics", timeout=5) as response:  # noqa: S310
                    response.read()
            except OSError:
                continue

    thread = threading.Thread(target=scrape, name="observer-scrape", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(10)


def held_pids(stack: stacks.Stack) -> list[int]:
    """The stack's monitoring services that are running, by their pid files."""
    pids = []
    for name in HELD:
        path = stack.paths.pid_file(name)
        if path.exists():
            pids.append(int(path.read_text().strip()))
    return pids


def measure(
    stack: stacks.Stack,
    work: Path,
    *,
    writer_port: int,
    port_base: int,
    rounds: int,
    seconds: float,
    select_only: bool,
) -> dict[str, Any]:
    """pgbench on the writer, the modes alternated by SIGSTOP and SIGCONT of two extra
    collectors over the stack's instances (the stack's own monitoring held stopped)."""
    env = {**os.environ, "PGPASSWORD": stack.credentials.password("postgres")}
    conn = ["-h", "127.0.0.1", "-p", str(writer_port), "-U", "postgres", "postgres"]
    init = ["pgbench", "-i", "-q", "-s", "10", *conn]
    subprocess.run(init, env=env, check=True, capture_output=True)
    held = held_pids(stack)
    targets = targets_from_state(stack.paths)
    collectors = {
        mode: stacks.CollectorProcess(stack, targets, port_base + 200 + 10 * n, interval, work)
        for n, (mode, interval) in enumerate(MODES.items())
    }
    order = [OFF, *MODES]
    result = Rounds()
    for pid in held:
        os.kill(pid, signal.SIGSTOP)
    try:
        for c in collectors.values():
            c.wait_ready()
        backends = {mode: c.backends() for mode, c in collectors.items()}
        pgbench(conn, env, seconds, select_only=select_only)  # warm the caches: not counted
        for n in range(rounds):
            for mode in order[n % len(order) :] + order[: n % len(order)]:
                for name, c in collectors.items():
                    os.kill(c.pid, signal.SIGCONT if name == mode else signal.SIGSTOP)
                time.sleep(SETTLE_S)
                collector = collectors.get(mode)
                pids = [collector.pid, *backends[mode]] if collector else []
                before = cpu_seconds(pids)
                started = time.monotonic()
                with scraped_every_second(collector.url) if collector else nullcontext():
                    tps = pgbench(conn, env, seconds, select_only=select_only)
                wall = time.monotonic() - started
                used = cpu_seconds(pids)
                spent = [used[p] - before[p] if p in used and p in before else 0.0 for p in pids]
                cpu = (spent[0] / wall, sum(spent[1:]) / wall) if spent else (0.0, 0.0)
                result.add(mode, tps, cpu)
                print(
                    f"  round {n + 1} {mode:>6}: {tps:.0f} tps, cpu {cpu[0]:.4f}+{cpu[1]:.4f}",
                    flush=True,
                )
    finally:
        for c in collectors.values():
            os.kill(c.pid, signal.SIGCONT)
            c.stop()
        for pid in held:
            os.kill(pid, signal.SIGCONT)
    return {
        **summary(result, os.cpu_count() or 1),
        "pgbench": f"pgbench -n{' -S' if select_only else ''} -c 4 -j 4 -T {seconds:.0f} "
        f"({'read-only' if select_only else 'TPC-B like'}, scale 10)",
        "instances": len(targets),
    }
