"""The soak's faults, one episode at a time: inject, hold, undo, wait until the cluster is
healthy again. Each episode says which events it must produce and which alarms must fire."""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.soak.observe import read_pid
from bench.soak.stack import SoakStack
from cluster.reachability import REPORT_AFTER_S
from core.errors import BorealisError
from core.waiting import wait_until

# How long a fault must last before its alarm must fire (the alarm's periods, the rule
# evaluation and Alertmanager's group_wait); shorter holds expect no alert.
INSTANCE_DOWN_NEEDS_S = 8.0  # BorealisInstanceDown: one 10 s period, Minimum < 1
QUORUM_DEGRADED_NEEDS_S = 40.0  # BorealisStorageQuorumDegraded: three 10 s periods
REPLICA_LAG_NEEDS_S = 200.0  # AuroraReplicaLagHigh: 2 of 3 one-minute periods


@dataclass(frozen=True)
class ExpectedEvent:
    event_id: str
    source: str
    mentions: str = ""  # a word the message must hold (cluster events name the segment)

    def __str__(self) -> str:
        return f"{self.event_id}({self.mentions or self.source})"


@dataclass(frozen=True)
class ExpectedAlert:
    alarm: str
    labels: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        return f"{self.alarm}({','.join(v for _, v in self.labels)})"


@dataclass
class Episode:
    kind: str
    target: str
    hold_s: float
    started: float = 0.0  # time.time()
    undone: float = 0.0
    healed: float = 0.0
    events: list[ExpectedEvent] = field(default_factory=list)
    alerts: list[ExpectedAlert] = field(default_factory=list)
    error: str | None = None
    events_missing: list[str] = field(default_factory=list)
    alerts_missing: list[str] = field(default_factory=list)

    def line(self) -> str:
        took = f"{self.healed - self.started:.0f}" if self.healed else "?"
        state = f"ERROR {self.error}" if self.error else "ok"
        where = f"{self.kind:<18} {self.target:<12}"
        return f"{where} hold {self.hold_s:4.1f} s, healed after {took} s: {state}"


KINDS = (
    "kill-writer",
    "hang-writer",
    "stop-reader",
    "hang-reader",
    "stop-segment",
    "lose-az",
    "pause-replay",
    "delay-replica",
    "restart-collector",
    "restart-prometheus",
)


def instance_down(instance_id: str) -> ExpectedAlert:
    return ExpectedAlert("BorealisInstanceDown", (("dimension_DBInstanceIdentifier", instance_id),))


def failover_alert(cluster: str) -> ExpectedAlert:
    return ExpectedAlert("BorealisWriterFailover", (("dimension_DBClusterIdentifier", cluster),))


