"""The `borealis` command. Errors are one clear line on stderr and a non-zero exit."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from borealis import control
from cluster.fault_catalog import FAULTS, FAULTS_BY_NAME
from core.errors import BorealisError
from core.paths import StatePaths
from core.settings import (
    WORKLOAD_SCENARIOS,
    Settings,
    load_settings,
    settings_from_json_file,
)

Command = Callable[[argparse.Namespace, Settings], int]


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--state-dir",
        help="state directory (default .borealis, or $BOREALIS_STATE_DIR)",
    )
    parser.add_argument("--config", type=Path, help="YAML settings file")
    parser.add_argument("--settings-json", type=Path, help=argparse.SUPPRESS)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="borealis",
        description="An Aurora-style PostgreSQL mini-cluster with CloudWatch-style monitoring.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = sub.add_parser("up", help="create (first time) and start the whole stack")
    up.add_argument("--detach", action="store_true", help="return once every part is healthy")
    up.add_argument("--readers", type=int, help="readers in a new cluster, 1..15 (default 2)")
    up.add_argument("--no-workload", action="store_true", help="do not run the light workload")
    up.add_argument("--timeout", type=float, default=300, help="seconds --detach waits")
    _add_common(up)

    down = sub.add_parser("down", help="stop every process of the stack")
    _add_common(down)

    status = sub.add_parser("status", help="topology, endpoints and service URLs")
    status.add_argument("--json", action="store_true", help="print JSON")
    _add_common(status)

    failover = sub.add_parser("failover", help="fail over to a reader (FailoverDBCluster)")
    failover.add_argument("--target", help="the reader to promote (default: by tier, then WAL)")
    _add_common(failover)

    reboot = sub.add_parser("reboot", help="restart an instance, no failover (RebootDBInstance)")
    reboot.add_argument("instance", metavar="ID", help="the instance to reboot")
    _add_common(reboot)

    fault = sub.add_parser("fault", help="inject a fault for a drill (recorded in the trail)")
    faults = fault.add_subparsers(dest="fault", required=True, metavar="FAULT")
    for spec in FAULTS:
        one = faults.add_parser(spec.name, help=spec.help, description=spec.help)
        for arg in spec.args:
            one.add_argument(f"fault_{arg.lower()}", metavar=arg)
        one.add_argument("--json", action="store_true", help="print the result as JSON")
        _add_common(one)

    workload = sub.add_parser("workload", help="run client load through the cluster endpoints")
    workload.add_argument(
        "--scenario", default="oltp", choices=WORKLOAD_SCENARIOS, help="what to run (default oltp)"
    )
    workload.add_argument("--rate", type=float, help="transactions per second, 0 = unpaced")
    workload.add_argument("--duration", type=float, help="seconds (default: until Ctrl-C)")
    workload.add_argument("--clients", type=int, help="concurrent clients")
    workload.add_argument("--quiet", action="store_true", help="print only the final summary")
    _add_common(workload)

    trail = sub.add_parser("trail", help="control-plane trail (CloudTrail-like), oldest first")
    trail.add_argument("--json", action="store_true", help="print CloudTrail-style records")
    trail.add_argument("--minutes", type=float, default=1440, help="how far back (default 1440)")
    _add_common(trail)

    events = sub.add_parser("events", help="RDS-style events, oldest first")
    events.add_argument("--json", action="store_true", help="print DescribeEvents-style JSON")
    events.add_argument("--minutes", type=float, default=60, help="how far back (default 60)")
    _add_common(events)

    collector = sub.add_parser("collector", help="run the collector alone (any PostgreSQL 13+)")
    collector.add_argument("--targets", type=Path, help="YAML file listing clusters and DSNs")
    _add_common(collector)

    ui = sub.add_parser("ui", help="run the Dash UI alone")
    _add_common(ui)
    return parser


def settings_from_args(args: argparse.Namespace) -> Settings:
    if getattr(args, "settings_json", None):
        return settings_from_json_file(args.settings_json)
    overrides: dict[str, Any] = {"state_dir": args.state_dir}
    if getattr(args, "readers", None) is not None:
        overrides["readers"] = args.readers
    if getattr(args, "no_workload", False):
        overrides["workload"] = False
    if getattr(args, "targets", None) is not None:
        overrides["collector.targets_file"] = str(args.targets)
    return load_settings(config_file=args.config, overrides=overrides)


# --- commands ---------------------------------------------------------------------------


def cmd_up(args: argparse.Namespace, settings: Settings) -> int:
    from borealis import supervisor

    if args.detach:
        paths = StatePaths(settings.state_dir)
        try:
            status = control.request(paths.control_socket, "status", timeout=10)
            print("Borealis is already running.")
        except control.SupervisorNotRunning:
            argv = ["up", "--state-dir", str(settings.state_dir)]
            if args.config:
                argv += ["--config", str(args.config.absolute())]
            if args.readers is not None:
                argv += ["--readers", str(args.readers)]
            if args.no_workload:
                argv.append("--no-workload")
            status = supervisor.start_detached(settings, argv, args.timeout)
            print("Borealis is up.")
        _print_urls(status)
        return 0
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    supervisor.run_foreground(settings)
    return 0


def _print_urls(status: dict[str, Any]) -> None:
    for name, url in sorted(status.get("services", {}).items()):
        print(f"  {name:<16} {url}")
    for name, dsn in sorted(status.get("endpoints", {}).items(), reverse=True):
        print(f"  {name + ' endpoint':<16} {dsn}")


def cmd_down(args: argparse.Namespace, settings: Settings) -> int:
    from borealis import teardown

    paths = StatePaths(settings.state_dir)
    running = teardown.supervisor_running(paths)
    stopped = teardown.down(paths)
    if not running and paths.topology.exists():
        # The supervisor records a `down` it receives; with none running, record it here.
        from core.trail import Caller, TrailRecord, TrailStore

        TrailStore(paths.trail_db, settings.retention.trail_days).add(
            TrailRecord(
                event_name="StopDBCluster",
                caller=Caller.from_uid(os.getuid(), os.getpid()),
                request_parameters={"dBClusterIdentifier": settings.cluster_id},
                response_elements={"processesStopped": stopped},
                user_agent=control.USER_AGENT,
                region=settings.region,
            )
        )
    print(f"Borealis stopped ({stopped} processes).")
    return 0


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    paths = StatePaths(settings.state_dir)
    try:
        status = control.request(paths.control_socket, "status", timeout=30)
    except control.SupervisorNotRunning:
        from borealis import teardown

        status = teardown.offline_status(paths)
    if args.json:
        print(json.dumps(status, indent=2, sort_keys=True))
        return 0
    print(f"cluster {status['cluster_id']}  writer {status.get('writer', '-')}")
    for inst in status["instances"]:
        notes = [f"fault: {inst['fault']}"] if inst.get("fault") else []
        if inst.get("replay_paused"):
            notes.append("replay paused")
        if inst.get("replica_delay_ms"):
            notes.append(f"replay delayed {inst['replica_delay_ms']} ms")
        print(
            f"  {inst['id']:<28} {inst['role']:<7} {inst['az']:<10} tier {inst['tier']:<3}"
            f" port {inst['port']:<6} {inst['state']}" + (f" ({', '.join(notes)})" if notes else "")
        )
    segments = ", ".join(f"{s['id']} {s['state']}" for s in status["segments"])
    print(f"  storage: {segments}")
    _print_urls(status)
    creds = status.get("credentials")
    if creds:
        print(
            f"  password of {creds['user']}: key {creds['password_key']!r} in "
            f"{creds['password_file']}"
        )
    return 0


def cmd_failover(args: argparse.Namespace, settings: Settings) -> int:
    paths = StatePaths(settings.state_dir)
    result = control.request(paths.control_socket, "failover", target=args.target)
    print(f"Failed over from {result['previous_writer']} to {result['writer']}.")
    return 0


def cmd_reboot(args: argparse.Namespace, settings: Settings) -> int:
    paths = StatePaths(settings.state_dir)
    result = control.request(paths.control_socket, "reboot", instance=args.instance)
    print(f"Rebooted {result['instance']} ({result['role']}); no failover.")
    return 0


def cmd_fault(args: argparse.Namespace, settings: Settings) -> int:
    spec = FAULTS_BY_NAME[args.fault]
    fault_args = [str(getattr(args, f"fault_{arg.lower()}")) for arg in spec.args]
    paths = StatePaths(settings.state_dir)
    result = control.request(paths.control_socket, "fault", fault=spec.name, args=fault_args)
    if args.json:
        print(json.dumps(result, indent=2, sort_keys=True))
        return 0
    details = ", ".join(f"{k} {v}" for k, v in result.items() if k != "fault" and v is not None)
    print(f"{spec.name}: done ({details}).")
    return 0


def cmd_workload(args: argparse.Namespace, settings: Settings) -> int:
    from cluster.workload import SCENARIOS, Workload
    from core.credentials import Credentials

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    paths = StatePaths(settings.state_dir)
    if not paths.secrets.exists():
        raise BorealisError(f"no cluster in {paths.root}: run `borealis up` first")
    password = Credentials.load(paths.secrets).app
    scenario = SCENARIOS[args.scenario]

    def dsn(port_name: str) -> str:
        from core.credentials import APP_DATABASE, APP_USER

        return (
            f"host={settings.listen_host} port={settings.ports.port(port_name)} "
            f"user={APP_USER} password={password} dbname={APP_DATABASE}"
        )

    load = Workload(
        scenario,
        dsn("cluster_endpoint"),
        dsn("reader_endpoint"),
        rate=scenario.rate if args.rate is None else args.rate,
        clients=args.clients or scenario.clients,
    )
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: load.stop.set())
    if not args.quiet:
        print(f"workload {scenario.name} ({scenario.waits}); Ctrl-C stops it", flush=True)
    load.run(args.duration, None if args.quiet else lambda line: print(line, flush=True))
    print(load.stats.summary(), flush=True)
    for error, count in load.stats.errors.most_common(5):
        print(f"  {count} x {error}")
    return 0


def cmd_trail(args: argparse.Namespace, settings: Settings) -> int:
    from core.trail import TrailStore

    paths = StatePaths(settings.state_dir)
    if not paths.trail_db.exists():
        raise BorealisError(f"no trail in {paths.root}: run `borealis up` first")
    records = TrailStore(paths.trail_db, settings.retention.trail_days).recent(args.minutes)
    if args.json:
        print(json.dumps({"Records": records}, indent=2))
        return 0
    for record in records:
        outcome = record.get("errorCode") or "ok"
        params = record.get("requestParameters") or {}
        shown = " ".join(f"{k}={v}" for k, v in params.items() if v not in (None, []))
        print(
            f"{record['eventTime']}  {record['eventName']:<18} "
            f"{record['userIdentity']['userName']:<10} {outcome:<28} {shown}"
        )
    return 0


def cmd_events(args: argparse.Namespace, settings: Settings) -> int:
    from core.events import EventStore

    paths = StatePaths(settings.state_dir)
    if not paths.events_db.exists():
        raise BorealisError(f"no events in {paths.root}: run `borealis up` first")
    since = datetime.now(UTC) - timedelta(minutes=args.minutes)
    events = [
        e.to_api()
        for e in EventStore(paths.events_db, settings.retention.events_days).list(since=since)
    ]
    if args.json:
        print(json.dumps({"Events": events}, indent=2))
        return 0
    for event in events:
        print(
            f"{event['Date']}  {event['EventId']:<20} {event['SourceIdentifier']:<28} "
            f"{event['Message']}"
        )
    return 0


def _serve(run: Callable[[Settings, threading.Event], None], settings: Settings) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    run(settings, stop)
    return 0


def cmd_collector(args: argparse.Namespace, settings: Settings) -> int:
    from collector import service

    return _serve(service.run, settings)


def cmd_ui(args: argparse.Namespace, settings: Settings) -> int:
    from dashboards import server

    return _serve(server.run, settings)


COMMANDS: dict[str, Command] = {
    "up": cmd_up,
    "down": cmd_down,
    "status": cmd_status,
    "failover": cmd_failover,
    "reboot": cmd_reboot,
    "fault": cmd_fault,
    "workload": cmd_workload,
    "trail": cmd_trail,
    "events": cmd_events,
    "collector": cmd_collector,
    "ui": cmd_ui,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        settings = settings_from_args(args)
        return COMMANDS[args.command](args, settings)
    except BorealisError as exc:
        print(f"borealis {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `borealis status | head`: the reader left; say nothing more, as other tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    finally:
        logging.getLogger(__name__).debug(
            "%s took %.2f s", args.command, time.monotonic() - started
        )
