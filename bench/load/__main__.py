"""Load the observer can take: `python -m bench load` (`python -m bench.load`).

One run on a stack of its own (writer + 1 reader, max_connections 800, pg_stat_statements.max
25000): the reader's replay is paused first (it falls behind for the whole run), then
20,000 distinct statements go into pg_stat_statements, then the observer effect is measured
(pgbench on the writer with no collector, one at 1 s and one at 100 ms sampling, alternated
in paired rounds, bench/load/observer.py), then the load window:
500 client connections through the cluster endpoint, 200 of them active, and a log storm of
10,000 jsonlog lines a second into the writer's log, while the stack's collector is scraped
every second: its poll cadence per instance, poll age, sampler round trip, series count and
scrape time, and its drop counters; the storm's lines must all be counted.

    python -m bench.load --write-docs      # docs/reliability.md's Load section (~15 min)
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import yaml
from psycopg.conninfo import make_conninfo

from bench.collector import stack as stacks
from bench.collector.measure import uptime
from bench.failover import machine
from bench.load import observer
from bench.load.observe import Watch, families_by_series, scrape
from bench.load.pressure import (
    LogStorm,
    Sessions,
    current_jsonlog,
    distinct_statements,
    reader_behind,
    statements_tracked,
)
from bench.load.report import markdown
from bench.soak.report import write_docs
from collector.targets import targets_from_state
from core.credentials import APP_DATABASE, APP_USER
from core.settings_sections import Ports
from core.waiting import WaitTimeout, wait_until

BEGIN, END = "<!-- bench.load:begin -->", "<!-- bench.load:end -->"


class LoadStack(stacks.Stack):
    config: Path | None = None

    def up(self, readers: int, attempts: int = 3) -> None:
        self.discard()
        self.state_dir.mkdir(parents=True)
        (self.state_dir / self.MARKER).touch()
        os.chmod(self.state_dir, 0o755)
        args = ["up", "--detach", "--readers", str(readers), "--no-workload"]
        self.cli(*args, *(["--config", str(self.config)] if self.config else []))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__)
    default_state = Path("/var/tmp/borealis-bench-load")  # noqa: S108 - reachable by postgres
    parser.add_argument("--state-dir", type=Path, default=default_state)
    parser.add_argument("--port-base", type=int, default=24600)
    parser.add_argument("--connections", type=int, default=500)
    parser.add_argument("--active", type=int, default=200)
    parser.add_argument("--statements", type=int, default=20_000)
    parser.add_argument("--storm-rate", type=int, default=10_000, help="log lines a second")
    parser.add_argument("--storm-s", type=float, default=60.0)
    parser.add_argument("--window-s", type=float, default=90.0, help="the load window")
    parser.add_argument("--lag-minutes", type=float, default=10.0, help="hold the window until")
    parser.add_argument("--rounds", type=int, default=10, help="observer-effect rounds")
    parser.add_argument("--pgbench-s", type=float, default=15.0)
    parser.add_argument("--catch-up-s", type=float, default=300.0, help="wait for the storm")
    parser.add_argument("--observer-only", action="store_true", help="only the TPS rounds")
    parser.add_argument(
        "--select-only", action="store_true", help="pgbench -S (read-only) for the TPS rounds"
    )
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--write-docs", action="store_true")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    work = args.state_dir.parent / f"{args.state_dir.name}-work"
    work.mkdir(parents=True, exist_ok=True)
    config = work / "load.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "instance": {
                    "max_connections": args.connections + 300,
                    "extra": {"pg_stat_statements.max": str(args.statements + 5000)},
                }
            }
        )
    )
    stack = LoadStack(args.state_dir, args.port_base)
    stack.config = config
    results: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "load_before": uptime(),
        "args": {k: str(v) for k, v in vars(args).items()},
    }
    print(f"load bench: stack on ports from {args.port_base}", flush=True)
    stack.up(readers=1)
    try:
        run(stack, args, work, results)
    except Exception as exc:  # keep what was measured, say what failed
        results["error"] = f"{type(exc).__name__}: {exc}"
        print(f"load bench failed: {results['error']}", flush=True)
    finally:
        results["load_after"] = uptime()
        stack.discard()
    out = args.json or Path(__file__).resolve().parents[1] / "results" / "load.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str))
    text = markdown(results)
    print(text, flush=True)
    if args.write_docs and "error" not in results:
        write_docs(text, BEGIN, END, heading="Load")
    return 1 if "error" in results else 0


def run(stack: LoadStack, args: argparse.Namespace, work: Path, r: dict[str, Any]) -> None:
    wait_until(stack.all_available, timeout=120, what="the stack", retry_on=(RuntimeError,))
    status = stack.status()
    writer = next(i for i in status["instances"] if i["role"] == "writer")
    reader = next(i for i in status["instances"] if i["role"] == "reader")
    collector_url = stack.status_url("collector")
    password = stack.credentials.app
    endpoint = make_conninfo(
        host="127.0.0.1",
        port=Ports(base=args.port_base).port("cluster_endpoint"),
        user=APP_USER,
        password=password,
        dbname=APP_DATABASE,
        connect_timeout=30,
    )
    superuser_app = stack.dsn(writer["port"], dbname=APP_DATABASE)
    idle = scrape(collector_url)
    r["idle"] = {"series": idle.series, "scrape_s": round(idle.seconds, 3)}
    if args.observer_only:
        r["observer"] = observer_effect(stack, args, work, writer["port"])
        return

    # A transaction the reader has replayed, so that its replay age means something.
    with psycopg.connect(superuser_app, autocommit=True) as conn:
        conn.execute("create table if not exists load_bench_mark (at timestamptz)")
        conn.execute("insert into load_bench_mark values (now())")
    wait_until(
        lambda: reader_behind(stack.dsn(reader["port"]))["replay_age_s"] is not None,
        timeout=60,
        what="the reader to replay a transaction",
    )
    stack.cli("fault", "pause-replay", reader["id"])
    paused_at = time.monotonic()
    print(f"paused replay on {reader['id']}", flush=True)

    seconds = distinct_statements(superuser_app, args.statements)
    r["statements"] = {
        "sent": args.statements,
        "seconds": round(seconds, 1),
        "tracked": statements_tracked(superuser_app),
    }
    print(f"statements: {r['statements']}", flush=True)

    if args.rounds > 0:  # --rounds 0: the load window alone
        r["observer"] = observer_effect(stack, args, work, writer["port"])
        print(f"observer effect: {r['observer']['modes']}", flush=True)

    sessions = Sessions(endpoint, args.connections, args.active)
    r["sessions"] = {"open_s": round(sessions.open(), 1)}
    r["sessions"]["opened"] = len(sessions.connections)
    print(f"sessions: {r['sessions']}", flush=True)
    log_dir = next(
        Path(t.log_dir) for t in targets_from_state(stack.paths) if t.db_instance == writer["id"]
    )
    storm = LogStorm(current_jsonlog(log_dir), args.storm_rate)
    before = scrape(collector_url).per_instance("borealis_log_lines_total").get(writer["id"], 0)
    window_started = time.monotonic()
    try:
        with Watch(collector_url) as watch:
            storm.start()
            time.sleep(args.storm_s)
            storm.stop()

            def counted() -> float:
                lines = scrape(collector_url).per_instance("borealis_log_lines_total")
                return lines.get(writer["id"], 0) - before

            try:  # under load the collector may fall behind: a backlog, not a loss
                caught_up = wait_until(
                    lambda: counted() >= storm.written,
                    timeout=args.catch_up_s,
                    what="the storm counted",
                    retry_on=(OSError,),
                )
            except WaitTimeout:
                caught_up = False
            r["storm"] = {
                "written": storm.written,
                "seconds": round(storm.seconds, 1),
                "counted": counted(),
                "counted_all": bool(caught_up),
                "catch_up_s": round(time.monotonic() - window_started - storm.seconds, 1)
                if caught_up
                else None,
            }
            lag_goal = args.lag_minutes * 60
            wait_until(
                lambda: (
                    time.monotonic() - window_started >= args.window_s
                    and time.monotonic() - paused_at >= lag_goal
                ),
                timeout=max(args.window_s, lag_goal) + 60,
                interval=1.0,
                what="the load window",
            )
            r["sessions"]["active_db_load"] = db_load(stack, writer["id"])
        r["window"] = watch.summary()
        r["window"]["top_families"] = families_by_series(watch.scrapes[-1])
        r["lag"] = {
            "paused_s": round(time.monotonic() - paused_at),
            **reader_behind(stack.dsn(reader["port"])),
            "prometheus_lag_s": prom_value(
                stack, f'borealis_replica_lag_seconds{{db_instance="{reader["id"]}"}}'
            ),
        }
    finally:
        storm.stop()
        sessions.close()
        r["sessions"]["errors"] = sessions.errors
    stack.cli("fault", "resume-replay", reader["id"])


def observer_effect(
    stack: LoadStack, args: argparse.Namespace, work: Path, writer_port: int
) -> dict[str, Any]:
    return observer.measure(
        stack,
        work,
        writer_port=writer_port,
        port_base=args.port_base,
        rounds=args.rounds,
        seconds=args.pgbench_s,
        select_only=args.select_only,
    )


def prom_value(stack: LoadStack, promql: str) -> float | None:
    try:
        result = stack.prometheus(promql)
    except (OSError, ValueError):
        return None
    return round(float(result[0]["value"][1]), 1) if result else None


def db_load(stack: LoadStack, instance: str) -> float | None:
    """Average active sessions the collector measured on the writer over the last minute."""
    return prom_value(
        stack, f'sum(rate(borealis_db_load_seconds_total{{db_instance="{instance}"}}[1m]))'
    )


if __name__ == "__main__":
    raise SystemExit(main())
