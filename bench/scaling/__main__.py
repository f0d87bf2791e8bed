"""python -m bench.scaling [--write] [--sizes 16 64 256] [--million-points 250000 ...]

The figures docs/scaling.md decides with, measured with real parts on this machine:

1. Collector and Prometheus cost at 16, 64 and 256 simulated instances: one
   `borealis collector --targets` process whose targets (4 to a cluster) all point at two
   plain PostgreSQL servers the bench starts, scraped by a real Prometheus at the stack's
   interval. Per size: series and bytes on /metrics, scrape time (direct and as Prometheus
   sees it), CPU (% of one core) and RSS of the collector, of the PostgreSQL backends serving
   it, and of Prometheus.
2. Prometheus memory per million series: a fresh Prometheus scraping a synthetic exporter
   (values change every scrape) at a few head sizes; the slope of RSS and Go heap over
   series is the cost of a million.

Prints the section and, with --write, replaces it in docs/scaling.md. Raw figures go to
bench/results/scaling-<time>.json. About 10 minutes; run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.collector.measure import machine, uptime
from bench.scaling import parts
from bench.scaling.report import render, write_section

ROOT = Path(__file__).resolve().parents[2]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.scaling", description=__doc__)
    default_state = Path("/var/tmp/borealis-bench-scaling")  # noqa: S108 - postgres reaches it
    parser.add_argument("--state-dir", type=Path, default=default_state)
    parser.add_argument("--port-base", type=int, default=24000)
    parser.add_argument("--sizes", type=int, nargs="*", default=[16, 64, 256])
    parser.add_argument(
        "--scrape-interval", type=float, default=1.0, help="poll and scrape interval, seconds"
    )
    parser.add_argument(
        "--slow-interval",
        type=float,
        default=5.0,
        help="then the largest size with this poll and scrape interval (0: skip)",
    )
    parser.add_argument("--settle", type=float, default=20.0, help="seconds before measuring")
    parser.add_argument("--window", type=float, default=30.0, help="CPU window, seconds")
    parser.add_argument(
        "--million-points", type=int, nargs="+", default=[250_000, 500_000, 1_000_000]
    )
    parser.add_argument("--per-target", type=int, default=250_000, help="synthetic series")
    parser.add_argument("--write", action="store_true", help="update docs/scaling.md")
    return parser.parse_args(argv)


def scrape_times(url: str, n: int = 10) -> dict[str, float]:
    times, size = [], 0
    for _ in range(n):
        started = time.perf_counter()
        size = len(parts.http_get(url))
        times.append(time.perf_counter() - started)
    times.sort()
    return {
        "median_ms": statistics.median(times) * 1000,
        "max_ms": times[-1] * 1000,
        "bytes": size,
    }


def series_on(url: str) -> tuple[int, int]:
    """(samples on /metrics, instances with borealis_up 1)."""
    samples = up = 0
    for line in parts.http_get(url).decode().splitlines():
        if line and not line.startswith("#"):
            samples += 1
            if line.startswith("borealis_up{") and float(line.rsplit(" ", 1)[1]) == 1:
                up += 1
    return samples, up


def one_size(
    args: argparse.Namespace, servers: list[parts.PgServer], size: int, interval_s: float
) -> dict[str, Any]:
    """`size` targets polled and scraped every `interval_s`."""
    base = args.port_base + 10 + size + (3 if interval_s != args.scrape_interval else 0)
    root = args.state_dir / f"size-{size}-{interval_s:g}s"
    collector = parts.collector(
        root / "collector", parts.targets_yaml(servers, size, 4), base, base + 1
    )
    collector.env["BOREALIS_COLLECTOR__POLL_INTERVAL_S"] = str(interval_s)
    collector.env["BOREALIS_COLLECTOR__DOWN_AFTER_S"] = str(2 * interval_s)
    collector.start()
    url = f"http://127.0.0.1:{base}/metrics"
    interval = f"{round(interval_s * 1000)}ms"
    config = {
        "global": {"scrape_interval": interval, "scrape_timeout": interval},
        "scrape_configs": [
            {"job_name": "borealis", "static_configs": [{"targets": [f"127.0.0.1:{base}"]}]}
        ],
    }
    prom_port = base + 2
    prom = parts.prometheus(root / "prometheus", prom_port, config).start()
    try:
        started = time.monotonic()
        parts.wait_for(lambda: parts.http_get(url, 5), 120, "the collector's /metrics")
        up = 0
        while time.monotonic() - started < 180:  # all up, or as many as it manages
            _, up = series_on(url)
            if up >= size:
                break
            time.sleep(1)
        time.sleep(args.settle)
        pg_pids = [pid for s in servers for pid in parts.tree(s.popen.pid)]
        before = {
            "collector": parts.cpu_seconds([collector.pid]),
            "postgres": parts.cpu_seconds(pg_pids),
            "prometheus": parts.cpu_seconds([prom.pid]),
            "t": time.monotonic(),
        }
        time.sleep(args.window)
        pg_pids = [pid for s in servers for pid in parts.tree(s.popen.pid)]
        elapsed = time.monotonic() - before["t"]
        cpu = {
            "collector": parts.cpu_seconds([collector.pid]),
            "postgres": parts.cpu_seconds(pg_pids),
            "prometheus": parts.cpu_seconds([prom.pid]),
        }
        percent = {k: 100 * (cpu[k] - before[k]) / elapsed for k in cpu}
        samples, up = series_on(url)
        q = "scrape_duration_seconds{job='borealis'}"
        window = f"[{max(20, round(4 * interval_s))}s]"
        result = {
            "interval_s": interval_s,
            "instances": size,
            "up": up,
            "series": samples,
            "scrape": scrape_times(url),
            "prometheus_scrape_s": parts.scalar(prom_port, f"avg_over_time({q}{window})"),
            "prometheus_up_ratio": parts.scalar(
                prom_port, f"avg_over_time(up{{job='borealis'}}{window})"
            ),
            "prometheus_series": parts.scalar(prom_port, 'count({__name__=~".+"})'),
            "cpu_percent": percent,
            "rss_mib": {
                "collector": parts.rss_bytes(collector.pid) / 2**20,
                "prometheus": parts.rss_bytes(prom.pid) / 2**20,
            },
            "backends": len(pg_pids) - len(servers),
        }
        print(json.dumps(result), flush=True)
        return result
    finally:
        prom.stop()
        collector.stop()


def memory_point(args: argparse.Namespace, series: int) -> dict[str, Any]:
    per_target = min(series, args.per_target)
    targets = max(1, series // per_target)
    port = args.port_base + 900
    root = args.state_dir / f"memory-{series}"
    interval_s = 15
    config = {
        "global": {"scrape_interval": f"{interval_s}s", "scrape_timeout": "14s"},
        "scrape_configs": [
            {
                "job_name": f"synthetic-{t}",
                "metrics_path": f"/t{t}",
                "static_configs": [{"targets": [f"127.0.0.1:{port}"]}],
            }
            for t in range(targets)
        ]
        + [{"job_name": "prometheus", "static_configs": [{"targets": [f"127.0.0.1:{port + 1}"]}]}],
    }
    ready = f"http://127.0.0.1:{port + 1}/-/ready"
    with parts.SyntheticExporter(port, targets, per_target):
        prom = parts.prometheus(root, port + 1, config).start()
        try:
            parts.wait_for(lambda: prom.alive() and parts.http_get(ready, 5), 60, "Prometheus")
            total = targets * per_target
            parts.wait_for(
                lambda: parts.scalar(port + 1, "prometheus_tsdb_head_series") >= total,
                300,
                f"{total} series in the head",
            )
            time.sleep(4 * interval_s)  # a few samples in every series
            rss = parts.rss_bytes(prom.pid)
            heap = parts.scalar(port + 1, "go_memstats_heap_inuse_bytes")
            head = parts.scalar(port + 1, "prometheus_tsdb_head_series")
            result = {"series": head, "rss_mib": rss / 2**20, "heap_mib": heap / 2**20}
            print(json.dumps(result), flush=True)
            return result
        finally:
            prom.stop()


def slope(points: list[dict[str, Any]], key: str) -> float:
    """Least-squares MiB per million series."""
    xs = [p["series"] / 1e6 for p in points]
    ys = [p[key] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    covariance = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    return float(covariance / sum((x - mx) ** 2 for x in xs))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "load_before": uptime(),
        "command": "python -m bench.scaling" + (" --write" if args.write else ""),
        "scrape_interval_s": args.scrape_interval,
    }
    started = time.monotonic()
    if args.state_dir.exists():
        shutil.rmtree(args.state_dir)
    args.state_dir.mkdir(parents=True, mode=0o755)
    # Every target holds about three connections (poller, sampler, PI statistics).
    max_connections = 3 * max(args.sizes, default=0) // 2 + 40
    servers = [
        parts.start_pg(args.state_dir / f"pg{n}", args.port_base + n, max_connections)
        for n in range(2 if args.sizes else 0)
    ]
    try:
        results["sizes"] = [
            one_size(args, servers, size, args.scrape_interval) for size in args.sizes
        ]
        if args.slow_interval and args.sizes:  # the largest size again, polled less often
            results["sizes"].append(one_size(args, servers, max(args.sizes), args.slow_interval))
    finally:
        for server in servers:
            server.stop()
    results["memory"] = [memory_point(args, n) for n in args.million_points]
    results["per_million"] = {
        "rss_mib": slope(results["memory"], "rss_mib"),
        "heap_mib": slope(results["memory"], "heap_mib"),
    }
    results["load_after"] = uptime()
    results["minutes"] = (time.monotonic() - started) / 60
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (out / f"scaling-{stamp}.json").write_text(json.dumps(results, indent=2))
    section = render(results)
    print(section)
    if args.write:
        write_section(ROOT / "docs" / "scaling.md", section)
    shutil.rmtree(args.state_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
