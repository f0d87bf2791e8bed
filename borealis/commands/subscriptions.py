"""`subscriptions`: RDS event subscriptions (create, list, describe, modify, delete).

Each change is written to ``<state>/alarms/subscriptions.yml``, goes into the control-plane
trail as RDS's call (CreateEventSubscription, ModifyEventSubscription,
DeleteEventSubscription; a refused one with its error code) and, when the stack is up,
regenerates the Alertmanager config and reloads Alertmanager by SIGHUP. The event forwarder
reads the file on every round, so it needs no signal.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from alerts.store import AlarmStore
from alerts.subscription_store import SubscriptionStore, subscriptions_file
from alerts.subscriptions import EventSubscription, SubscriptionError, parse_subscription
from borealis import alertmanager
from borealis.alarm_reload import StackPublisher
from core.settings import Settings
from core.trail import Caller, TrailRecord, TrailStore


def add_parser(sub: Any, add_common: Any) -> None:
    """The `subscriptions` command and its actions, on the CLI's subparsers `sub`."""
    parser = sub.add_parser(
        "subscriptions", help="RDS event subscriptions (delivered by Alertmanager)"
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    create = actions.add_parser(
        "create", help="subscribe a receiver to events (CreateEventSubscription)"
    )
    create.add_argument("name", metavar="NAME")
    create.add_argument(
        "--receiver", required=True, help="a receiver name or an SNS topic ARN ending in one"
    )
    _add_filters(create)
    create.add_argument("--disabled", action="store_true", help="create it disabled")
    add_common(create)

    listing = actions.add_parser("list", help="every subscription (DescribeEventSubscriptions)")
    listing.add_argument("--json", action="store_true", help="print RDS's JSON shape")
    add_common(listing)

    describe = actions.add_parser("describe", help="one subscription as JSON")
    describe.add_argument("name", metavar="NAME")
    add_common(describe)

    modify = actions.add_parser("modify", help="change a subscription (ModifyEventSubscription)")
    modify.add_argument("name", metavar="NAME")
    modify.add_argument("--receiver", help="a receiver name or an SNS topic ARN ending in one")
    _add_filters(modify)
    state = modify.add_mutually_exclusive_group()
    state.add_argument("--enabled", dest="enabled", action="store_true", default=None)
    state.add_argument("--disabled", dest="enabled", action="store_false")
    add_common(modify)

    delete = actions.add_parser("delete", help="remove a subscription (DeleteEventSubscription)")
    delete.add_argument("name", metavar="NAME")
    add_common(delete)


def _add_filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source-type", help="db-instance, db-cluster, ... (default: all)")
    parser.add_argument(
        "--source-id", action="append", help="a source to follow (repeat; default: all)"
    )
    parser.add_argument(
        "--category", action="append", help="an event category (repeat; default: all)"
    )


def _fields(args: argparse.Namespace) -> dict[str, Any]:
    """The request fields the arguments set, with RDS's names."""
    fields: dict[str, Any] = {}
    if args.receiver is not None:
        fields["SnsTopicArn"] = args.receiver
    if args.source_type is not None:
        fields["SourceType"] = args.source_type
    if args.source_id is not None:
        fields["SourceIds"] = args.source_id
    if args.category is not None:
        fields["EventCategories"] = args.category
    return fields


def _print_table(subscriptions: list[EventSubscription]) -> None:
    for s in subscriptions:
        print(
            f"{s.SubscriptionName:<24} {'enabled' if s.Enabled else 'disabled':<9} "
            f"{s.receiver:<16} {s.SourceType or 'all':<14} "
            f"ids={','.join(s.SourceIds) or 'all'} "
            f"categories={','.join(s.EventCategories) or 'all'}"
        )


def cmd_subscriptions(args: argparse.Namespace, settings: Settings) -> int:
    paths = settings.state_paths()
    store = SubscriptionStore(subscriptions_file(paths.root))
    if args.action == "list":
        subscriptions = store.list()
        if args.json:
            listed = [s.to_rds() for s in subscriptions]
            print(json.dumps({"EventSubscriptionsList": listed}, indent=2))
        else:
            _print_table(subscriptions)
        return 0
    if args.action == "describe":
        print(json.dumps(store.get(args.name).to_rds(), indent=2))
        return 0

    call, params = _request(args)
    trail = TrailStore(paths.trail_db, settings.retention.trail_days)
    caller = Caller.from_uid(os.getuid(), os.getpid())
    try:
        if args.action == "create":
            result = store.create(parse_subscription(params))
        elif args.action == "modify":
            changes = {k: v for k, v in params.items() if k != "SubscriptionName"}
            result = store.modify(args.name, changes)
        else:
            result = store.delete(args.name)
    except SubscriptionError as exc:
        trail.add(TrailRecord(call, caller, params, error_code=exc.code, error_message=str(exc)))
        raise
    response = {"EventSubscription": result.to_rds()}
    trail.add(TrailRecord(call, caller, params, response))
    reloaded = _reload_alertmanager(settings)
    print(json.dumps(response, indent=2))
    if reloaded:
        print("borealis subscriptions: Alertmanager reloaded", file=sys.stderr)
    return 0


def _reload_alertmanager(settings: Settings) -> bool:
    """Rewrite alertmanager.yml and reload the stack's running Alertmanager (confirmed);
    False when no stack has written a config yet or its Alertmanager does not run."""
    paths = settings.state_paths()
    if not alertmanager.config_path(paths).exists():
        return False
    publisher = StackPublisher(settings, paths)
    publisher.publish_alertmanager(AlarmStore(paths.root).alarms())
    return "alertmanager" in publisher.reloaded


def _request(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    """RDS's call name and request parameters for a change."""
    params: dict[str, Any] = {"SubscriptionName": args.name}
    if args.action == "create":
        params.update(_fields(args))
        params["Enabled"] = not args.disabled
        return "CreateEventSubscription", params
    if args.action == "modify":
        params.update(_fields(args))
        if args.enabled is not None:
            params["Enabled"] = args.enabled
        return "ModifyEventSubscription", params
    return "DeleteEventSubscription", params
