"""Chaos soak: `make soak MINUTES=N` (`python -m bench.soak --minutes N`).

Starts a stack of its own (own state directory, own ports), writes through the cluster
endpoint at a steady rate with the zero-loss checker's ledger, and injects a random fault from
the catalogue every few seconds (one at a time: inject, hold, undo, wait until healthy), then
checks: no acknowledged write lost or duplicated; every fault produced its events (the event
store `borealis events` reads) and, where an alarm covers it and it lasted long enough, its
alert (Alertmanager, polled every second, so inhibited alerts count); the supervisor's and the
collector's RSS slope; no process or port left after `borealis down`. Seeded: the seed is
printed, `--seed` (`make soak SEED=`) replays the same choices. Exit 0 when every check holds.

    python -m bench.soak --minutes 30 --write-docs   # docs/reliability.md's Soak section
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.soak.checks import check_alerts, check_events, leftovers
from bench.soak.episodes import KINDS, Episode, Injector
from bench.soak.observe import AlertWatcher, MemorySampler
from bench.soak.report import markdown, write_docs
from bench.soak.stack import SoakStack
from core.errors import BorealisError
from testsupport.checker import ZeroLossChecker

LAST_START_S = 10.0  # no new fault this close to the end: the run would overrun
ALERT_GRACE_S = 40.0  # after the last episode healed: its alarm's periods and evaluation


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=None, help="replay a run (default: random)")
    parser.add_argument("--readers", type=int, default=2)
    parser.add_argument(
        "--port-base", type=int, default=int(os.environ.get("SOAK_PORT_BASE", "24400"))
    )
    parser.add_argument("--state-dir", type=Path, default=None)
    parser.add_argument("--kinds", default=",".join(KINDS), help="comma-separated fault kinds")
    parser.add_argument("--hold", default="4,25", help="MIN,MAX seconds a fault lasts")
    parser.add_argument("--gap", type=float, default=3.0, help="seconds between episodes")
    parser.add_argument("--heal-timeout", type=float, default=180.0)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--pause", type=float, default=0.05, help="seconds between writes")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the state directory")
    args = parser.parse_args(argv)
    unknown = set(args.kinds.split(",")) - set(KINDS)
    if unknown:
        parser.error(f"unknown fault kinds {sorted(unknown)}; choose from {', '.join(KINDS)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 31)
    print(f"soak: seed {seed} (replay with --seed {seed}), {args.minutes:g} min", flush=True)
    # Under /var/tmp: the postgres user must reach the data root (a home directory is 0700).
    state = args.state_dir or Path(
        tempfile.mkdtemp(prefix=f"borealis-soak-{seed}-", dir="/var/tmp")
    )
    stack = SoakStack(state.absolute(), args.port_base)
    low, high = (float(v) for v in args.hold.split(","))
    results = run(stack, args, seed, (low, high))
    text = markdown(results)
    print(text, flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    if args.write_docs:
        write_docs(text)
    if results["ok"] and not args.keep:
        shutil.rmtree(stack.state, ignore_errors=True)
    else:
        print(f"state directory kept: {stack.state}", flush=True)
    return 0 if results["ok"] else 1


def run(
    stack: SoakStack, args: argparse.Namespace, seed: int, hold: tuple[float, float]
) -> dict[str, Any]:
    began = time.time()
    load = [os.getloadavg()[0]]
    stack.up(args.readers)
    episodes: list[Episode] = []
    try:
        stack.wait_healthy(args.heal_timeout)
        status = stack.status()
        checker = ZeroLossChecker(stack.dsn(), clients=args.clients, pause_s=args.pause)
        checker.start()
        memory = MemorySampler(
            int(status["supervisor_pid"]), stack.paths.pid_file("collector"), every_s=5.0
        )
        memory.start()
        alerts = AlertWatcher(f"http://127.0.0.1:{stack.ports.port('alertmanager')}")
        alerts.start()
        stack.wait_alarms_armed(args.heal_timeout)
        injector = Injector(stack, random.Random(seed), hold)
        kinds = tuple(k for k in KINDS if k in args.kinds.split(","))
        deadline = time.monotonic() + args.minutes * 60
        pause = threading.Event()
        while time.monotonic() < deadline - LAST_START_S:
            episode = injector.run(injector.next_kind(kinds), args.heal_timeout)
            episodes.append(episode)
            load.append(os.getloadavg()[0])
            print(f"  {len(episodes):3d} {episode.line()}", flush=True)
            if episode.error:
                try:  # a failed step: let the cluster settle, carry on (counted as an error)
                    stack.wait_healthy(args.heal_timeout)
                except BorealisError as exc:
                    print(f"  the stack did not recover: {exc}", flush=True)
                    break
            pause.wait(args.gap)
        acked_during = checker.acknowledged()
        alerts_missing = check_alerts(episodes, alerts, ALERT_GRACE_S)
        checker.stop()
        verdict = checker.verify(stack.dsn())
        events_missing = check_events(episodes, stack.paths.events_db)
        memory.stop()
        alerts.stop()
        instances = len(status["instances"])
    finally:
        try:
            stack.down()
            down_error = ""
        except (RuntimeError, OSError) as exc:
            down_error = str(exc)
    leaked_processes, leaked_ports = leftovers(stack, instances)
    ok = (
        verdict.ok
        and not events_missing
        and not alerts_missing
        and not leaked_processes
        and not leaked_ports
        and not down_error
        and not any(e.error for e in episodes)
        and acked_during > 0
    )
    return {
        "ok": ok,
        "seed": seed,
        "minutes": round((time.time() - began) / 60, 1),
        "soak_minutes": args.minutes,
        "readers": args.readers,
        "hold_s": list(hold),
        "episodes": [asdict(e) for e in episodes],
        "writes": {
            "acknowledged": verdict.acknowledged,
            "lost": len(verdict.missing),
            "duplicated": len(verdict.duplicated),
            "unknown": verdict.unknown,
            "unknown_committed": verdict.unknown_committed,
            "rejected": verdict.rejected,
            "rejected_present": len(verdict.rejected_present),
            "summary": verdict.summary(),
        },
        "events_missing": events_missing,
        "alerts_missing": alerts_missing,
        "alert_polls_failed": alerts.failed_polls,
        "memory": memory.summary(),
        "leaked_processes": leaked_processes,
        "leaked_ports": leaked_ports,
        "down_error": down_error,
        "load_average": {"mean": round(sum(load) / len(load), 1), "max": round(max(load), 1)},
        "machine": f"{os.cpu_count()} cores",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(began)),
    }


if __name__ == "__main__":
    sys.exit(main())
