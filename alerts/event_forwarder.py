"""The event forwarder: RDS event notifications delivered through Alertmanager.

A thread of the ``webhook`` service follows the event store (core.events: the cluster
manager's events and the collector detectors' alike) by event number, matches each new event
against the enabled subscriptions (alerts.subscriptions) and posts one alert per match to
Alertmanager's ``/api/v2/alerts``: ``alertname="RDSEvent"`` with the subscription, event ID,
source type and ID, category and cluster as labels and the message as annotations. The
Alertmanager config routes each subscription to its receiver (alerts.alertmanager).

Nothing is sent twice across restarts and nothing is dropped: the number of the last event
forwarded is kept in ``<state>/alerts/event-forwarder.position`` and advances only once
Alertmanager accepted the batch. A first start begins at the newest event (a subscription,
as on RDS, is for what happens from now on). While Alertmanager is down the same batch is
retried with a growing pause (1 s doubling to 30 s); each failure is counted (`failures`,
shown by the webhook's ``GET /api/event-forwarder``) and logged; so is an unreadable
position file or subscriptions file, which hold the forwarder (and never the webhook
service) until they are fixed.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from alerts.subscription_store import load_subscriptions
from alerts.subscriptions import EVENT_ALERTNAME, EventSubscription
from core.errors import ConfigError
from core.events import Event, EventStore, SourceType

log = logging.getLogger(__name__)

ALERT_LIFETIME = timedelta(minutes=5)  # events are instants: each alert resolves by itself
BATCH = 500
POLL_S = 0.5
MAX_BACKOFF_S = 30.0
POSITION_FILE = "event-forwarder.position"


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def event_alert(
    event: Event, subscription: EventSubscription, cluster: str, now: datetime
) -> dict[str, Any]:
    """The Alertmanager alert for one event matched by one subscription. startsAt is the
    event's time; endsAt a few minutes after the later of the event and now, so an event
    forwarded late still notifies once instead of arriving already resolved."""
    cluster_name = (
        event.source_identifier if event.source_type is SourceType.DB_CLUSTER else cluster
    )
    date = _iso(event.date)
    return {
        "labels": {
            "alertname": EVENT_ALERTNAME,
            "subscription": subscription.SubscriptionName,
            "event_id": event.event_id,
            "source_type": event.source_type.value,
            "source_id": event.source_identifier,
            "event_category": ",".join(event.categories),
            "cluster": cluster_name,
            # Two events alike but for their time are two alerts, not one re-sent.
            "event_date": date,
        },
        "annotations": {
            "summary": event.message,
            "description": (
                f"{event.event_id} ({', '.join(event.categories)}) from "
                f"{event.source_type.value} {event.source_identifier}: {event.message}"
            ),
            "event_subscription_arn": subscription.arn,
        },
        "startsAt": date,
        "endsAt": _iso(max(event.date, now) + ALERT_LIFETIME),
    }


@dataclass
class ForwarderStats:
    last_forwarded: int = 0
    alerts_sent: int = 0
    failures: int = 0
    last_error: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "LastForwardedEvent": self.last_forwarded,
            "AlertsSent": self.alerts_sent,
            "Failures": self.failures,
            "LastError": self.last_error,
        }


class EventForwarder:
    """Follow `events`, post matches to the Alertmanager at `alertmanager_url`."""

    def __init__(
        self,
        events: EventStore,
        subscriptions_path: Path,
        position_path: Path,
        alertmanager_url: str,
        cluster: str,
        *,
        poll_s: float = POLL_S,
        max_backoff_s: float = MAX_BACKOFF_S,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.events = events
        self.headers = dict(headers or {})  # Authorization when the stack's auth is on
        self.subscriptions_path = subscriptions_path
        self.position_path = position_path
        self.alertmanager_url = alertmanager_url.rstrip("/")
        self.cluster = cluster
        self.poll_s = poll_s
        self.max_backoff_s = max_backoff_s
        self.stats = ForwarderStats()
        self._position: int | None = None  # read on the first round (a bad file is retried)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def _read_position(self) -> int:
        try:
            return int(self.position_path.read_text().strip())
        except FileNotFoundError:
            position = self.events.last_seq()  # first start: from now on
            self._write_position(position)
            return position
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"{self.position_path} must hold the number of the last event forwarded "
                f"({exc}); fix it, or remove it to forward from the newest event on"
            ) from None

    def _write_position(self, position: int) -> None:
        self.position_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.position_path.with_name(self.position_path.name + ".tmp")
        tmp.write_text(f"{position}\n")
        os.replace(tmp, self.position_path)

    def _post(self, alerts: list[dict[str, Any]]) -> None:
        request = urllib.request.Request(  # noqa: S310 - the stack's own Alertmanager
            f"{self.alertmanager_url}/api/v2/alerts",
            data=json.dumps(alerts).encode(),
            headers={"Content-Type": "application/json", **self.headers},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            response.read()

    def step(self) -> int:
        """Forward what is new; returns how many events were handled (0: nothing new).
        Raises OSError/ConfigError when it could not, leaving the position where it was."""
        if self._position is None:
            self._position = self.stats.last_forwarded = self._read_position()
        batch = self.events.after(self._position, BATCH)
        if not batch:
            return 0
        subscriptions = load_subscriptions(self.subscriptions_path)
        now = datetime.now(UTC)
        alerts = [
            event_alert(event, subscription, self.cluster, now)
            for _, event in batch
            for subscription in subscriptions
            if subscription.matches(event)
        ]
        if alerts:
            self._post(alerts)
        self._write_position(batch[-1][0])
        self._position = self.stats.last_forwarded = batch[-1][0]
        self.stats.alerts_sent += len(alerts)
        if alerts:
            log.info(
                "forwarded %d event alert(s) up to event %d",
                len(alerts),
                self.stats.last_forwarded,
            )
        return len(batch)

    def run(self) -> None:
        backoff = 1.0
        while not self._stop.is_set():
            try:
                handled = self.step()
            except (OSError, ConfigError) as exc:  # urllib's errors are OSErrors
                self.stats.failures += 1
                self.stats.last_error = str(exc)
                log.warning(
                    "event forwarding failed (%d so far), retrying in %.0f s: %s",
                    self.stats.failures,
                    backoff,
                    exc,
                )
                self._stop.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff_s)
                continue
            except Exception:  # one bad event must not end delivery for good
                self.stats.failures += 1
                log.exception("event forwarding failed; retrying in %.0f s", backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff_s)
                continue
            backoff = 1.0
            if handled < BATCH:
                self._stop.wait(self.poll_s)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="event-forwarder", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
