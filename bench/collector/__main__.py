"""python -m bench.collector [--write] [--port-base 39000] [--state-dir DIR] ...

One reproducible run: starts a stack with 1 writer + 15 readers in its own state directory,
puts a light load on it, then measures

1. collector CPU per instance (the collector process and its database backends together,
   from /proc) at 1 s and at 100 ms active-session sampling;
2. /metrics scrape time and series count for 16 instances;
3. the collector and Debian's prometheus-postgres-exporter on the writer, side by side in
   one run (both scraped once a second): scrape time, CPU per scrape, series;
4. how long a lag jump and a new writer take to show in the stack's Prometheus;
5. what the CloudWatch recording rules cost Prometheus;

brings the stack down and prints the `## Collector` section of docs/benchmarks.md (`--write`
replaces that section in the file). Raw figures go to bench/results/collector-<time>.json.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.collector import measure
from bench.collector import stack as stacks
from bench.collector.report import render, write_section
from core.credentials import APP_DATABASE, APP_USER
from core.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.collector", description=__doc__)
    # Under /var/tmp, like the test stacks: the postgres OS user must reach it.
    default_state = Path("/var/tmp/borealis-bench-collector")  # noqa: S108
    parser.add_argument("--state-dir", type=Path, default=default_state)
    parser.add_argument("--port-base", type=int, default=23000, help="the stack's port base")
    parser.add_argument("--readers", type=int, default=15)
    parser.add_argument("--cpu-seconds", type=float, default=30.0, help="each CPU window")
    parser.add_argument("--scrapes", type=int, default=50, help="/metrics scrapes to time")
    parser.add_argument("--rounds", type=int, default=60, help="side-by-side scrapes")
    parser.add_argument("--lag-jumps", type=int, default=3)
    parser.add_argument("--failovers", type=int, default=2, help="new-writer tests (0: none)")
    parser.add_argument("--idle", action="store_true", help="no light load")
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": measure.machine(),
        "command": "python -m bench.collector" + (" --write" if args.write else ""),
        "readers": args.readers,
        "load_before": measure.uptime(),
    }
    work = args.state_dir.parent / f"{args.state_dir.name}-work"
    stack = stacks.Stack(args.state_dir, args.port_base)
    print(f"starting a stack with {args.readers} readers in {args.state_dir} ...", flush=True)
    stack.up(args.readers)
    load: stacks.LightLoad | None = None
    try:
        wait_until(
            stack.all_available, timeout=300, what="every instance available", retry_on=(Exception,)
        )
        status = stack.status()
        writer = next(i for i in status["instances"] if i["role"] == "writer")
        targets = stacks.local_targets(stack)
        instances = len(targets)
        if not args.idle:
            load = stacks.LightLoad(stack.dsn(writer["port"], APP_USER, APP_DATABASE))
            load.start()
        results["light_load_tx_per_s"] = load.per_second if load is not None else 0

        cpu: dict[str, Any] = {}
        for sample_s in (1.0, 0.1):
            print(f"collector CPU at {sample_s:g} s sampling ...", flush=True)
            ours = stacks.CollectorProcess(stack, targets, args.port_base + 80, sample_s, work)
            try:
                ours.wait_ready()
                time.sleep(5)  # connections made, caches warm
                window = measure.cpu_window(
                    ours.pid, ours.backends(), args.cpu_seconds, instances, f"{ours.url}/metrics"
                )
                cpu[f"{sample_s:g}"] = {
                    "percent_per_instance": window.percent_per_instance,
                    "process_percent_per_instance": window.process_percent_per_instance,
                    "backends": window.backends,
                    "backends_lost": window.backends_lost,
                    "seconds": window.seconds,
                }
                if sample_s == 1.0:
                    print("scraping /metrics ...", flush=True)
                    results["scrape"] = measure.scrape_timings(f"{ours.url}/metrics", args.scrapes)
            finally:
                ours.stop()
        results["cpu"] = cpu
        results["instances"] = instances

        print("side by side with postgres_exporter ...", flush=True)
        writer_target = next(t for t in targets if t.db_instance == writer["id"])
        ours = stacks.CollectorProcess(stack, [writer_target], args.port_base + 81, 1.0, work)
        try:
            ours.wait_ready()
            exporter_port = args.port_base + 82
            with stacks.postgres_exporter(stack, writer_target, exporter_port, work) as pid:
                time.sleep(3)
                results["side_by_side"] = measure.side_by_side(
                    ours, pid, f"http://127.0.0.1:{exporter_port}/metrics", writer_target,
                    args.rounds,
                )  # fmt: skip
        finally:
            ours.stop()
        results["prometheus"] = measure.prometheus_cost(stack)
        if load is not None:
            load.stop()
            results["light_load_errors"] = load.errors
            load = None

        print("lag jumps ...", flush=True)
        reader = next(i for i in status["instances"] if i["role"] == "reader")
        results["lag_jump_s"] = measure.lag_jumps(
            stack, writer["port"], reader["id"], reader["port"], args.lag_jumps
        )
        results["new_writer"] = []
        readers = [i for i in status["instances"] if i["role"] == "reader"]
        for target in readers[: args.failovers]:
            print(f"new writer: {target['id']} ...", flush=True)
            wait_until(
                stack.all_available,
                timeout=300,
                what="every instance available",
                retry_on=(Exception,),
            )
            results["new_writer"].append(measure.new_writer(stack, target["id"], target["port"]))
    finally:
        if load is not None:
            load.stop()
        results["load_after"] = measure.uptime()
        print("bringing the stack down ...", flush=True)
        stack.down()

    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (out / f"collector-{stamp}.json").write_text(json.dumps(results, indent=2, sort_keys=True))
    section = render(results)
    print(section)
    if args.write:
        write_section(ROOT / "docs" / "benchmarks.md", section)
        print("wrote docs/benchmarks.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
