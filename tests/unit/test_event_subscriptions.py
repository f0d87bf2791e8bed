"""RDS event subscriptions: validation as RDS does it, matching, the subscriptions file, the
alerts they make and their Alertmanager routes (checked with amtool)."""

from __future__ import annotations

import socket
import subprocess
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from alerts import alertmanager
from alerts.event_forwarder import EventForwarder, event_alert
from alerts.inbox import AlertInbox
from alerts.loader import load_pack
from alerts.subscription_store import SubscriptionStore, load_subscriptions
from alerts.subscriptions import (
    EventSubscription,
    SubscriptionError,
    categories_for,
    parse_subscription,
)
from alerts.webhook_model import WebhookPayload
from core.errors import ConfigError
from core.events import EventStore, make_event
from core.waiting import wait_until
from tests.binaries import require_binary

WEBHOOK = "http://127.0.0.1:25496/webhook"


def subscription(**fields: Any) -> EventSubscription:
    return parse_subscription({"SubscriptionName": "s1", "SnsTopicArn": "oncall", **fields})


def refusal(**fields: Any) -> SubscriptionError:
    with pytest.raises(SubscriptionError) as caught:
        subscription(**fields)
    return caught.value


def test_a_receiver_is_named_as_an_alarm_action_names_one() -> None:
    arn = subscription(SnsTopicArn="arn:aws:sns:eu-west-1:123456789012:pager")
    assert arn.receiver == "pager"
    assert subscription().receiver == "oncall"
    wrong = refusal(SnsTopicArn="arn:aws:sqs:eu-west-1:1:q")
    assert wrong.code == "SNSInvalidTopic"
    assert "SnsTopicArn" in str(wrong)


def test_categories_are_those_of_the_source_type() -> None:
    assert subscription(SourceType="db-cluster", EventCategories=["failover"]).EventCategories
    low_storage = refusal(SourceType="db-cluster", EventCategories=["low storage"])
    assert low_storage.code == "SubscriptionCategoryNotFound"
    assert "low storage" in str(low_storage) and "db-cluster" in str(low_storage)
    # No source type: any category of any type; Borealis' own event categories too.
    assert subscription(EventCategories=["low storage", "storage"]).SourceType is None
    assert "security" in categories_for("db-instance")
    assert "storage" in categories_for("db-cluster") and "storage" not in categories_for(
        "db-instance"
    )
    assert refusal(EventCategories=["nonsense"]).code == "SubscriptionCategoryNotFound"


def test_rds_rules_for_source_types_ids_and_names() -> None:
    assert "SourceType" in str(refusal(SourceType="db-table"))
    assert "SourceType" in str(refusal(SourceIds=["c1"]))  # ids need a type, as on RDS
    assert "SubscriptionName" in str(refusal(SubscriptionName="1-starts-with-a-digit"))
    assert "Unknown" in str(refusal(Color="blue")) or "Extra" in str(refusal(Color="blue"))
    for source_type in ("db-parameter-group", "db-security-group", "db-snapshot"):
        assert subscription(SourceType=source_type).SourceType == source_type


def test_the_rds_shape() -> None:
    shape = subscription(SourceType="db-instance", SourceIds=["a"], Enabled=False).to_rds()
    assert shape["CustSubscriptionId"] == "s1"
    assert shape["SnsTopicArn"] == "oncall"
    assert shape["SourceIdsList"] == ["a"]
    assert shape["EventCategoriesList"] == []
    assert shape["Enabled"] is False
    assert shape["Status"] == "active"
    assert shape["EventSubscriptionArn"] == "arn:aws:rds:local-1:000000000000:es:s1"


RESTART = make_event("RDS-EVENT-0006", "c1-instance-2")
FAILOVER = make_event("RDS-EVENT-0071", "c1", name="c1-instance-2")
QUORUM = make_event("BOREALIS-EVENT-0003", "c1", available="3")


