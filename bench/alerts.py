"""Alarms on demand (not in CI): `python -m bench alerts` or
`python -m bench.alerts [--skip-drills] [--skip-cost] [--write-docs]`.

Two parts, written to docs/benchmarks.md under `## Alarms (bench/alerts)`:

* **Evaluation cost of the default pack at 16 instances**: one synthetic collector
  (bench.alarm_rules.Synthetic: the native series of N instances, clusters of a writer and
  three readers) scraped every second by two real Prometheus side by side, one loading the
  generated rule files of `--before` (a git revision), the other today's alerts/generated/.
  Same machine, same moment, same series: a fair before/after even on a shared machine. After
  `--minutes` each group's last evaluation time (`evaluationTime` of /api/v1/rules, the value
  of `prometheus_rule_group_last_duration_seconds`) is read ten times, 3 s apart; a cycle is
  every group evaluated once.
* **Drills on a real stack** (`borealis up`, 2 readers, its own state directory and ports):
  testsupport.alarm_drills' four faults; for each, fault -> firing (Alertmanager's startsAt),
  fault -> seen in Alertmanager, firing -> delivery at the webhook (inbox receivedAt), and
  undo -> OK in the alarm history.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from prometheus_client import CollectorRegistry, start_http_server
from psycopg.conninfo import make_conninfo

from alerts.generate import GENERATED
from bench.alarm_rules import Synthetic
from bench.docs import write_marked
from bench.failover import DOCS, ROOT, Stack, machine, uptime
from core.waiting import wait_until
from testsupport.alarm_drills import DrillTiming, drills, run_drill

BEGIN, END = "<!-- bench.alerts:begin -->", "<!-- bench.alerts:end -->"
BEFORE = "dd30ede"  # the pack before alarms became 5 rules each (6 rules, 8 before 0f6a8bb)
READS = 21  # 3 s apart: a minute, six evaluations of a 10 s group (one at a period's end)
ALONE_SETTLE_S = 60  # six evaluations of a 10 s group after the other one stopped
RECORDING = "borealis-cloudwatch"  # the samples group and (after) its statistics group


def rule_files(revision: str | None, into: Path) -> None:
    """alerts/generated/*.yml of `revision` (None: the working tree) into `into`."""
    into.mkdir(parents=True)
    if revision is None:
        for path in GENERATED.glob("*.yml"):
            (into / path.name).write_text(path.read_text())
        return
    names = subprocess.run(
        ["git", "-C", str(ROOT), "ls-tree", "--name-only", revision, "alerts/generated/"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for name in names:
        text = subprocess.run(
            ["git", "-C", str(ROOT), "show", f"{revision}:{name}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        (into / Path(name).name).write_text(text)


def start_prometheus(root: Path, port: int, exporter: int) -> subprocess.Popen[bytes]:
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(root / "rules" / "*.yml")],
        "scrape_configs": [
            {"job_name": "borealis", "static_configs": [{"targets": [f"127.0.0.1:{exporter}"]}]}
        ],
    }
    (root / "prometheus.yml").write_text(yaml.safe_dump(config))
    return subprocess.Popen(
        [
            "/usr/bin/prometheus",
            f"--config.file={root / 'prometheus.yml'}",
            f"--storage.tsdb.path={root / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=(root / "prometheus.log").open("wb"),
        stderr=subprocess.STDOUT,
    )


def read_groups(port: int) -> list[dict[str, Any]]:
    url = f"http://127.0.0.1:{port}/api/v1/rules"
    with urllib.request.urlopen(url, timeout=30) as response:
        return list(json.load(response)["data"]["groups"])


def samples_read(port: int, groups: list[dict[str, Any]]) -> dict[str, float]:
    """Samples each group's rules read in one evaluation (Prometheus' query stats, one
    instant query per rule now): the work itself, whatever else the machine is doing."""
    read: dict[str, float] = {}
    for group in groups:
        total = 0
        for rule in group["rules"]:
            query = urllib.parse.urlencode({"query": rule["query"], "stats": "all"})
            url = f"http://127.0.0.1:{port}/api/v1/query?{query}"
            with urllib.request.urlopen(url, timeout=60) as response:
                stats = json.load(response)["data"].get("stats", {})
            total += int(stats.get("samples", {}).get("totalQueryableSamples", 0))
        read[group["name"]] = total
    return read


def work_figures(read: dict[str, float], groups: list[dict[str, Any]]) -> dict[str, float]:
    interval = {g["name"]: float(g["interval"]) for g in groups}
    alarms = [n for n in read if n.startswith("alarm:")]
    return {
        "alarm_samples": sum(read[n] for n in alarms),
        "cycle_samples": sum(read.values()),
        "samples_per_second": sum(v / interval[n] for n, v in read.items()),
    }


def cost_figures(reads: list[list[dict[str, Any]]]) -> dict[str, Any]:
    """Each group's median over its distinct evaluations (reads that saw the same one count
    once), summed: per kind, per cycle, per second."""
    times: dict[str, dict[str, float]] = {}  # group -> its evaluations, each read once
    interval: dict[str, float] = {}
    rules: dict[str, int] = {}
    unhealthy = 0
    for groups in reads:
        for group in groups:
            evaluated = str(group.get("lastEvaluation", len(times.get(group["name"], {}))))
            times.setdefault(group["name"], {})[evaluated] = float(group["evaluationTime"])
            interval[group["name"]] = float(group["interval"])
            rules[group["name"]] = len(group["rules"])
            unhealthy += sum(1 for r in group["rules"] if r.get("health") != "ok")
    median = {name: statistics.median(values.values()) for name, values in times.items()}
    alarms = [n for n in median if n.startswith("alarm:")]
    intervals = sorted({interval[n] for n in alarms})
    return {
        "alarm_intervals": ", ".join(
            f"{sum(1 for n in alarms if interval[n] == i)} x {i:g} s" for i in intervals
        ),
        "alarm_per_second_ms": 1000 * sum(median[n] / interval[n] for n in alarms),
        "groups": len(median),
        "rules": sum(rules.values()),
        "alarm_rules": sum(rules[n] for n in alarms),
        "alarm_cycle_ms": 1000 * sum(median[n] for n in alarms),
        "recording_ms": 1000 * sum(median[n] for n in median if n.startswith(RECORDING)),
        "alarm_metrics_ms": 1000 * median.get("borealis-alarm-metrics", 0.0),
        "cycle_ms": 1000 * sum(median.values()),
        "per_second_ms": 1000 * sum(t / interval[n] for n, t in median.items()),
        "unhealthy": unhealthy / len(reads),
    }


def measure_cost(before: str, instances: int, minutes: float, port: int) -> dict[str, Any]:
    registry = CollectorRegistry()
    registry.register(Synthetic(instances))
    start_http_server(port + 1, addr="127.0.0.1", registry=registry)
    with tempfile.TemporaryDirectory() as tmp:
        variants = {"before": (before, port), "after": (None, port + 2)}
        processes = {}
        for variant, (revision, listen) in variants.items():
            root = Path(tmp) / variant
            rule_files(revision, root / "rules")
            processes[variant] = start_prometheus(root, listen, port + 1)
        try:
            time.sleep(minutes * 60)
            reads: dict[str, list[list[dict[str, Any]]]] = {v: [] for v in variants}
            for _ in range(READS):
                for variant, (_, listen) in variants.items():
                    reads[variant].append(read_groups(listen))
                time.sleep(3)
            work = {
                variant: work_figures(samples_read(listen, reads[variant][-1]), reads[variant][-1])
                for variant, (_, listen) in variants.items()
            }
            alone = after_alone(processes["before"], port + 2)
        finally:
            for process in processes.values():
                process.terminate()
                process.wait(timeout=60)
    return {
        "instances": instances,
        "minutes": minutes,
        "before_revision": before,
        **{variant: {**cost_figures(r), **work[variant]} for variant, r in reads.items()},
        "after_alone": cost_figures(alone),
    }


def after_alone(before: subprocess.Popen[bytes], port: int) -> list[list[dict[str, Any]]]:
    """The after-rules' groups read again with the other Prometheus stopped, as deployed:
    one Prometheus on the host. Side by side, each one's groups also wait for the cores the
    other one uses (wall time), which is fair to a comparison but not to the target."""
    before.terminate()
    before.wait(timeout=60)
    time.sleep(ALONE_SETTLE_S)
    reads = []
    for _ in range(READS):
        reads.append(read_groups(port))
        time.sleep(3)
    return reads


class DrillView:
    """bench.failover.Stack as testsupport.alarm_drills sees a stack."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack

    def status(self) -> dict[str, Any]:
        return self.stack.status()

    def fault(self, *args: str) -> None:
        self.stack.cli("fault", *args, timeout=180)

    def dsn(self, endpoint: str, password: str | None = None) -> str:
        dsn = self.stack.dsn(endpoint)
        return dsn if password is None else make_conninfo(dsn, password=password)


def quiet(stack: Stack) -> bool:
    """No alert active in the stack's Alertmanager (the drills start from OK)."""
    url = stack.status()["services"]["alertmanager"] + "/api/v2/alerts?active=true"
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310
        return not json.load(response)


def measure_drills(state: Path, port_base: int) -> list[DrillTiming]:
    stack = Stack(state, port_base)
    stack.up(2)
    try:
        stack.wait_healthy()
        wait_until(lambda: quiet(stack), timeout=300, interval=2, what="no alert active")
        view = DrillView(stack)
        timings = []
        for drill in drills(view):
            stack.wait_healthy(timeout=300)
            timings.append(run_drill(view, drill))
            print(json.dumps(asdict(timings[-1])), flush=True)
        return timings
    finally:
        stack.down()


def markdown(
    cost: dict[str, Any] | None, timings: list[DrillTiming], started: str, load: tuple[str, str]
) -> str:
    host = machine()
    lines = [
        "## Alarms (bench/alerts)",
        "",
        f"Measured {started} on {host['nproc']} x {host['cpu']}, {host['memory_gib']} GiB, "
        f"with `python -m bench.alerts --write-docs`. Load average before: {load[0]}; "
        f"after: {load[1]}. Targets (issue 10): failover and instance-down alarms firing "
        "within 15 s of the fault, delivery within 2 s of firing, the default pack's "
        "evaluation under 50 ms per cycle at 16 instances.",
        "",
    ]
    if cost is not None:
        b, a = cost["before"], cost["after"]
        ms, n = "{:.1f} ms".format, "{:,.0f}".format
        rows = [
            ("groups / rules", f"{b['groups']} / {b['rules']}", f"{a['groups']} / {a['rules']}"),
            ("rules of the alarms", str(b["alarm_rules"]), str(a["alarm_rules"])),
            ("alarm group intervals", b["alarm_intervals"], a["alarm_intervals"]),
            ("**alarm groups, one cycle**", ms(b["alarm_cycle_ms"]), ms(a["alarm_cycle_ms"])),
            ("**the same, after-rules' Prometheus alone**", "",
             ms(cost["after_alone"]["alarm_cycle_ms"])),
            ("alarm groups per second, alone", "",
             ms(cost["after_alone"]["alarm_per_second_ms"])),
            ("alarm groups per second of wall time", ms(b["alarm_per_second_ms"]),
             ms(a["alarm_per_second_ms"])),
            ("CloudWatch recording groups", ms(b["recording_ms"]), ms(a["recording_ms"])),
            ("alarm-metrics group (1 s)", ms(b["alarm_metrics_ms"]), ms(a["alarm_metrics_ms"])),
            ("every group once (a whole cycle)", ms(b["cycle_ms"]), ms(a["cycle_ms"])),
            ("evaluation per second of wall time", ms(b["per_second_ms"]), ms(a["per_second_ms"])),
            ("samples alarm rules read, one cycle", n(b["alarm_samples"]), n(a["alarm_samples"])),
            ("samples every rule reads, one cycle", n(b["cycle_samples"]), n(a["cycle_samples"])),
            ("samples read per second", n(b["samples_per_second"]), n(a["samples_per_second"])),
            ("rules not healthy", f"{b['unhealthy']:.0f}", f"{a['unhealthy']:.0f}"),
        ]  # fmt: skip
        lines += [
            f"### Evaluation cost at {cost['instances']} instances",
            "",
            f"Two Prometheus side by side on one synthetic collector, read after "
            f"{cost['minutes']:g} minutes of data ({READS} reads, 3 s apart): before = "
            f"the rule files of `{cost['before_revision']}`, after = this revision's. Then "
            f"the before-Prometheus is stopped and, {ALONE_SETTLE_S} s later, the after-one's "
            f"groups are read {READS} times more: one Prometheus on the host, as deployed.",
            "",
            "| figure | before | after |",
            "|---|---|---|",
            *[f"| {name} | {before} | {after} |" for name, before, after in rows],
            "",
            "*One cycle* is every group evaluated once, each at its own interval: the sum of "
            "the groups' evaluation durations (`evaluationTime` of /api/v1/rules, each "
            "group's median over the distinct evaluations the reads saw). *Per second* "
            "divides each group's duration by its interval first (a 5 s group counts a "
            "fifth). The alarm groups are the default pack's (`alarm:*`); the CloudWatch "
            "recording groups and the alarm-metrics group are shown apart. Evaluation times "
            "are wall time: on a shared machine a group "
            "waiting for a core is counted; samples read do not depend on the load.",
            "",
        ]
    if timings:
        lines += [
            "### Drills (a stack with 2 readers, no workload)",
            "",
            "| drill | alarm | fault -> firing | fault -> in Alertmanager | firing -> "
            "webhook | undone -> OK |",
            "|---|---|---|---|---|---|",
            *[
                f"| {t.drill} | {t.alarm} | {t.fault_to_firing_s:.1f} s | "
                f"{t.fault_to_alertmanager_s:.1f} s | {t.firing_to_delivery_s:.2f} s | "
                f"{t.fault_undone_to_ok_s:.0f} s |"
                for t in timings
            ],
            "",
        ]
    return "\n".join(lines)


def write_docs(section: str) -> None:
    write_marked(DOCS, BEGIN, END, section)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.alerts", description=__doc__)
    parser.add_argument("--before", default=BEFORE, help="git revision of the 'before' rules")
    parser.add_argument("--instances", type=int, default=16)
    parser.add_argument("--minutes", type=float, default=18, help="the longest range is 17 min")
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", "28600")))
    parser.add_argument("--port-base", type=int, default=21600, help="the drills' stack")
    parser.add_argument("--state", type=Path, default=Path("/var/tmp/borealis-bench-alerts"))  # noqa: S108
    parser.add_argument("--skip-cost", action="store_true")
    parser.add_argument("--skip-drills", action="store_true")
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args(argv)
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    before = uptime()
    cost = None
    if not args.skip_cost:
        cost = measure_cost(args.before, args.instances, args.minutes, args.port)
        print(json.dumps(cost), flush=True)
    timings = [] if args.skip_drills else measure_drills(args.state, args.port_base)
    section = markdown(cost, timings, started, (before, uptime()))
    print(section)
    if args.write_docs:
        write_docs(section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
