"""The CloudWatch recording rules' cost in Prometheus (on demand, not in CI):
`python -m bench.rules [--write-docs]`.

For each reader count, starts a stack (no workload), lets every 1-minute and 5-minute window
fill, then over a measured window reads from the stack's own Prometheus:

* the `borealis-cloudwatch` rule group's evaluation time (median and max of
  `prometheus_rule_group_last_duration_seconds`; the group runs every 5 s);
* Prometheus' CPU (rate of `process_cpu_seconds_total`, as % of one core: scraping the
  collector every second included);
* how many rules, `aws_rds_*` series and intermediate `*:aws_rds_*:*` series there are.

Results go to docs/benchmarks.md under `## CloudWatch recording rules` (that section is
replaced).
"""

from __future__ import annotations

import argparse
import json
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.docs import write_marked
from bench.failover import DOCS, Stack, machine, uptime

BEGIN, END = "<!-- bench.rules:begin -->", "<!-- bench.rules:end -->"
GROUP = 'rule_group=~".*;borealis-cloudwatch"'


def _query(url: str, promql: str) -> float:
    query = urllib.parse.urlencode({"query": promql})
    with urllib.request.urlopen(f"{url}/api/v1/query?{query}", timeout=30) as response:  # noqa: S310
        result = json.load(response)["data"]["result"]
    return float(result[0]["value"][1]) if result else float("nan")


def _rules(url: str) -> int:
    with urllib.request.urlopen(f"{url}/api/v1/rules", timeout=30) as response:  # noqa: S310
        groups = json.load(response)["data"]["groups"]
    return sum(len(g["rules"]) for g in groups if g["name"] == "borealis-cloudwatch")


def measure(stack: Stack, readers: int, settle_s: float, window_s: float) -> dict[str, Any]:
    stack.up(readers)
    try:
        stack.wait_healthy()
        url = stack.status()["services"]["prometheus"]
        time.sleep(settle_s + window_s)
        window = f"{window_s:.0f}s"
        duration = f"prometheus_rule_group_last_duration_seconds{{{GROUP}}}"
        return {
            "instances": readers + 1,
            "rules": _rules(url),
            "series": _query(url, 'count({__name__=~"aws_rds_.+"})'),
            "samples": _query(url, 'count({__name__=~"(instance|cluster):aws_rds_.+"})'),
            "median_ms": 1000 * _query(url, f"quantile_over_time(0.5, {duration}[{window}])"),
            "max_ms": 1000 * _query(url, f"max_over_time({duration}[{window}])"),
            "cpu_pct": 100
            * _query(url, f'rate(process_cpu_seconds_total{{job="prometheus"}}[{window}])'),
        }
    finally:
        stack.down()


def markdown(results: list[dict[str, Any]], started: str, load: tuple[str, str]) -> str:
    host = machine()
    lines = [
        "## CloudWatch recording rules",
        "",
        f"Measured {started} on {host['nproc']} x {host['cpu']}, {host['memory_gib']} GiB, "
        f"with `python -m bench.rules --write-docs`. Load average before: {load[0]}; after: "
        f"{load[1]}. A stack per row, no workload; the rule group runs every 5 s.",
        "",
        "| instances | rules | `aws_rds_*` series | sample series | group eval median | "
        "max | Prometheus CPU |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['instances']} | {r['rules']} | {r['series']:.0f} | {r['samples']:.0f} | "
        f"{r['median_ms']:.0f} ms | {r['max_ms']:.0f} ms | {r['cpu_pct']:.1f} % |"
        for r in results
    ]
    lines += [
        "",
        "Prometheus CPU includes scraping the collector every second. Every metric has five "
        "statistics, each a rule over 5-second samples; the per-rule overhead, not the series "
        "count, is most of the group's time at these sizes.",
        "",
    ]
    return "\n".join(lines)


def write_docs(section: str) -> None:
    write_marked(DOCS, BEGIN, END, section)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.rules", description=__doc__)
    parser.add_argument("--readers-list", default="2,7")
    parser.add_argument("--settle-s", type=float, default=330.0, help="fill the 5 m windows")
    parser.add_argument("--window-s", type=float, default=120.0)
    parser.add_argument("--port-base", type=int, default=21500)
    parser.add_argument("--state", type=Path, default=Path("/var/tmp/borealis-bench-rules"))  # noqa: S108
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args(argv)
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    before = uptime()
    stack = Stack(args.state, args.port_base)
    results = []
    for readers in (int(n) for n in args.readers_list.split(",")):
        results.append(measure(stack, readers, args.settle_s, args.window_s))
        print(json.dumps(results[-1]), flush=True)
    section = markdown(results, started, (before, uptime()))
    print(section)
    if args.write_docs:
        write_docs(section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