@pytest.mark.parametrize(
    ("fields", "matched"),
    [
        ({}, {"RDS-EVENT-0006", "RDS-EVENT-0071", "BOREALIS-EVENT-0003"}),
        ({"SourceType": "db-cluster"}, {"RDS-EVENT-0071", "BOREALIS-EVENT-0003"}),
        ({"SourceType": "db-cluster", "EventCategories": ["failover"]}, {"RDS-EVENT-0071"}),
        (
            {"EventCategories": ["availability", "storage"]},
            {"RDS-EVENT-0006", "BOREALIS-EVENT-0003"},
        ),
        ({"SourceType": "db-instance", "SourceIds": ["c1-instance-2"]}, {"RDS-EVENT-0006"}),
        ({"SourceType": "db-instance", "SourceIds": ["c1-instance-1"]}, set()),
        ({"Enabled": False}, set()),
    ],
)
def test_matching_follows_rds(fields: dict[str, Any], matched: set[str]) -> None:
    chosen = subscription(**fields)
    found = {e.event_id for e in (RESTART, FAILOVER, QUORUM) if chosen.matches(e)}
    assert found == matched


def test_the_store_creates_modifies_and_deletes(tmp_path: Path) -> None:
    store = SubscriptionStore(tmp_path / "alarms" / "subscriptions.yml")
    store.create(subscription(SourceType="db-cluster"))
    with pytest.raises(SubscriptionError, match="exists"):
        store.create(subscription())
    changed = store.modify("s1", {"Enabled": False, "EventCategories": ["failover"]})
    assert changed.Enabled is False
    assert store.get("s1") == changed
    # The whole result is validated: a category of the old type, wrong for the new one.
    with pytest.raises(SubscriptionError, match="not categories of source type db-parameter"):
        store.modify("s1", {"SourceType": "db-parameter-group"})
    assert store.get("s1").SourceType == "db-cluster"
    assert store.delete("s1").SubscriptionName == "s1"
    assert store.list() == []
    with pytest.raises(SubscriptionError, match="no event subscription named 's1'"):
        store.delete("s1")


