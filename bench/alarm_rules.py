"""What the default alarm pack costs Prometheus to evaluate, at 16 instances.

    python -m bench.alarm_rules [--instances 16] [--minutes 20] [--port 28600]

A synthetic collector (prometheus-client, the native `borealis_*` series of N instances in
clusters of four: a writer and three readers, with moving counters) is scraped every second
by a real Prometheus loading alerts/generated/*.yml. After `--minutes` (the longest
evaluation range of the pack is 17 one-minute periods: give it 20 for the steady state),
the rule groups' own `evaluationTime` is read from /api/v1/rules a few times. Printed, not
written: the figures go to docs/benchmarks.md by hand with the machine and date.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import statistics
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterable
from pathlib import Path

import yaml
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from alerts.generate import GENERATED

LABELS = ["cluster", "db_instance", "role", "az"]
STARTED = time.time()


class Synthetic(Collector):
    def __init__(self, instances: int) -> None:
        self.targets = [
            (
                f"c{i // 4}",
                f"c{i // 4}-i{i % 4}",
                "writer" if i % 4 == 0 else "reader",
                f"az{i % 3}",
            )
            for i in range(instances)
        ]

    def collect(self) -> Iterable[Metric]:
        now = time.time() - STARTED
        wave = 1 + math.sin(now / 30)
        gauges = {
            "borealis_up": lambda t: 1.0,
            "borealis_instance_is_writer": lambda t: float(t[2] == "writer"),
            "borealis_process_cpus": lambda t: 2.0,
            "borealis_database_connections": lambda t: 10 + 5 * wave,
            "borealis_host_memory_available_bytes": lambda t: 4e9,
            "borealis_filesystem_free_bytes": lambda t: 5e10,
            "borealis_oldest_xid_age": lambda t: 1e6,
            "borealis_postmaster_start_time_seconds": lambda t: STARTED,
            "borealis_replica_lag_seconds": lambda t: 0.01 * wave,
            "borealis_sync_quorum_members": lambda t: 6.0,
            "borealis_sync_quorum_available": lambda t: 6.0,
            "borealis_sync_quorum_ok": lambda t: 1.0,
            "borealis_block_size_bytes": lambda t: 8192.0,
        }
        counters = {
            "borealis_process_cpu_seconds": 0.3,
            "borealis_blocks_hit": 5000.0,
            "borealis_blocks_read": 50.0,
            "borealis_block_read_seconds": 0.01,
            "borealis_wal_bytes": 1e5,
            "borealis_wal_records": 500.0,
            "borealis_wal_writes": 50.0,
            "borealis_wal_write_seconds": 0.005,
            "borealis_xact_commits": 50.0,
            "borealis_deadlocks": 0.0,
            "borealis_db_load_seconds": 0.5,
            "borealis_authentication_failures": 0.0,
        }
        for name, value in gauges.items():
            family = GaugeMetricFamily(name, name, labels=LABELS)
            for target in self.targets:
                family.add_metric(list(target), value(target))
            yield family
        for name, rate in counters.items():
            family = CounterMetricFamily(name, name, labels=LABELS)
            for target in self.targets:
                family.add_metric(list(target), rate * now * wave)
            yield family


def rules(port: int) -> list[dict[str, object]]:
    url = f"http://127.0.0.1:{port}/api/v1/rules"
    with urllib.request.urlopen(url, timeout=10) as response:
        return list(json.load(response)["data"]["groups"])


def samples_touched(port: int, groups: list[dict[str, object]]) -> int:
    """Samples the alarm rules read in one evaluation of each (Prometheus' query stats): a
    figure that does not depend on how busy the machine is."""
    total = 0
    for group in groups:
        if not str(group["name"]).startswith("alarm:"):
            continue
        for rule in group["rules"]:  # type: ignore[attr-defined]
            query = urllib.parse.urlencode({"query": rule["query"], "stats": "all"})
            url = f"http://127.0.0.1:{port}/api/v1/query?{query}"
            with urllib.request.urlopen(url, timeout=30) as response:
                stats = json.load(response)["data"].get("stats", {})
            total += int(stats.get("samples", {}).get("totalQueryableSamples", 0))
    return total


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--instances", type=int, default=16)
    parser.add_argument("--minutes", type=float, default=20)
    parser.add_argument("--port", type=int, default=28600)
    args = parser.parse_args(argv)
    registry = CollectorRegistry()
    registry.register(Synthetic(args.instances))
    start_http_server(args.port + 1, addr="127.0.0.1", registry=registry)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "rules").mkdir()
        for rule_file in GENERATED.glob("*.yml"):
            shutil.copy(rule_file, root / "rules" / rule_file.name)
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(root / "rules" / "*.yml")],
            "scrape_configs": [
                {
                    "job_name": "borealis",
                    "static_configs": [{"targets": [f"127.0.0.1:{args.port + 1}"]}],
                }
            ],
        }
        (root / "prometheus.yml").write_text(yaml.safe_dump(config))
        log = (root / "prometheus.log").open("w")
        process = subprocess.Popen(
            [
                "/usr/bin/prometheus",
                f"--config.file={root / 'prometheus.yml'}",
                f"--storage.tsdb.path={root / 'data'}",
                f"--web.listen-address=127.0.0.1:{args.port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            time.sleep(args.minutes * 60)
            if process.poll() is not None:
                raise SystemExit((root / "prometheus.log").read_text()[-2000:])
            samples: dict[str, list[float]] = {}
            intervals: dict[str, float] = {}
            errors = 0
            for _ in range(10):
                for group in rules(args.port):
                    name = str(group["name"])
                    samples.setdefault(name, []).append(float(group["evaluationTime"]))  # type: ignore[arg-type]
                    intervals[name] = float(group["interval"])  # type: ignore[arg-type]
                    errors += sum(1 for r in group["rules"] if r.get("health") != "ok")  # type: ignore[attr-defined]
                time.sleep(3)
            touched = samples_touched(args.port, rules(args.port))
        finally:
            process.terminate()
            process.wait(timeout=30)
            log.close()
    pack = {n: statistics.median(v) for n, v in samples.items() if n.startswith("alarm:")}
    per_second = sum(t / intervals[n] for n, t in pack.items())
    print(f"instances {args.instances}, after {args.minutes:g} min, {len(pack)} alarm groups")
    print(f"all alarm groups in one cycle: {1000 * sum(pack.values()):.1f} ms")
    print(f"alarm evaluation per second of wall time: {1000 * per_second:.1f} ms")
    slowest = max(pack, key=lambda n: pack[n])
    print(f"slowest group: {slowest} {1000 * pack[slowest]:.2f} ms")
    others = {n: statistics.median(v) for n, v in samples.items() if n not in pack}
    for name, value in sorted(others.items()):
        print(f"{name}: {1000 * value:.1f} ms every {intervals[name]:g} s")
    print(f"rules not healthy: {errors}")
    print(f"samples read by one evaluation of every alarm rule: {touched}")


if __name__ == "__main__":
    main()
