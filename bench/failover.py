"""Failover benchmark: RTO and RPO over repeated writer kills, the cluster's memory and idle CPU
per reader count, and a loaded run with brief writer stalls that must not fail over.

    python -m bench.failover                 # everything (about 20 minutes), prints Markdown
    python -m bench.failover --write-docs    # ... and updates docs/benchmarks.md
    python -m bench.failover --failovers 10 --readers-list 1,3,7,15 --stall-minutes 10

RTO is measured from the SIGKILL of the writer's postmaster until the first commit
acknowledged through the cluster endpoint by another instance; RPO is the number of
acknowledged commits missing from the final writer (the zero-loss checker's clients write
all along). Each stack is a real `borealis up --no-workload` in a state directory of its own.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import itertools
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from psycopg.conninfo import make_conninfo

from bench.docs import write_marked
from borealis import control
from cluster.workload import SCENARIOS, Workload
from core.credentials import APP_DATABASE, APP_USER, Credentials
from core.paths import StatePaths
from core.waiting import wait_until
from testsupport.checker import Ack, ZeroLossChecker

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- bench.failover:begin -->", "<!-- bench.failover:end -->"
PHASE = re.compile(r"failover to \S+ completed in ([\d.]+) s \((.*)\)")


# --- the stack ---------------------------------------------------------------------------


@dataclass
class Stack:
    state: Path
    port_base: int

    @property
    def env(self) -> dict[str, str]:
        # PostgreSQL's data root inside the state directory: one rmtree removes both.
        return {
            **os.environ,
            "BOREALIS_PORTS__BASE": str(self.port_base),
            "BOREALIS_PG_ROOT": str(self.state / "pg"),
        }

    def cli(self, *args: str, timeout: float = 600) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "borealis", *args, "--state-dir", str(self.state)],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"borealis {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def up(self, readers: int) -> None:
        if self.state.exists():
            shutil.rmtree(self.state)
        self.cli("up", "--detach", "--readers", str(readers), "--no-workload", timeout=900)

    def down(self) -> None:
        self.cli("down", timeout=300)
        kept = ROOT / "bench" / "results" / f"{self.state.name}-supervisor.log"
        kept.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            shutil.copyfile(self.state / "logs" / "supervisor.log", kept)
        shutil.rmtree(self.state, ignore_errors=True)

    def request(self, op: str, **params: Any) -> Any:
        return control.request(StatePaths(self.state).control_socket, op, timeout=120, **params)

    def status(self) -> dict[str, Any]:
        return dict(self.request("status"))

    def healthy(self) -> bool:
        status = self.status()
        return all(i["state"] == "available" for i in status["instances"]) and all(
            s["state"] == "available" for s in status["segments"]
        )

    def wait_healthy(self, timeout: float = 180) -> None:
        wait_until(self.healthy, timeout=timeout, interval=0.3, what=f"{self.state} to be healthy")

    def writer(self) -> dict[str, Any]:
        return next(i for i in self.status()["instances"] if i["role"] == "writer")

    def dsn(self, endpoint: str) -> str:
        name = "cluster_endpoint" if endpoint == "writer" else "reader_endpoint"
        offset = {"cluster_endpoint": 32, "reader_endpoint": 33}[name]
        password = Credentials.load(StatePaths(self.state).secrets).app
        return make_conninfo(
            host="127.0.0.1",
            port=self.port_base + offset,
            user=APP_USER,
            password=password,
            dbname=APP_DATABASE,
            connect_timeout=5,
        )

    def failover_phases(self) -> list[dict[str, float]]:
        log = (self.state / "logs" / "supervisor.log").read_text(errors="replace")
        found = []
        for total, phases in PHASE.findall(log):
            entry = {"total": float(total)}
            for part in phases.split(", "):
                name, seconds, _ = part.rsplit(" ", 2)
                name = re.sub(r"^catch up .*", "catch up", name)
                entry[name] = float(seconds)
            found.append(entry)
        return found


# --- machine and load --------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = "unknown"
    with open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as handle:
        mem_kib = int(handle.readline().split()[1])
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "cpu": model,
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


class LoadSampler:
    """The 1-minute load average, sampled every 5 s while a phase runs."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> LoadSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        while True:
            self.samples.append(os.getloadavg()[0])
            if self._stop.wait(5):
                return

    def summary(self) -> str:
        if not self.samples:
            return "not sampled"
        return f"mean {statistics.mean(self.samples):.1f}, max {max(self.samples):.1f}"


