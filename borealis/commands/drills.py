"""`failover`, `reboot`, `fault`, `workload`: act on a running mini-cluster."""

from __future__ import annotations

import argparse
import json
import logging
import signal

from borealis import control
from cluster.fault_catalog import FAULTS_BY_NAME
from core.errors import BorealisError
from core.settings import Settings


def _require_cluster(settings: Settings) -> None:
    from borealis import watch

    watch.require_cluster(settings.state_paths())


def cmd_failover(args: argparse.Namespace, settings: Settings) -> int:
    _require_cluster(settings)
    paths = settings.state_paths()
    result = control.request(paths.control_socket, "failover", target=args.target)
    print(f"Failed over from {result['previous_writer']} to {result['writer']}.")
    return 0


def cmd_reboot(args: argparse.Namespace, settings: Settings) -> int:
    _require_cluster(settings)
    paths = settings.state_paths()
    result = control.request(paths.control_socket, "reboot", instance=args.instance)
    print(f"Rebooted {result['instance']} ({result['role']}); no failover.")
    return 0


def cmd_fault(args: argparse.Namespace, settings: Settings) -> int:
    _require_cluster(settings)
    spec = FAULTS_BY_NAME[args.fault]
    fault_args = [str(getattr(args, f"fault_{arg.lower()}")) for arg in spec.args]
    paths = settings.state_paths()
    result = control.request(paths.control_socket, "fault", fault=spec.name, args=fault_args)
    if args.json:
        print(json.dumps(result, indent=2, sort_keys=True))
        return 0
    details = ", ".join(f"{k} {v}" for k, v in result.items() if k != "fault" and v is not None)
    print(f"{spec.name}: done ({details}).")
    return 0


def cmd_workload(args: argparse.Namespace, settings: Settings) -> int:
    _require_cluster(settings)
    from cluster.workload import SCENARIOS, Workload
    from core.credentials import Credentials

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    paths = settings.state_paths()
    if not paths.secrets.exists():
        raise BorealisError(f"no cluster in {paths.root}: run `borealis up` first")
    password = Credentials.load(paths.secrets).app
    scenario = SCENARIOS[args.scenario]

    def dsn(port_name: str) -> str:
        from psycopg.conninfo import make_conninfo

        from borealis.grafana import WILDCARD_HOSTS
        from core.credentials import APP_DATABASE, APP_USER

        # The certificates name 127.0.0.1, ::1 and localhost, never a wildcard address.
        host = "127.0.0.1" if settings.listen_host in WILDCARD_HOSTS else settings.listen_host
        return make_conninfo(
            host=host,
            port=settings.ports.port(port_name),
            user=APP_USER,
            password=password,
            dbname=APP_DATABASE,
            **paths.tls_client_options(),
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
