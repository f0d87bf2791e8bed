"""The soak's verdicts beyond the ledger: events, alerts, leftovers after `borealis down`."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

from bench.soak.episodes import Episode, ExpectedAlert
from bench.soak.observe import AlertWatcher, SeenAlert
from bench.soak.stack import SoakStack, leftover_processes, listening
from core.errors import BorealisError
from core.events import EventStore
from core.waiting import wait_until

EVENT_GRACE_S = 30.0  # an event may be written a little after the episode healed


def episode_end(episode: Episode) -> float:
    return episode.healed or episode.undone or episode.started


def check_events(episodes: list[Episode], events_db: Path) -> list[str]:
    """Each episode's expected events, found in the store within its window; fills each
    episode's `events_missing` and returns every miss as one line."""
    stored = EventStore(events_db).list()
    missing = []
    for n, episode in enumerate(episodes, 1):
        low, high = episode.started - 1, episode_end(episode) + EVENT_GRACE_S
        for expected in episode.events:
            found = any(
                e.event_id == expected.event_id
                and e.source_identifier == expected.source
                and expected.mentions in e.message
                and low <= e.date.timestamp() <= high
                for e in stored
            )
            if not found:
                episode.events_missing.append(str(expected))
                missing.append(f"episode {n} {episode.kind} {episode.target}: no {expected}")
    return missing


def _matches(alert: SeenAlert, expected: ExpectedAlert, episode: Episode, grace: float) -> bool:
    return (
        alert.name == expected.alarm
        and all(alert.labels.get(k) == v for k, v in expected.labels)
        # Held by Alertmanager (firing, or suppressed by an inhibiting alarm) some time
        # between the fault and `grace` after the cluster healed.
        and alert.last_seen >= episode.started + 1
        and alert.first_seen <= episode_end(episode) + grace
    )


def check_alerts(episodes: list[Episode], watcher: AlertWatcher, grace: float) -> list[str]:
    """Waits (up to `grace` after the last episode) for every expected alert, then fills each
    episode's `alerts_missing` and returns every miss as one line."""

    def unmet() -> list[tuple[int, Episode, ExpectedAlert]]:
        seen = watcher.snapshot()
        return [
            (n, episode, expected)
            for n, episode in enumerate(episodes, 1)
            for expected in episode.alerts
            if not any(_matches(a, expected, episode, grace) for a in seen)
        ]

    last = max((episode_end(e) for e in episodes), default=time.time())
    with contextlib.suppress(BorealisError):
        wait_until(lambda: not unmet(), timeout=max(0.0, last + grace - time.time()), what="alerts")
    missing = []
    for n, episode, expected in unmet():
        episode.alerts_missing.append(str(expected))
        missing.append(f"episode {n} {episode.kind} {episode.target}: no {expected}")
    return missing


def leftovers(stack: SoakStack, instances: int) -> tuple[list[str], list[int]]:
    """Processes and ports of the stack still there after `down` (given 20 s to go)."""

    def left() -> tuple[list[str], list[int]]:
        processes = leftover_processes(stack.state, stack.pg_root)
        ports = [p for p in stack.all_ports(instances) if listening(p)]
        return processes, ports

    with contextlib.suppress(BorealisError):
        wait_until(lambda: left() == ([], []), timeout=20, interval=0.5, what="a clean stop")
    return left()
