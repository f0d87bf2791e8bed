"""The `borealis` command. Errors are one clear line on stderr and a non-zero exit."""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from borealis.commands import alarms, drills, records, stack, standalone, subscriptions
from cluster.fault_catalog import FAULTS
from core.errors import BorealisError
from core.settings import (
    MAX_READERS,
    WORKLOAD_SCENARIOS,
    Settings,
    load_settings,
    settings_from_json_file,
)

Command = Callable[[argparse.Namespace, Settings], int]

MAX_MINUTES = 10 * 366 * 24 * 60  # ten years: far beyond any retention


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line, like every other error of the CLI."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _number(low: float, high: float, *, low_open: bool = False) -> Callable[[str], float]:
    """An argparse type: a finite number in [low, high] (or (low, high])."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        bounds = f"{'more than' if low_open else 'at least'} {low:g} and at most {high:g}"
        if not math.isfinite(value) or value < low or (low_open and value == low) or value > high:
            raise argparse.ArgumentTypeError(f"expected a number {bounds}, got {text!r}")
        return value

    return parse


def _count(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number in [low, high]."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected {low} to {high}, got {text!r}")
        return value

    return parse


MINUTES = _number(0, MAX_MINUTES, low_open=True)


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--state-dir",
        help="state directory (default .borealis, or $BOREALIS_STATE_DIR)",
    )
    parser.add_argument("--config", type=Path, help="YAML settings file")
    parser.add_argument("--settings-json", type=Path, help=argparse.SUPPRESS)


def _add_service_parsers(sub: Any) -> None:
    """The services that also run alone: collector, ui, cloudwatch, webhook."""
    collector = sub.add_parser("collector", help="run the collector alone (any PostgreSQL 13+)")
    collector.add_argument("--targets", type=Path, help="YAML file listing clusters and DSNs")
    _add_common(collector)

    ui = sub.add_parser("ui", help="run the Dash UI alone")
    _add_common(ui)

    cloudwatch = sub.add_parser(
        "cloudwatch", help="run the CloudWatch-compatible API alone (boto3, aws cloudwatch)"
    )
    _add_common(cloudwatch)

    webhook = sub.add_parser(
        "webhook", help="run the Alertmanager webhook receiver alone (inbox, alarm history)"
    )
    _add_common(webhook)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="borealis",
        description="An Aurora-style PostgreSQL mini-cluster with CloudWatch-style monitoring.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = sub.add_parser("up", help="create (first time) and start the whole stack")
    up.add_argument("--detach", action="store_true", help="return once every part is healthy")
    up.add_argument(
        "--targets",
        type=Path,
        metavar="FILE",
        help="no cluster: watch the PostgreSQL/RDS/Aurora instances listed in FILE",
    )
    up.add_argument(
        "--readers", type=_count(1, MAX_READERS), help="readers in a new cluster, 1..15 (default 2)"
    )
    up.add_argument("--no-workload", action="store_true", help="do not run the light workload")
    up.add_argument(
        "--timeout",
        type=_number(0, 86400, low_open=True),
        default=300,
        help="seconds --detach waits",
    )
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
    workload.add_argument(
        "--rate", type=_number(0, 100_000), help="transactions per second, 0 = unpaced"
    )
    workload.add_argument(
        "--duration",
        type=_number(0, 366 * 86400, low_open=True),
        help="seconds (default: until Ctrl-C)",
    )
    workload.add_argument("--clients", type=_count(1, 50), help="concurrent clients, 1..50")
    workload.add_argument("--quiet", action="store_true", help="print only the final summary")
    _add_common(workload)

    trail = sub.add_parser("trail", help="control-plane trail (CloudTrail-like), oldest first")
    trail.add_argument("--json", action="store_true", help="print CloudTrail-style records")
    trail.add_argument("--minutes", type=MINUTES, default=1440, help="how far back (default 1440)")
    _add_common(trail)

    events = sub.add_parser("events", help="RDS-style events, oldest first")
    events.add_argument("--json", action="store_true", help="print DescribeEvents-style JSON")
    events.add_argument("--minutes", type=MINUTES, default=60, help="how far back (default 60)")
    _add_common(events)

    _add_service_parsers(sub)
    alarms.add_parser(sub, _add_common, MINUTES)
    sub.add_parser(
        "hash-password",
        help="read a password (prompt, or stdin when piped) and print its bcrypt hash "
        "for auth.users",
    )
    subscriptions.add_parser(sub, _add_common)
    return parser


def cmd_hash_password() -> int:
    """The bcrypt hash of a password read without echo (or from stdin's first line)."""
    import getpass

    from core.httpapi.auth import hash_password

    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            raise BorealisError("the passwords differ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise BorealisError("an empty password is refused")
    print(hash_password(password))
    return 0


def settings_from_args(args: argparse.Namespace) -> Settings:
    if getattr(args, "settings_json", None):
        return settings_from_json_file(args.settings_json)
    overrides: dict[str, Any] = {"state_dir": args.state_dir}
    if getattr(args, "readers", None) is not None:
        overrides["readers"] = args.readers
    if getattr(args, "no_workload", False):
        overrides["workload"] = False
    if getattr(args, "targets", None) is not None:
        overrides["collector.targets_file"] = str(args.targets.absolute())
    return load_settings(config_file=args.config, overrides=overrides)


COMMANDS: dict[str, Command] = {
    "up": stack.cmd_up,
    "down": stack.cmd_down,
    "status": stack.cmd_status,
    "failover": drills.cmd_failover,
    "reboot": drills.cmd_reboot,
    "fault": drills.cmd_fault,
    "workload": drills.cmd_workload,
    "trail": records.cmd_trail,
    "events": records.cmd_events,
    "collector": standalone.cmd_collector,
    "ui": standalone.cmd_ui,
    "cloudwatch": standalone.cmd_cloudwatch,
    "webhook": standalone.cmd_webhook,
    "alarms": alarms.cmd_alarms,
    "subscriptions": subscriptions.cmd_subscriptions,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        if args.command == "hash-password":
            return cmd_hash_password()
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
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        print(f"borealis {args.command}: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1
    finally:
        logging.getLogger(__name__).debug(
            "%s took %.2f s", args.command, time.monotonic() - started
        )
