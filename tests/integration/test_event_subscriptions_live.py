"""RDS event subscriptions end to end: events written into the event store reach a real
Alertmanager through the webhook service's forwarder and come back to the webhook inbox,
routed to each subscription's receiver; only matching events, nothing from a disabled
subscription, nothing twice after a restart; a subscription created by the CLI reloads the
running Alertmanager."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from alerts import alertmanager as am_config
from alerts.subscription_store import SubscriptionStore, subscriptions_file
from alerts.subscriptions import parse_subscription
from borealis import alertmanager
from cluster import pgctl
from core.events import Event, EventStore, make_event
from core.settings import Settings
from core.settings_sections import Ports
from core.trail import TrailStore
from tests.binaries import require_binary
from tests.conftest import INTEGRATION_PORTS, borealis, child_env, wait_for

PORT_BASE = INTEGRATION_PORTS + 860  # Alertmanager at +93, the webhook at +95


@dataclass
class Stack:
    settings: Settings
    webhook: subprocess.Popen[bytes] | None = None

    @property
    def paths(self) -> Any:
        return self.settings.state_paths()

    @property
    def env(self) -> dict[str, str]:
        return {"BOREALIS_PORTS__BASE": str(PORT_BASE)}

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.settings.ports.port(service)}"

    def start_webhook(self) -> None:
        with (self.paths.root / "webhook.log").open("ab") as log:
            self.webhook = subprocess.Popen(
                [sys.executable, "-m", "borealis", "webhook", "--state-dir", str(self.paths.root)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=child_env(self.env),
            )
        wait_for(
            lambda: requests.get(self.url("webhook") + "/healthz", timeout=1).ok,
            30,
            what="the webhook service",
        )

    def stop_webhook(self) -> None:
        if self.webhook is not None:
            self.webhook.send_signal(signal.SIGTERM)
            self.webhook.wait(timeout=15)
            self.webhook = None

    def forwarder(self) -> dict[str, Any]:
        answer = requests.get(self.url("webhook") + "/api/event-forwarder", timeout=5)
        result: dict[str, Any] = answer.json()
        return result

    def add(self, event: Event) -> None:
        EventStore(self.paths.events_db).add(event)

    def notified(self, receiver: str) -> list[dict[str, str]]:
        """The labels of every RDS event alert the inbox got through `receiver`."""
        answer = requests.get(self.url("webhook") + "/api/notifications", timeout=5)
        return [
            alert["labels"]
            for note in answer.json()["Notifications"]
            if note["receiver"] == receiver
            for alert in note["alerts"]
            if alert["labels"]["alertname"] == "RDSEvent"
        ]

    def event_alerts(self) -> list[dict[str, str]]:
        """What Alertmanager holds: every RDS event alert the forwarder posted."""
        alerts = requests.get(self.url("alertmanager") + "/api/v2/alerts", timeout=5).json()
        return [a["labels"] for a in alerts if a["labels"]["alertname"] == "RDSEvent"]


SUBSCRIPTIONS = [
    {
        "SubscriptionName": "failovers",
        "SnsTopicArn": "arn:aws:sns:eu-west-1:123456789012:pager",
        "SourceType": "db-cluster",
        "EventCategories": ["failover"],
    },
    {
        "SubscriptionName": "second-reader",
        "SnsTopicArn": "team",
        "SourceType": "db-instance",
        "SourceIds": ["live-instance-2"],
        "EventCategories": ["availability"],
    },
    {"SubscriptionName": "everything-off", "SnsTopicArn": "muted", "Enabled": False},
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    binary = require_binary("prometheus-alertmanager")
    root = tmp_path_factory.mktemp("subscriptions")
    settings = Settings(state_dir=root, ports=Ports(base=PORT_BASE))
    stack = Stack(settings)
    store = SubscriptionStore(subscriptions_file(root))
    for fields in SUBSCRIPTIONS:
        store.create(parse_subscription(fields))
    config = alertmanager.prepare(settings, stack.paths)
    argv = am_config.argv(
        binary,
        config,
        alertmanager.directory(stack.paths) / "data",
        "127.0.0.1",
        settings.ports.port("alertmanager"),
    )
    with (root / "alertmanager.log").open("wb") as log:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    stack.paths.pid_file("alertmanager").parent.mkdir(parents=True, exist_ok=True)
    stack.paths.pid_file("alertmanager").write_text(f"{process.pid}\n")
    try:
        wait_for(
            lambda: requests.get(stack.url("alertmanager") + "/-/ready", timeout=1).ok,
            30,
            what="Alertmanager ready",
        )
        stack.start_webhook()
        yield stack
    finally:
        stack.stop_webhook()
        pgctl.stop_process(process.pid, sig=signal.SIGTERM, timeout=10)
        process.wait(timeout=10)


def test_matching_events_reach_their_receivers_and_only_those(stack: Stack) -> None:
    stack.add(make_event("RDS-EVENT-0071", "live", name="live-instance-2"))
    stack.add(make_event("RDS-EVENT-0006", "live-instance-2"))
    stack.add(make_event("RDS-EVENT-0006", "live-instance-1"))  # another source
    stack.add(make_event("RDS-EVENT-0088", "live-instance-2"))  # another category
    stack.add(make_event("RDS-EVENT-0150", "live"))  # db-cluster, not failover

    last = EventStore(stack.paths.events_db).last_seq()
    wait_for(
        lambda: stack.forwarder()["LastForwardedEvent"] >= last,
        30,
        what="the forwarder past every event written",
    )

    def mine(receiver: str) -> list[dict[str, str]]:  # other tests use other sources
        return [a for a in stack.notified(receiver) if a["source_id"].startswith("live")]

    pager = wait_for(lambda: mine("pager"), 30, what="the failover at pager")
    team = wait_for(lambda: mine("team"), 30, what="the restart at team")
    assert [(a["event_id"], a["source_id"]) for a in pager] == [("RDS-EVENT-0071", "live")]
    failover = pager[0]
    assert failover["subscription"] == "failovers"
    assert failover["source_type"] == "db-cluster"
    assert failover["event_category"] == "failover"
    assert failover["cluster"] == "live"
    assert [(a["event_id"], a["source_id"]) for a in team] == [
        ("RDS-EVENT-0006", "live-instance-2")
    ]
    # The Borealis inbox has both as well; the disabled subscription sent nothing at all.
    wait_for(lambda: len(mine("borealis")) >= 2, 30, what="the inbox's copies")
    sent = {(a["subscription"], a["event_id"], a["source_id"]) for a in stack.event_alerts()}
    assert ("failovers", "RDS-EVENT-0071", "live") in sent
    assert ("second-reader", "RDS-EVENT-0006", "live-instance-2") in sent
    assert not {s for s in sent if s[0] == "everything-off" or s[2] == "live-instance-1"}
    assert not [s for s in sent if s[1] in ("RDS-EVENT-0088", "RDS-EVENT-0150")]
    assert mine("muted") == []


def test_a_restarted_forwarder_sends_nothing_twice(stack: Stack) -> None:
    stack.add(make_event("RDS-EVENT-0073", "restart", name="restart-instance-2"))
    wait_for(
        lambda: any(a["source_id"] == "restart" for a in stack.notified("pager")),
        30,
        what="the first failover delivered",
    )
    position = int((stack.paths.root / "alerts" / "event-forwarder.position").read_text())
    stack.stop_webhook()
    stack.add(make_event("RDS-EVENT-0072", "restart", name="restart-instance-3"))  # while down
    stack.start_webhook()
    state = wait_for(
        lambda: (s := stack.forwarder())["LastForwardedEvent"] > position and s,
        30,
        what="the forwarder past the event written while it was down",
    )
    # Only the event written while it was down went out: nothing before it, again.
    assert state["AlertsSent"] == 1
    assert state["Failures"] == 0
    ids = wait_for(
        lambda: (
            [a["event_id"] for a in stack.notified("pager") if a["source_id"] == "restart"]
            if len([a for a in stack.notified("pager") if a["source_id"] == "restart"]) >= 2
            else None
        ),
        30,
        what="the second failover delivered",
    )
    assert sorted(ids) == ["RDS-EVENT-0072", "RDS-EVENT-0073"]


def test_a_subscription_created_by_the_cli_reloads_alertmanager(stack: Stack) -> None:
    done = borealis(
        "subscriptions",
        "create",
        "cli-made",
        "--receiver",
        "late-receiver",
        "--source-type",
        "db-instance",
        "--source-id",
        "cli-instance-1",
        "--state-dir",
        str(stack.paths.root),
        env=stack.env,
    )
    assert done.returncode == 0, done.stderr
    assert "Alertmanager reloaded" in done.stderr
    wait_for(
        lambda: (
            "late-receiver"
            in requests.get(stack.url("alertmanager") + "/api/v2/status", timeout=5).json()[
                "config"
            ]["original"]
        ),
        30,
        what="Alertmanager's reloaded config",
    )
    stack.add(make_event("RDS-EVENT-0004", "cli-instance-1"))
    late = wait_for(lambda: stack.notified("late-receiver"), 30, what="the CLI's subscription")
    assert [(a["event_id"], a["subscription"]) for a in late] == [("RDS-EVENT-0004", "cli-made")]
    trail = TrailStore(stack.paths.trail_db).records(event_name="CreateEventSubscription")
    assert trail[-1]["requestParameters"]["SubscriptionName"] == "cli-made"
    assert trail[-1]["responseElements"]["EventSubscription"]["SourceIdsList"] == ["cli-instance-1"]


def test_alarm_inhibitions_do_not_mute_event_notifications(stack: Stack) -> None:
    # A down collector mutes every other alarm; an event still happened and is still told.
    down = {"labels": {"alertname": "BorealisCollectorDown", "alarm_state": "ALARM"}}
    requests.post(stack.url("alertmanager") + "/api/v2/alerts", json=[down], timeout=5)
    stack.add(make_event("RDS-EVENT-0070", "muted-cluster", name="muted-cluster-instance-1"))

    def delivered() -> list[dict[str, Any]]:
        alerts = requests.get(stack.url("alertmanager") + "/api/v2/alerts", timeout=5).json()
        return [a for a in alerts if a["labels"].get("source_id") == "muted-cluster"]

    alert = wait_for(delivered, 30, what="the event alert in Alertmanager")[0]
    assert alert["status"]["inhibitedBy"] == []
    pager = wait_for(
        lambda: [a for a in stack.notified("pager") if a["source_id"] == "muted-cluster"],
        30,
        what="the event delivered despite the collector alarm",
    )
    assert pager[0]["event_id"] == "RDS-EVENT-0070"
