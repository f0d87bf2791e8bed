"""python -m bench.cloudwatch_api [--port-base N] [--rounds N] [--no-write]

What the CloudWatch-compatible API costs per call, with boto3 as the client, over a real
Prometheus holding one day of samples (every 5 s, as the recording rules write them) for a
cluster of 16 instances (1 writer, 15 readers) and two metrics, backfilled with promtool. Each
call is timed end to end (boto3 -> API -> Prometheus -> back); median and p95 go to
docs/benchmarks.md."""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from alerts.cloudwatch_api import start_service
from bench.docs import write_marked
from bench.pi import machine, uptime

BEGIN, END = "<!-- bench.cloudwatch_api:begin -->", "<!-- bench.cloudwatch_api:end -->"
INSTANCES = 16
DAY = 86_400
METRICS = ("instance:aws_rds_cpuutilization:10s", "instance:aws_rds_database_connections:10s")


def backfill(root: Path, end: int) -> int:
    """One day of samples before `end` into root/tsdb; the number of samples."""
    source = root / "samples.om"
    count = 0
    with source.open("w") as out:
        for name in METRICS:
            out.write(f"# TYPE {name} gauge\n")
            for n in range(INSTANCES):
                role = "WRITER" if n == 0 else "READER"
                labels = (
                    f'dimension_DBClusterIdentifier="bench",'
                    f'dimension_DBInstanceIdentifier="bench-{n + 1}",dimension_Role="{role}"'
                )
                for at in range(end - DAY, end, 5):
                    out.write(f"{name}{{{labels}}} {(at * 7 + n) % 100} {at}\n")
                    count += 1
        out.write("# EOF\n")
    command = ["promtool", "tsdb", "create-blocks-from", "openmetrics", str(source)]
    subprocess.run([*command, str(root / "tsdb")], check=True, capture_output=True)
    source.unlink()
    return count


def prometheus(root: Path, port: int) -> subprocess.Popen[bytes]:
    config = root / "prometheus.yml"
    config.write_text("global: {}\n")
    process = subprocess.Popen(
        [
            "prometheus",
            f"--config.file={config}",
            f"--storage.tsdb.path={root / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--storage.tsdb.retention.time=30d",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=2):
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("prometheus did not become ready in 60 s")


def timed(call: Callable[[], Any], rounds: int) -> tuple[float, float]:
    """(median ms, p95 ms) after one warm-up call."""
    call()
    took = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        took.append((time.perf_counter() - started) * 1000)
    took.sort()
    return statistics.median(took), took[max(0, int(len(took) * 0.95) - 1)]


def calls(client: Any, end: int) -> dict[str, Callable[[], Any]]:
    def at(epoch: int) -> datetime:
        return datetime.fromtimestamp(epoch, UTC)

    one = [{"Name": "DBInstanceIdentifier", "Value": "bench-2"}]
    readers = [
        {"Name": "DBClusterIdentifier", "Value": "bench"},
        {"Name": "Role", "Value": "READER"},
    ]
    base = {"Namespace": "AWS/RDS", "MetricName": "CPUUtilization", "EndTime": at(end)}

    def stats(period: int, hours: int, dims: list[dict[str, str]], **extra: Any) -> Any:
        request = {**base, "StartTime": at(end - hours * 3600), "Period": period, **extra}
        return lambda: client.get_metric_statistics(**request, Dimensions=dims)

    five = ["SampleCount", "Average", "Sum", "Minimum", "Maximum"]
    queries = [
        {
            "Id": f"m{n}",
            "MetricStat": {
                "Metric": {
                    "Namespace": "AWS/RDS",
                    "MetricName": "CPUUtilization",
                    "Dimensions": [{"Name": "DBInstanceIdentifier", "Value": f"bench-{n}"}],
                },
                "Period": 60,
                "Stat": "Average",
            },
        }
        for n in range(1, INSTANCES + 1)
    ]
    queries.append({"Id": "spread", "Expression": "MAX([" + ", ".join(
        f"m{n}" for n in range(1, INSTANCES + 1)) + "]) - MIN([m1, m2])"})  # fmt: skip
    return {
        "GetMetricStatistics, 1 instance, 3 h at 60 s, 5 statistics (180 datapoints)": stats(
            60, 3, one, Statistics=five
        ),
        "GetMetricStatistics, 1 instance, 24 h at 60 s, 5 statistics (1,440 datapoints)": stats(
            60, 24, one, Statistics=five
        ),
        "GetMetricStatistics, 1 instance, 24 h at 60 s, p90 and p99": stats(
            60, 24, one, ExtendedStatistics=["p90", "p99"]
        ),
        "GetMetricStatistics, 15 readers pooled, 3 h at 60 s, Average and Maximum": stats(
            60, 3, readers, Statistics=["Average", "Maximum"]
        ),
        "GetMetricData, 16 MetricStat + 1 expression, 3 h at 60 s (3,060 values)": lambda: (
            client.get_metric_data(
                MetricDataQueries=queries, StartTime=at(end - 3 * 3600), EndTime=at(end)
            )
        ),
        "ListMetrics, AWS/RDS (every page)": lambda: [
            page for page in client.get_paginator("list_metrics").paginate(Namespace="AWS/RDS")
        ],
    }


def write_section(path: Path, section: str) -> None:
    write_marked(path, BEGIN, END, section)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port-base", type=int, default=22000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks.md"))
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    load_before = uptime()
    root = Path(tempfile.mkdtemp(prefix="borealis-bench-cw-", dir="/var/tmp"))
    end = (int(time.time()) // 60 - 1) * 60
    started = time.monotonic()
    samples = backfill(root, end)
    process = prometheus(root, args.port_base + 890)
    api = start_service(
        port=args.port_base + 894, prometheus_url=f"http://127.0.0.1:{args.port_base + 890}"
    )
    try:
        client = boto3.client(
            "cloudwatch",
            endpoint_url=api.url,
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",  # noqa: S106 (the API checks no signature)
            config=Config(retries={"max_attempts": 1}),
        )
        rows = []
        for name, call in calls(client, end).items():
            median, p95 = timed(call, args.rounds)
            rows.append(f"| {name} | {median:.1f} ms | {p95:.1f} ms |")
            print(rows[-1], flush=True)
    finally:
        api.stop()
        process.terminate()
        process.wait(10)
        subprocess.run(["rm", "-rf", str(root)], check=False)
    took = time.monotonic() - started
    section = "\n".join(
        [
            "## CloudWatch-compatible API (bench/cloudwatch_api)",
            "",
            f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}, with "
            f"`python -m bench.cloudwatch_api` ({took:.0f} s, {args.rounds} rounds per call). "
            f"Load average before: {load_before.split('load average:')[-1].strip()}, after: "
            f"{uptime().split('load average:')[-1].strip()}.",
            "",
            f"boto3 against the API on waitress, over a real Prometheus 2.42 holding {samples:,} "
            f"backfilled samples: one day every 5 s of two metrics for {INSTANCES} instances. "
            "Each call timed end to end in one client thread.",
            "",
            "| call | median | p95 |",
            "|---|---|---|",
            *rows,
        ]
    )
    if not args.no_write:
        write_section(args.out, section)
    print(section)
    os.sync()


if __name__ == "__main__":
    main()
