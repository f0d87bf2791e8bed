"""`borealis alarms list | describe | validate | apply | delete | history`.

Alarms are the default pack (alerts/alarms/*.yml, read-only) and the user's
(<state>/alarms/user.yml). apply and delete validate first (file:line: reason, nothing
applied), store, then reload the running Prometheus and Alertmanager if the stack is up;
each change is a control-plane trail record (userAgent borealis-cli).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from core.errors import BorealisError
from core.settings import Settings

USER_AGENT = "borealis-cli"


def add_parser(sub: Any, common: Any, minutes: Any) -> None:
    """The `alarms` command and its subcommands (`common` adds --state-dir and --config)."""
    alarms = sub.add_parser("alarms", help="CloudWatch-style alarms: list, apply, delete, history")
    actions = alarms.add_subparsers(dest="alarms_command", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="every alarm (pack and yours) with its state")
    listing.add_argument("--json", action="store_true", help="print DescribeAlarms-style JSON")
    describe = actions.add_parser("describe", help="one alarm's definition and state")
    describe.add_argument("name", metavar="NAME")
    validate = actions.add_parser("validate", help="check an alarm file; nothing is applied")
    validate.add_argument("file", metavar="FILE", type=Path)
    apply = actions.add_parser("apply", help="create or replace the alarms of a file")
    apply.add_argument("file", metavar="FILE", type=Path)
    delete = actions.add_parser("delete", help="delete alarms you created")
    delete.add_argument("names", metavar="NAME", nargs="+")
    history = actions.add_parser("history", help="configuration and state changes, oldest first")
    history.add_argument("name", metavar="NAME", nargs="?")
    history.add_argument("--minutes", type=minutes, default=1440, help="how far back (1440)")
    history.add_argument("--json", action="store_true", help="print AlarmHistoryItems")
    for parser in (listing, describe, validate, apply, delete, history):
        common(parser)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BorealisError(f"cannot read {path}: {exc.strerror}") from None


def _actor() -> Any:
    from alerts.store import Actor
    from core.trail import Caller

    return Actor(Caller.from_uid(os.getuid(), os.getpid()), USER_AGENT)


def _names(alarms: Any) -> str:
    return ", ".join(a.AlarmName for a in alarms) or "none"


def _backend(settings: Settings) -> Any:
    from borealis.alarm_reload import cloudwatch_backend

    # States come from the stack's Prometheus; when it is down they are simply unknown.
    logging.getLogger("alerts.cloudwatch_api.store_backend").setLevel(logging.ERROR)
    return cloudwatch_backend(settings)


def _stack_up(settings: Settings) -> bool:
    from borealis import prometheus
    from borealis.alarm_reload import running_pid

    paths = settings.state_paths()
    return running_pid(paths.pid_file("prometheus"), prometheus.config_path(paths)) is not None


def _described(settings: Settings) -> list[dict[str, Any]]:
    from alerts.store import AlarmStore

    store = AlarmStore(settings.state_paths().root)
    shapes: list[dict[str, Any]] = _backend(settings).describe()
    up = _stack_up(settings)
    for shape in shapes:
        shape["DefinedIn"] = store.origin(shape["AlarmName"])
        if not up:
            shape["StateValue"], shape["StateReason"] = "UNKNOWN", "the stack is not running"
    return shapes


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    shapes = _described(settings)
    if args.json:
        out = {
            "MetricAlarms": [s for s in shapes if s["AlarmType"] == "MetricAlarm"],
            "CompositeAlarms": [s for s in shapes if s["AlarmType"] == "CompositeAlarm"],
        }
        print(json.dumps(out, indent=2, sort_keys=True))
        return 0
    for shape in shapes:
        print(
            f"{shape['AlarmName']:<40} {shape['AlarmType']:<15} {shape['StateValue']:<18} "
            f"{shape['DefinedIn']}"
        )
    return 0


def cmd_describe(args: argparse.Namespace, settings: Settings) -> int:
    found = [s for s in _described(settings) if s["AlarmName"] == args.name]
    if not found:
        raise BorealisError(f"no such alarm: {args.name}")
    print(yaml.safe_dump(found[0], sort_keys=False, width=100), end="")
    return 0


def cmd_validate(args: argparse.Namespace, settings: Settings) -> int:
    from alerts.store import AlarmStore

    change = AlarmStore(settings.state_paths().root).check_text(_read(args.file), str(args.file))
    print(
        f"{args.file}: valid; would create {_names(change.created)}, "
        f"update {_names(b for b, _ in change.updated)}"
    )
    return 0


def _said(publisher: Any, store: Any) -> str:
    if publisher.reloaded:
        return f"reloaded {' and '.join(publisher.reloaded)}"
    return f"stored in {store.path}; the stack is not running (applied at the next `borealis up`)"


def cmd_apply(args: argparse.Namespace, settings: Settings) -> int:
    from borealis.alarm_reload import StackPublisher, stack_alarm_store

    text = _read(args.file)
    publisher = StackPublisher(settings)
    store = stack_alarm_store(settings, publisher)
    change = store.apply_text(text, str(args.file), _actor())
    print(
        f"{args.file}: created {_names(change.created)}; "
        f"updated {_names(b for b, _ in change.updated)}; {_said(publisher, store)}."
    )
    return 0


def cmd_delete(args: argparse.Namespace, settings: Settings) -> int:
    from borealis.alarm_reload import StackPublisher, stack_alarm_store

    publisher = StackPublisher(settings)
    store = stack_alarm_store(settings, publisher)
    change = store.delete(args.names, _actor())
    print(f"deleted {_names(change.deleted)}; {_said(publisher, store)}.")
    return 0


def cmd_history(args: argparse.Namespace, settings: Settings) -> int:
    since = (datetime.now(UTC) - timedelta(minutes=args.minutes)).timestamp()
    items = [
        item
        for item in _backend(settings).history()
        if item["Timestamp"] >= since and (args.name is None or item["AlarmName"] == args.name)
    ]
    if args.json:
        print(json.dumps({"AlarmHistoryItems": items}, indent=2))
        return 0
    for item in items:
        when = datetime.fromtimestamp(item["Timestamp"], UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        print(
            f"{when}  {item['AlarmName']:<36} {item['HistoryItemType']:<20} "
            f"{item['HistorySummary']}"
        )
    return 0


ACTIONS = {
    "list": cmd_list,
    "describe": cmd_describe,
    "validate": cmd_validate,
    "apply": cmd_apply,
    "delete": cmd_delete,
    "history": cmd_history,
}


def cmd_alarms(args: argparse.Namespace, settings: Settings) -> int:
    return ACTIONS[args.alarms_command](args, settings)
