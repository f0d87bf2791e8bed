"""`trail` and `events`: the control-plane trail and the RDS events, oldest first."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta

from borealis.commands.drills import _require_cluster
from core.errors import BorealisError
from core.settings import Settings


def cmd_trail(args: argparse.Namespace, settings: Settings) -> int:
    _require_cluster(settings)
    from core.trail import TrailStore

    paths = settings.state_paths()
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

    paths = settings.state_paths()
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