def test_concurrent_creates_lose_nothing(tmp_path: Path) -> None:
    store = SubscriptionStore(tmp_path / "subscriptions.yml")
    threads = [
        threading.Thread(target=store.create, args=(subscription(SubscriptionName=f"s{i}"),))
        for i in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(s.SubscriptionName for s in store.list()) == sorted(f"s{i}" for i in range(8))


def test_a_bad_file_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "subscriptions.yml"
    path.write_text(
        "subscriptions:\n"
        "  - {SubscriptionName: ok, SnsTopicArn: oncall}\n"
        "  - SubscriptionName: bad\n"
        "    SnsTopicArn: oncall\n"
        "    SourceType: db-cluster\n"
        "    EventCategories: [low storage]\n"
    )
    with pytest.raises(ConfigError, match=r"subscriptions.yml:3: .*low storage"):
        load_subscriptions(path)
    path.write_text("[1, 2]\n")
    with pytest.raises(ConfigError, match=r"subscriptions.yml:1: expected `subscriptions:`"):
        load_subscriptions(path)
    assert load_subscriptions(tmp_path / "missing.yml") == []


def test_an_event_becomes_one_alert_per_subscription() -> None:
    now = datetime.now(UTC)
    old = make_event("RDS-EVENT-0006", "c1-instance-2", when=now - timedelta(hours=1))
    alert = event_alert(old, subscription(SubscriptionName="restarts"), "c1", now)
    assert alert["labels"] == {
        "alertname": "RDSEvent",
        "subscription": "restarts",
        "event_id": "RDS-EVENT-0006",
        "source_type": "db-instance",
        "source_id": "c1-instance-2",
        "event_category": "availability",
        "cluster": "c1",
        "event_date": alert["startsAt"],
    }
    assert alert["annotations"]["summary"] == "DB instance restarted."
    starts = datetime.fromisoformat(alert["startsAt"])
    ends = datetime.fromisoformat(alert["endsAt"])
    assert abs(starts - old.date) < timedelta(milliseconds=1)
    # Forwarded late, it still notifies (ends after now) and then resolves by itself.
    assert now < ends <= now + timedelta(minutes=5)
    cluster_event = event_alert(FAILOVER, subscription(), "stack", now)
    assert cluster_event["labels"]["cluster"] == "c1"


def amtool() -> str:
    return require_binary("amtool")


def routes(path: Path, *labels: str) -> list[str]:
    done = subprocess.run(
        [amtool(), "config", "routes", "test", f"--config.file={path}", *labels],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.split()[0].split(",")


def test_each_subscription_routes_to_its_receiver_and_to_the_inbox(tmp_path: Path) -> None:
    subscriptions = [
        subscription(
            SubscriptionName="failovers", SnsTopicArn="arn:aws:sns:eu-west-1:123456789012:pager"
        ),
        subscription(SubscriptionName="restarts", SnsTopicArn="team-chat"),
    ]
    slack = {"slack_configs": [{"api_url": "https://hooks.slack.invalid/x", "channel": "#db"}]}
    config = alertmanager.config(WEBHOOK, load_pack(), {"team-chat": slack}, subscriptions)
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=True))
    checked = subprocess.run(
        [amtool(), "check-config", str(path)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert routes(path, "alertname=RDSEvent", "subscription=failovers") == ["borealis", "pager"]
    assert routes(path, "alertname=RDSEvent", "subscription=restarts") == ["borealis", "team-chat"]
    assert routes(path, "alertname=RDSEvent", "subscription=gone") == ["borealis"]
    receivers = {r["name"]: r for r in config["receivers"]}
    assert receivers["team-chat"]["slack_configs"][0]["send_resolved"] is False
    assert receivers["pager"]["webhook_configs"][0]["url"] == WEBHOOK
    event_routes = [r for r in config["route"]["routes"] if "group_by" in r]
    assert [r["group_by"] for r in event_routes] == [["subscription", "event_id"]] * 2
    for rule in config["inhibit_rules"]:
        assert "alertname!=RDSEvent" in rule["target_matchers"]


def test_a_down_alertmanager_is_retried_and_nothing_is_skipped(tmp_path: Path) -> None:
    events = EventStore(tmp_path / "events.db")
    events.add(make_event("RDS-EVENT-0006", "before-start"))
    subscriptions = tmp_path / "subscriptions.yml"
    SubscriptionStore(subscriptions).create(subscription())
    position = tmp_path / "position"
    with socket.socket() as probe:  # a port nothing listens on: every post is refused
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    url = f"http://127.0.0.1:{closed}"
    forwarder = EventForwarder(events, subscriptions, position, url, "c1")
    assert forwarder.step() == 0
    assert forwarder.stats.last_forwarded == 1  # a first start begins after what exists
    events.add(RESTART)
    with pytest.raises(OSError):
        forwarder.step()
    assert forwarder.stats.last_forwarded == 1
    assert position.read_text().strip() == "1"
    forwarder.max_backoff_s = 0.05
    forwarder.start()
    try:
        wait_until(lambda: forwarder.stats.failures >= 2, timeout=10, what="failures counted")
    finally:
        forwarder.stop()
    assert forwarder.stats.last_forwarded == 1
    assert "refused" in forwarder.stats.last_error.lower()


def test_a_bad_position_file_holds_the_forwarder_until_fixed(tmp_path: Path) -> None:
    events = EventStore(tmp_path / "events.db")
    events.add(RESTART)
    position = tmp_path / "position"
    position.write_text("not a number\n")
    forwarder = EventForwarder(
        events, tmp_path / "subscriptions.yml", position, "http://127.0.0.1:1", "c1"
    )
    with pytest.raises(ConfigError, match="must hold the number of the last event"):
        forwarder.step()
    position.write_text("0\n")  # fixed: forward everything after event 0 (no subscriptions)
    assert forwarder.step() == 1
    assert forwarder.stats.last_forwarded == 1
    assert position.read_text().strip() == "1"


def test_the_inbox_keeps_event_notifications_out_of_the_alarm_history(tmp_path: Path) -> None:
    inbox = AlertInbox(tmp_path)
    alert = event_alert(RESTART, subscription(), "c1", datetime.now(UTC))
    for status in ("firing", "resolved"):
        payload = WebhookPayload.model_validate(
            {
                "version": "4",
                "groupKey": "g",
                "status": status,
                "receiver": "oncall",
                "alerts": [{"status": status, **alert}],
            }
        )
        assert inbox.record(payload) == 0
    assert len(inbox.list_notifications()) == 2
    assert inbox.list_history() == []