# --- process accounting ------------------------------------------------------------------


def stack_processes(state: Path) -> dict[int, str]:
    """pid -> 'cluster' (PostgreSQL and pg_receivewal: cwd in the data root, <state>/pg/) or
    'services' (supervisor, collector, Prometheus, UI: the state dir on their command line)."""
    found: dict[int, str] = {}
    marker = str(state)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cwd = os.readlink(f"/proc/{entry}/cwd")
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if cwd.startswith(marker + "/pg/"):
            found[int(entry)] = "cluster"
        elif marker in cmdline:
            found[int(entry)] = "services"
    return found


def memory_kib(pid: int) -> tuple[int, int]:
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


def cpu_seconds(pid: int) -> float | None:
    try:
        data = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = data[data.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def is_monitoring(pid: int) -> bool:
    """A backend of the collector or the manager's probes (their sessions' process titles)."""
    try:
        title = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False
    return "borealis_monitor" in title or ": postgres postgres " in title


@dataclass
class Footprint:
    readers: int
    processes: int
    rss_mib: float
    pss_mib: float
    cpu_pct: float  # of one core, the cluster's processes
    monitoring_cpu_pct: float  # part of it: the collector's and manager's sessions
    services_rss_mib: float
    services_pss_mib: float
    services_cpu_pct: float


def footprint(stack: Stack, readers: int, settle_s: float, window_s: float) -> Footprint:
    time.sleep(settle_s)
    procs = stack_processes(stack.state)
    mem: dict[str, list[int]] = {"cluster": [0, 0], "services": [0, 0]}
    for pid, kind in procs.items():
        rss, pss = memory_kib(pid)
        mem[kind][0] += rss
        mem[kind][1] += pss
    before = {pid: cpu_seconds(pid) for pid in procs}
    started = time.monotonic()
    time.sleep(window_s)
    elapsed = time.monotonic() - started
    cpu = {"cluster": 0.0, "services": 0.0, "monitoring": 0.0}
    for pid, kind in procs.items():
        after = cpu_seconds(pid)
        was = before[pid]
        if after is None or was is None:
            continue
        cpu[kind] += after - was
        if kind == "cluster" and is_monitoring(pid):
            cpu["monitoring"] += after - was
    return Footprint(
        readers=readers,
        processes=sum(1 for kind in procs.values() if kind == "cluster"),
        rss_mib=round(mem["cluster"][0] / 1024, 1),
        pss_mib=round(mem["cluster"][1] / 1024, 1),
        cpu_pct=round(100 * cpu["cluster"] / elapsed, 1),
        monitoring_cpu_pct=round(100 * cpu["monitoring"] / elapsed, 1),
        services_rss_mib=round(mem["services"][0] / 1024, 1),
        services_pss_mib=round(mem["services"][1] / 1024, 1),
        services_cpu_pct=round(100 * cpu["services"] / elapsed, 1),
    )


# --- phases --------------------------------------------------------------------------------


@dataclass
class RtoResult:
    readers: int
    rto_s: list[float] = field(default_factory=list)
    promoted: list[str] = field(default_factory=list)
    acknowledged: int = 0
    lost: int = 0
    duplicated: int = 0
    unknown: int = 0
    phases: list[dict[str, float]] = field(default_factory=list)
    load: str = ""


def first_ack_elsewhere(checker: ZeroLossChecker, after: float, old_writer: str) -> Ack | None:
    """The first commit acknowledged after `after` by an instance other than `old_writer`."""
    return next(
        (a for a in checker.acks() if a.at > after and a.server and a.server != old_writer),
        None,
    )


def measure_rto(stack: Stack, failovers: int, clients: int) -> RtoResult:
    result = RtoResult(readers=len(stack.status()["instances"]) - 1)
    checker = ZeroLossChecker(stack.dsn("writer"), clients=clients, pause_s=0.005)
    checker.start()
    try:
        with LoadSampler() as load:
            for n in range(failovers):
                stack.wait_healthy()
                time.sleep(2.0)
                old = stack.writer()
                killed_at = time.monotonic()
                os.kill(old["pid"], signal.SIGKILL)
                first = wait_until(
                    functools.partial(first_ack_elsewhere, checker, killed_at, old["id"]),
                    timeout=120,
                    interval=0.02,
                    what="a commit acknowledged by another instance after the kill",
                )
                result.rto_s.append(round(first.at - killed_at, 3))
                result.promoted.append(first.server)
                print(
                    f"  failover {n + 1}/{failovers}: {old['id']} -> {first.server} "
                    f"RTO {first.at - killed_at:.2f} s",
                    flush=True,
                )
            stack.wait_healthy()
        result.load = load.summary()
    finally:
        checker.stop()
    verdict = checker.verify()
    result.acknowledged = verdict.acknowledged
    result.lost = len(verdict.missing)
    result.duplicated = len(verdict.duplicated)
    result.unknown = verdict.unknown
    result.phases = stack.failover_phases()[-failovers:]
    return result


@dataclass
class StallResult:
    minutes: float
    stalls: int
    stall_s: float
    failovers: int
    transactions: int
    errors: int
    longest_commit_gap_s: float
    load: str = ""


def measure_stalls(stack: Stack, minutes: float, stall_s: float, every_s: float) -> StallResult:
    """The OLTP workload and a commit probe run while the writer stalls (SIGSTOP, then
    SIGCONT) for `stall_s` every `every_s`; no failover may happen."""
    writer = stack.writer()["id"]
    failovers_before = stack.status()["failovers"]
    load = Workload(SCENARIOS["oltp"], stack.dsn("writer"), stack.dsn("reader"), rate=50, clients=4)
    runner = threading.Thread(target=load.run, args=(None,), daemon=True)
    probe = ZeroLossChecker(stack.dsn("writer"), clients=1, pause_s=0.05)
    probe.start()
    runner.start()
    stalls = 0
    deadline = time.monotonic() + minutes * 60
    try:
        with LoadSampler() as sampler:
            while time.monotonic() < deadline:
                time.sleep(every_s)
                stack.request("fault", fault="hang-instance", args=[writer])
                time.sleep(stall_s)
                stack.request("fault", fault="resume-instance", args=[writer])
                stalls += 1
    finally:
        load.stop.set()
        runner.join(60)
        probe.stop()
    acks = [a.at for a in probe.acks()]
    gaps = [b - a for a, b in itertools.pairwise(acks)]
    return StallResult(
        minutes=minutes,
        stalls=stalls,
        stall_s=stall_s,
        failovers=stack.status()["failovers"] - failovers_before,
        transactions=load.stats.transactions,
        errors=sum(load.stats.errors.values()),
        longest_commit_gap_s=round(max(gaps, default=0.0), 2),
        load=sampler.summary(),
    )


# --- report --------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [
        "## Failover (bench/failover)",
        "",
        f"Measured {m['date']} on {m['nproc']} x {m['cpu']}, {m['memory_gib']} GiB, "
        f"Linux {m['kernel']}, with `{results['command']}` ({results['minutes']:.0f} min). "
        f"Load average (1 min) before: {results['load_before']}, after: "
        f"{results['load_after']}.",
        "",
    ]
    rto = results.get("rto")
    if rto:
        values = rto["rto_s"]
        med, p95 = statistics.median(values), percentile(values, 0.95)
        lines += [
            f"### RTO and RPO ({len(values)} writer kills, writer + {rto['readers']} readers)",
            "",
            "SIGKILL of the writer's postmaster until the first commit acknowledged through "
            "the cluster endpoint by the new writer; the zero-loss checker's clients wrote "
            f"all along (load average during the kills: {rto['load']}).",
            "",
            "| RTO median | RTO p95 | RTO min / max | acknowledged | RPO (lost) | "
            "duplicated | unknown outcome |",
            "|---|---|---|---|---|---|---|",
            f"| {med:.2f} s | {p95:.2f} s | {min(values):.2f} / {max(values):.2f} s | "
            f"{rto['acknowledged']} | {rto['lost']} | {rto['duplicated']} | {rto['unknown']} |",
            "",
            f"Targets: median ≤ 1.5 s {'met' if med <= 1.5 else f'MISSED by {med - 1.5:.2f} s'}, "
            f"p95 ≤ 3 s {'met' if p95 <= 3 else f'MISSED by {p95 - 3:.2f} s'}, "
            f"RPO 0 {'met' if rto['lost'] == 0 else 'MISSED'}.",
            "",
        ]
        if rto["phases"]:
            names = [k for k in rto["phases"][0] if k != "total"]
            medians = {k: statistics.median(p.get(k, 0.0) for p in rto["phases"]) for k in names}
            lines += [
                "Where the manager's part goes (median per phase, from the supervisor log; "
                "the rest of the RTO is detection, the storage segments reconnecting to the new "
                "writer until 4 of 6 acknowledge, and the client reconnecting):",
                "",
                "| " + " | ".join(names) + " |",
                "|" + "---|" * len(names),
                "| " + " | ".join(f"{medians[k]:.3f} s" for k in names) + " |",
                "",
            ]
    feet = results.get("footprint")
    if feet:
        lines += [
            "### Memory and idle CPU per reader count",
            "",
            "A fresh `borealis up --no-workload` per row, measured after settling. *Cluster* is "
            "every PostgreSQL process (writer, readers, their backends) and the six "
            "pg_receivewal segments; its CPU includes the sessions of the collector and the "
            "manager's health probes (shown apart). *Services* are the supervisor (manager "
            "and endpoints), collector, Prometheus and UI processes.",
            "",
            "| readers | processes | RSS | PSS | idle CPU (% of one core) | of which monitoring "
            "sessions | services RSS / PSS | services CPU |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for f in feet:
            lines.append(
                f"| {f['readers']} | {f['processes']} | {f['rss_mib']:.0f} MiB | "
                f"{f['pss_mib']:.0f} MiB | {f['cpu_pct']:.1f} % | "
                f"{f['monitoring_cpu_pct']:.1f} % | "
                f"{f['services_rss_mib']:.0f} / {f['services_pss_mib']:.0f} MiB | "
                f"{f['services_cpu_pct']:.1f} % |"
            )
        last = feet[-1]
        lines += [
            "",
            f"Targets for writer + {last['readers']} readers + 6 segments: RSS < 3 GiB "
            f"{'met' if last['rss_mib'] < 3072 else 'MISSED'} ({last['rss_mib'] / 1024:.2f} GiB; "
            "RSS counts shared buffers once per process, PSS shares them out), idle CPU < 20 % "
            f"of one core {'met' if last['cpu_pct'] < 20 else 'MISSED'} ({last['cpu_pct']:.1f} %).",
            "",
        ]
    stalls = results.get("stalls")
    if stalls:
        lines += [
            f"### {stalls['minutes']:g}-minute loaded run with writer stalls",
            "",
            f"The OLTP workload (50 TPS, 4 clients, through both endpoints) plus a commit probe; "
            f"every {results['stall_every_s']:.0f} s the writer is frozen (SIGSTOP of every "
            f"process) for {stalls['stall_s']:.1f} s, under the "
            f"{results['unresponsive_s']:.0f} s detection threshold "
            f"(load average: {stalls['load']}).",
            "",
            "| stalls | failovers | transactions | errors | longest gap between commits |",
            "|---|---|---|---|---|",
            f"| {stalls['stalls']} | {stalls['failovers']} | {stalls['transactions']} | "
            f"{stalls['errors']} | {stalls['longest_commit_gap_s']:.2f} s |",
            "",
            f"Target: no spurious failover — {'met' if stalls['failovers'] == 0 else 'MISSED'}.",
            "",
        ]
    return "\n".join(lines)


def write_docs(section: str) -> None:
    write_marked(DOCS, BEGIN, END, section)


def uptime() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.failover", description=__doc__)
    parser.add_argument("--failovers", type=int, default=10)
    parser.add_argument("--rto-readers", type=int, default=3)
    parser.add_argument("--clients", type=int, default=2, help="zero-loss checker clients")
    parser.add_argument("--readers-list", default="1,3,7,15")
    parser.add_argument("--settle-s", type=float, default=20.0)
    parser.add_argument("--window-s", type=float, default=30.0)
    parser.add_argument("--stall-minutes", type=float, default=10.0)
    parser.add_argument("--stall-s", type=float, default=1.5)
    parser.add_argument("--stall-every-s", type=float, default=20.0)
    parser.add_argument("--port-base", type=int, default=21000)
    # Under /var/tmp: the postgres OS user must reach it (a fixed name, so reruns replace it).
    state_root = Path("/var/tmp/borealis-bench")  # noqa: S108
    parser.add_argument("--state-root", type=Path, default=state_root)
    parser.add_argument("--write-docs", action="store_true", help=f"update {DOCS}")
    parser.add_argument("--skip", default="", help="comma list of: rto, footprint, stalls")
    args = parser.parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))
    started = time.monotonic()
    results: dict[str, Any] = {
        "machine": machine(),
        "command": "python -m bench.failover " + " ".join(argv or sys.argv[1:]),
        "load_before": uptime(),
        "stall_every_s": args.stall_every_s,
        "unresponsive_s": 3.0,
    }
    args.state_root.mkdir(parents=True, exist_ok=True)
    os.chmod(args.state_root, 0o755)

    main_stack = Stack(args.state_root / "rto", args.port_base)
    if not {"rto", "stalls"} <= skip:
        print(f"starting a stack with {args.rto_readers} readers", flush=True)
        main_stack.up(args.rto_readers)
        try:
            if "rto" not in skip:
                print(f"RTO/RPO over {args.failovers} writer kills", flush=True)
                results["rto"] = asdict(measure_rto(main_stack, args.failovers, args.clients))
            if "stalls" not in skip:
                print(f"{args.stall_minutes:.0f} minutes of load with writer stalls", flush=True)
                main_stack.wait_healthy()
                stalls = measure_stalls(
                    main_stack, args.stall_minutes, args.stall_s, args.stall_every_s
                )
                results["stalls"] = asdict(stalls)
        finally:
            main_stack.down()
    if "footprint" not in skip:
        feet = []
        for n, readers in enumerate(int(r) for r in args.readers_list.split(",")):
            stack = Stack(args.state_root / f"footprint-{readers}", args.port_base + 100 * n)
            print(f"footprint with {readers} readers", flush=True)
            stack.up(readers)
            try:
                feet.append(asdict(footprint(stack, readers, args.settle_s, args.window_s)))
            finally:
                stack.down()
        results["footprint"] = feet
    results["load_after"] = uptime()
    results["minutes"] = (time.monotonic() - started) / 60
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "failover.json").write_text(json.dumps(results, indent=2) + "\n")
    section = markdown(results)
    print(section)
    if args.write_docs:
        write_docs(section)
        print(f"wrote {DOCS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
