"""Role change, restart and replica disconnect, seen from the instances themselves.

Each instance's poller hands every InstancePoll to `Detectors.observe`; consecutive polls are
compared, so a cluster that Borealis does not run gets the same events its manager would emit:

- role change: a reader became the writer -> RDS-EVENT-0071 "Completed failover to DB
  instance" (cluster event); the writer became a reader -> BOREALIS-EVENT-0151;
- restart: the postmaster start time changed, or the instance came back after being down with
  a start time later than the collector's own start -> RDS-EVENT-0006 "DB instance restarted.";
- reachability: down for `down_after_s` -> BOREALIS-EVENT-0152, back -> BOREALIS-EVENT-0153;
- replication: a reader's WAL receiver stops streaming -> RDS-EVENT-0057 "Replication
  streaming has been terminated."; a standby leaves the writer's pg_stat_replication ->
  RDS-EVENT-0045 "Replication has stopped." (source: the standby's application_name); either
  end seeing it stream again -> RDS-EVENT-0046. Both ends share one state per standby, so one
  disconnect is one event when the standby's application_name is its instance id. A writer
  that failed a poll or restarted forgets its standby list: its standbys' own ends report the
  outage, and its next list is the new baseline.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

from collector.sources.base import InstancePoll
from collector.sources.instance import InstanceSnapshot
from collector.sources.replication import ReplicationSnapshot
from core.events import Event, EventStore, make_event

log = logging.getLogger(__name__)

RESTART_TOLERANCE_S = 0.5  # start times are floats from extract(epoch ...)


@dataclass
class _Seen:
    role: str | None = None
    start_time: float | None = None
    streaming: bool | None = None  # a reader's WAL receiver
    downstream: Counter[str] | None = None  # a writer's streaming standbys by name
    down_since: float | None = None
    down_reported: bool = False
    failed_before_first_success: bool = False


def detectors_wanted(setting: bool | None, from_targets_file: bool) -> bool:
    """Unset: on for a targets file, off for the Borealis cluster, whose manager already emits
    failover and restart events (both would list each one twice)."""
    return from_targets_file if setting is None else setting


class Detectors:
    def __init__(
        self, store: EventStore, *, down_after_s: float, started_at: float | None = None
    ) -> None:
        self.store = store
        self.down_after_s = down_after_s
        self.started_at = time.time() if started_at is None else started_at
        self.emitted = 0
        self._lock = threading.Lock()
        self._seen: dict[str, _Seen] = {}
        self._replication_stopped: dict[tuple[str, str], bool] = {}

    def observe(self, poll: InstancePoll) -> None:
        """The poller's observer hook: runs on the instance's polling thread."""
        with self._lock:
            events = self.detect(poll)
        for event in events:
            self.store.add(event)
            self.emitted += 1

    def detect(self, poll: InstancePoll) -> list[Event]:
        """Events implied by this poll after the previous ones (callers hold the lock)."""
        target = poll.target
        seen = self._seen.setdefault(target.db_instance, _Seen())
        when = datetime.fromtimestamp(poll.wall_time, UTC)
        events: list[Event] = []
        instance = poll.results.get("instance") if poll.ok else None
        if not isinstance(instance, InstanceSnapshot):
            # The standbys listed before an outage are no baseline after it: they reconnect
            # (and say so themselves) while the writer's walsenders are still catching up.
            seen.downstream = None
            if seen.down_since is None:
                seen.down_since = poll.wall_time
                seen.failed_before_first_success = seen.start_time is None
            if not seen.down_reported and poll.wall_time - seen.down_since >= self.down_after_s:
                seen.down_reported = True
                error = next(iter(poll.errors.values()), "no answer")
                events.append(
                    make_event("BOREALIS-EVENT-0152", target.db_instance, when, error=error)
                )
            return events

        if seen.down_since is not None:
            if seen.down_reported:
                seconds = f"{poll.wall_time - seen.down_since:.0f}"
                events.append(
                    make_event("BOREALIS-EVENT-0153", target.db_instance, when, seconds=seconds)
                )
            seen.down_since, seen.down_reported = None, False

        if seen.start_time is not None:
            restarted = abs(instance.start_time - seen.start_time) > RESTART_TOLERANCE_S
        else:
            restarted = seen.failed_before_first_success and instance.start_time > self.started_at
        if restarted:
            events.append(make_event("RDS-EVENT-0006", target.db_instance, when))
            seen.downstream = None  # likewise for a restart between two polls
        seen.start_time = instance.start_time
        seen.failed_before_first_success = False

        role = "reader" if instance.in_recovery else "writer"
        if seen.role is not None and seen.role != role:
            if role == "writer":
                events.append(
                    make_event("RDS-EVENT-0071", target.cluster, when, name=target.db_instance)
                )
            else:
                events.append(make_event("BOREALIS-EVENT-0151", target.db_instance, when))
        replication = poll.results.get("replication")
        if isinstance(replication, ReplicationSnapshot):
            events += self._replication(poll, seen, role, replication, when)
        elif role != seen.role:
            seen.streaming, seen.downstream = None, None
        seen.role = role
        return events

    def _replication(
        self,
        poll: InstancePoll,
        seen: _Seen,
        role: str,
        snapshot: ReplicationSnapshot,
        when: datetime,
    ) -> list[Event]:
        cluster, me = poll.target.cluster, poll.target.db_instance
        events: list[Event] = []
        if role == "reader":
            receiver = snapshot.receiver
            streaming = receiver is not None and receiver.receiver_status == "streaming"
            if seen.streaming and not streaming:
                events += self._stopped(cluster, me, "RDS-EVENT-0057", when)
            elif streaming:
                events += self._resumed(cluster, me, when)
            seen.streaming, seen.downstream = streaming, None
            return events
        # A writer: a promoted reader's replication ended by design.
        self._replication_stopped.pop((cluster, me), None)
        current = Counter(d.name or "-" for d in snapshot.downstream if d.state == "streaming")
        before: Counter[str] = Counter()
        if seen.role == "writer" and seen.downstream is not None:
            before = seen.downstream
        for name, count in before.items():
            if current[name] < count:
                events += self._stopped(cluster, name, "RDS-EVENT-0045", when)
        for name, count in current.items():
            if count > before[name]:  # a standby (re)joined under this name
                events += self._resumed(cluster, name, when)
        seen.streaming, seen.downstream = None, current
        return events

    def _stopped(self, cluster: str, standby: str, event_id: str, when: datetime) -> list[Event]:
        if self._replication_stopped.get((cluster, standby)):
            return []  # the other end saw it first
        self._replication_stopped[(cluster, standby)] = True
        return [make_event(event_id, standby, when)]

    def _resumed(self, cluster: str, standby: str, when: datetime) -> list[Event]:
        if not self._replication_stopped.get((cluster, standby)):
            return []
        self._replication_stopped[(cluster, standby)] = False
        return [make_event("RDS-EVENT-0046", standby, when)]
