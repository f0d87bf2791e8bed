"""`up`, `down`, `status`: start, stop and show a stack (a mini-cluster or a targets watch)."""

from __future__ import annotations

import argparse
import json
import logging
import os
from pathlib import Path
from typing import Any

from borealis import control
from core.errors import BorealisError
from core.settings import Settings


def cmd_up(args: argparse.Namespace, settings: Settings) -> int:
    from borealis import startup, supervisor, watch

    configured = settings.collector.targets_file
    targets_file = str(Path(configured).absolute()) if configured else None
    if targets_file:
        if args.readers is not None:
            raise BorealisError("--readers is for the mini-cluster; --targets runs none")
        watch.load_targets(targets_file)  # a bad file: one line naming file and line, now
    if args.detach:
        paths = settings.state_paths()
        try:
            status = control.request(paths.control_socket, "status", timeout=10)
            watch.check_same_kind(status, targets_file)
            print("Borealis is already running.")
        except control.SupervisorNotRunning:
            argv = ["up", "--state-dir", str(settings.state_dir)]
            if args.config:
                argv += ["--config", str(args.config.absolute())]
            if args.readers is not None:
                argv += ["--readers", str(args.readers)]
            if args.no_workload:
                argv.append("--no-workload")
            if args.targets is not None:
                argv += ["--targets", str(args.targets.absolute())]
            status = startup.start_detached(settings, argv, args.timeout)
            print("Borealis is up.")
            for line in status.get("start_report", []):
                print(f"  {line}")
        watch.print_targets(status)
        _print_urls(status)
        return 0
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if targets_file:
        watch.run_foreground(settings)
    else:
        supervisor.run_foreground(settings)
    return 0


def _print_urls(status: dict[str, Any]) -> None:
    for name, url in sorted(status.get("services", {}).items()):
        print(f"  {name:<16} {url}")
    for name, dsn in sorted(status.get("endpoints", {}).items(), reverse=True):
        print(f"  {name + ' endpoint':<16} {dsn}")
    provisioning = status.get("grafana", {}).get("provisioning")
    if provisioning:
        print(f"  {'grafana':<16} GF_PATHS_PROVISIONING={provisioning}")


def cmd_down(args: argparse.Namespace, settings: Settings) -> int:
    from borealis import teardown

    paths = settings.state_paths()
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
    from borealis import watch

    paths = settings.state_paths()
    try:
        status = control.request(paths.control_socket, "status", timeout=30)
    except control.SupervisorNotRunning:
        from borealis import teardown

        targets_file = watch.watched_file(paths)
        if targets_file:
            status = watch.offline_status(paths, targets_file)
        else:
            status = teardown.offline_status(paths)
    if args.json:
        print(json.dumps(status, indent=2, sort_keys=True))
        return 0
    if status.get("mode") == "targets":
        watch.print_targets(status)
        _print_urls(status)
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