class Injector:
    def __init__(self, stack: SoakStack, rng: random.Random, hold: tuple[float, float]) -> None:
        self.stack = stack
        self.rng = rng
        self.hold = hold
        self.deck: list[str] = []

    def next_kind(self, kinds: tuple[str, ...]) -> str:
        """A shuffled deck of the kinds: random order, yet every kind comes round."""
        if not self.deck:
            self.deck = list(kinds)
            self.rng.shuffle(self.deck)
        return self.deck.pop()

    def run(self, kind: str, heal_timeout: float) -> Episode:
        status = self.stack.status()
        hold = round(self.rng.uniform(*self.hold), 1)
        if kind == "hang-reader":  # long enough for the manager to call it unreachable
            hold = max(hold, REPORT_AFTER_S + 3)
        readers = sorted(i["id"] for i in status["instances"] if i["role"] == "reader")
        target, act = self._plan(kind, status, readers, hold)
        episode = Episode(kind, target, hold, started=time.time())
        try:
            act(episode)
            episode.undone = time.time()
            self.stack.wait_healthy(heal_timeout)
            episode.healed = time.time()
        except (BorealisError, TimeoutError, OSError) as exc:
            episode.error = str(exc).splitlines()[0][:200]
        return episode

    def _plan(
        self, kind: str, status: dict[str, Any], readers: list[str], hold: float
    ) -> tuple[str, Callable[[Episode], None]]:
        cluster = str(status["cluster_id"])
        writer = str(status["writer"])
        fault = self.stack.fault
        pick = self.rng.choice

        def held(episode: Episode) -> None:
            time.sleep(hold)

        if kind in ("kill-writer", "hang-writer"):

            def failover(episode: Episode) -> None:
                if kind == "kill-writer":
                    fault("kill-writer")
                else:
                    fault("hang-instance", writer)
                new = self.stack.wait_new_writer(writer, 90)
                episode.events.append(ExpectedEvent("RDS-EVENT-0071", cluster, new))
                episode.alerts.append(failover_alert(cluster))
                if kind == "hang-writer":
                    try:  # fenced already: says so; else it was resumed in time
                        fault("resume-instance", writer)
                    except BorealisError as exc:
                        if "fenced" not in str(exc) and "not hung" not in str(exc):
                            raise

            return writer, failover
        if kind in ("stop-reader", "hang-reader"):
            reader = pick(readers)
            start, stop = (
                ("stop-instance", "start-instance")
                if kind == "stop-reader"
                else ("hang-instance", "resume-instance")
            )

            def reader_down(episode: Episode) -> None:
                fault(start, reader)
                if kind == "stop-reader":
                    episode.events += [
                        ExpectedEvent("RDS-EVENT-0087", reader),
                        ExpectedEvent("RDS-EVENT-0088", reader),
                    ]
                else:
                    episode.events += [
                        ExpectedEvent("BOREALIS-EVENT-0152", reader),
                        ExpectedEvent("BOREALIS-EVENT-0153", reader),
                    ]
                if hold >= INSTANCE_DOWN_NEEDS_S:
                    episode.alerts.append(instance_down(reader))
                held(episode)
                fault(stop, reader)

            return reader, reader_down
        if kind == "stop-segment":
            segment = pick([s["id"] for s in status["segments"]])

            def segment_down(episode: Episode) -> None:
                fault("stop-segment", segment)
                episode.events += [
                    ExpectedEvent("BOREALIS-EVENT-0001", cluster, segment),
                    ExpectedEvent("BOREALIS-EVENT-0002", cluster, segment),
                ]
                if hold >= QUORUM_DEGRADED_NEEDS_S:
                    episode.alerts.append(
                        ExpectedAlert(
                            "BorealisStorageQuorumDegraded",
                            (("dimension_DBClusterIdentifier", cluster),),
                        )
                    )
                held(episode)
                fault("start-segment", segment)

            return segment, segment_down
        if kind == "lose-az":
            az = pick(sorted({i["az"] for i in status["instances"]}))

            def az_down(episode: Episode) -> None:
                lost = fault("lose-az", az)
                for seg in lost["segments"]:
                    episode.events += [
                        ExpectedEvent("BOREALIS-EVENT-0001", cluster, seg),
                        ExpectedEvent("BOREALIS-EVENT-0002", cluster, seg),
                    ]
                if lost["writer_lost"]:
                    new = self.stack.wait_new_writer(writer, 90)
                    episode.events.append(ExpectedEvent("RDS-EVENT-0071", cluster, new))
                    episode.alerts.append(failover_alert(cluster))
                elif hold >= INSTANCE_DOWN_NEEDS_S:
                    episode.alerts += [instance_down(i) for i in lost["instances"]]
                held(episode)
                fault("restore-az", az)

            return az, az_down
        if kind == "pause-replay":
            reader = pick(readers)

            def paused(episode: Episode) -> None:
                fault("pause-replay", reader)
                episode.events += [
                    ExpectedEvent("RDS-EVENT-0045", reader),
                    ExpectedEvent("RDS-EVENT-0046", reader),
                ]
                if hold >= REPLICA_LAG_NEEDS_S:
                    episode.alerts.append(
                        ExpectedAlert(
                            "AuroraReplicaLagHigh", (("dimension_DBClusterIdentifier", cluster),)
                        )
                    )
                held(episode)
                fault("resume-replay", reader)

            return reader, paused
        if kind == "delay-replica":
            reader = pick(readers)
            delay_ms = self.rng.choice((1000, 2000, 5000))

            def delayed(episode: Episode) -> None:
                # No event: RDS has none for a replica's apply delay (nor does Borealis).
                fault("delay-replica", reader, str(delay_ms))
                held(episode)
                fault("delay-replica", reader, "0")

            return f"{reader}:{delay_ms}ms", delayed
        if kind in ("restart-collector", "restart-prometheus"):
            service = kind.removeprefix("restart-")
            sig = signal.SIGKILL if service == "collector" else signal.SIGTERM

            def restart(episode: Episode) -> None:
                pid_file = self.stack.paths.pid_file(service)
                pid = read_pid(pid_file)
                if pid is None:
                    raise BorealisError(f"no {service} pid in {pid_file}")
                os.kill(pid, sig)
                episode.events.append(ExpectedEvent("BOREALIS-EVENT-0161", cluster, service))
                wait_until(
                    lambda: read_pid(pid_file) not in (None, pid),
                    timeout=60,
                    interval=0.2,
                    what=f"the supervisor to restart the {service}",
                )
                self.stack.wait_service_healthy(service, 60)

            return service, restart
        raise ValueError(f"unknown fault kind {kind!r}")
