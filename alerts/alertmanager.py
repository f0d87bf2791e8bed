"""Alertmanager's configuration and command line, generated from the alarms.

Every notification goes to the Borealis webhook (receiver ``borealis``: the UI's inbox and
the alarm history), then to the receivers the alarm's actions name. An alert carries them in
``borealis_receivers`` (``,oncall/ok,audit,``); each receiver has two variants, ``<name>``
(firing only) and ``<name>/ok`` (also resolved, when the receiver is one of the alarm's
OKActions). A receiver not configured is a webhook to the same URL (the payload's
``receiver`` names it); configure email, Slack or anything Alertmanager supports by passing
its receiver body (README, "Alarms").

Grouping: by alarm and cluster. Inhibition: a cluster's writer failover mutes its
per-instance alarms and the writer-down alarm; a lost storage quorum mutes the degraded one;
a down instance mutes its other alarms; a down collector mutes everything else. No
inhibition mutes an RDS event notification (``alertname="RDSEvent"``, from an event
subscription: alerts.event_forwarder); each subscription has its own route to its receiver.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from alerts.cloudwatch import CLUSTER_DIMENSION, INSTANCE_DIMENSION
from alerts.loader import AlarmSet
from alerts.rules import OK_SUFFIX, RECEIVERS_LABEL
from alerts.subscriptions import EVENT_ALERTNAME, EventSubscription

DEFAULT_RECEIVER = "borealis"
WRITER_FAILOVER = "BorealisWriterFailover"
WRITER_DOWN = "AuroraWriterDown"
QUORUM_LOST = "BorealisStorageQuorumLost"
QUORUM_DEGRADED = "BorealisStorageQuorumDegraded"
INSTANCE_DOWN = "BorealisInstanceDown"
COLLECTOR_DOWN = "BorealisCollectorDown"
GROUP_BY = ["alertname", CLUSTER_DIMENSION]
# Firing to delivered within about a second; a new alert of a group waits 10 s at most.
EVENT_GROUP_BY = ["subscription", "event_id"]
TIMING = {"group_wait": "1s", "group_interval": "10s", "repeat_interval": "4h"}

INHIBIT_RULES: list[dict[str, Any]] = [
    {
        "source_matchers": [f"alertname={WRITER_FAILOVER}"],
        "target_matchers": [f'{INSTANCE_DIMENSION}=~".+"'],
        "equal": [CLUSTER_DIMENSION],
    },
    {
        "source_matchers": [f"alertname={WRITER_FAILOVER}"],
        "target_matchers": [f"alertname={WRITER_DOWN}"],
        "equal": [CLUSTER_DIMENSION],
    },
    {
        "source_matchers": [f"alertname={QUORUM_LOST}"],
        "target_matchers": [f"alertname={QUORUM_DEGRADED}"],
        "equal": [CLUSTER_DIMENSION],
    },
    {
        "source_matchers": [f"alertname={INSTANCE_DOWN}"],
        "target_matchers": [f"alertname!={INSTANCE_DOWN}"],
        "equal": [INSTANCE_DIMENSION, CLUSTER_DIMENSION],
    },
    {
        "source_matchers": [f"alertname={COLLECTOR_DOWN}"],
        "target_matchers": [f"alertname!={COLLECTOR_DOWN}"],
    },
]


def receiver_names(alarms: AlarmSet) -> list[str]:
    """Every receiver an action of the set names, in a stable order."""
    names: set[str] = set()
    for alarm in (*alarms.metric_alarms, *alarms.composites):
        for state in ("ALARM", "OK", "INSUFFICIENT_DATA"):
            names.update(alarm.receivers(state))
    return sorted(names)


def _with_resolved(body: Mapping[str, Any], send_resolved: bool) -> dict[str, Any]:
    """A receiver body with `send_resolved` set on each of its integrations."""
    result = copy.deepcopy(dict(body))
    for key, integrations in result.items():
        if key.endswith("_configs") and isinstance(integrations, list):
            for integration in integrations:
                integration["send_resolved"] = send_resolved
    return result


def subscription_routes(subscriptions: Sequence[EventSubscription]) -> list[dict[str, Any]]:
    """One route per subscription, enabled or not (a disabled one sends nothing): its event
    alerts to its receiver, grouped by subscription and event; `continue`, so the Borealis
    webhook (the first route) has them too."""
    return [
        {
            "receiver": subscription.receiver,
            "matchers": [
                f"alertname={EVENT_ALERTNAME}",
                f'subscription="{subscription.SubscriptionName}"',
            ],
            "group_by": EVENT_GROUP_BY,
            "continue": True,
        }
        for subscription in subscriptions
    ]


def _not_events(rule: Mapping[str, Any]) -> dict[str, Any]:
    """An inhibition rule that leaves event notifications alone: an alarm explains other
    alarms, never that an event happened."""
    return {**rule, "target_matchers": [*rule["target_matchers"], f"alertname!={EVENT_ALERTNAME}"]}


def config(
    webhook_url: str,
    alarms: AlarmSet,
    receivers: Mapping[str, Mapping[str, Any]] | None = None,
    subscriptions: Sequence[EventSubscription] = (),
) -> dict[str, Any]:
    """alertmanager.yml as a dict. `receivers` maps a receiver name to its Alertmanager body
    (``{"email_configs": [...]}``, ``{"slack_configs": [...]}``); names the alarms or the
    event `subscriptions` use but `receivers` lacks become webhooks to `webhook_url`."""
    configured = dict(receivers or {})
    webhook = {"webhook_configs": [{"url": webhook_url, "max_alerts": 0}]}
    all_receivers: list[dict[str, Any]] = [
        {"name": DEFAULT_RECEIVER, **_with_resolved(webhook, send_resolved=True)}
    ]
    routes: list[dict[str, Any]] = [{"receiver": DEFAULT_RECEIVER, "continue": True}]
    event_receivers = {subscription.receiver for subscription in subscriptions}
    for name in sorted(set(receiver_names(alarms)) | set(configured) | event_receivers):
        if name == DEFAULT_RECEIVER:
            continue
        body = configured.get(name, webhook)
        for variant, resolved in ((name, False), (f"{name}{OK_SUFFIX}", True)):
            all_receivers.append({"name": variant, **_with_resolved(body, resolved)})
            routes.append(
                {
                    "receiver": variant,
                    "matchers": [f'{RECEIVERS_LABEL}=~".*,{variant},.*"'],
                    "continue": True,
                }
            )
    routes.extend(subscription_routes(subscriptions))
    return {
        "route": {"receiver": DEFAULT_RECEIVER, "group_by": GROUP_BY, **TIMING, "routes": routes},
        "receivers": all_receivers,
        "inhibit_rules": [_not_events(rule) for rule in INHIBIT_RULES],
    }


def argv(binary: str, config_file: Path, storage: Path, host: str, port: int) -> list[str]:
    """The command line: HTTP on `host` only, and no cluster listener (Alertmanager would
    otherwise listen for peers on 0.0.0.0:9094)."""
    return [
        binary,
        f"--config.file={config_file}",
        f"--storage.path={storage}",
        f"--web.listen-address={host}:{port}",
        "--cluster.listen-address=",
    ]
