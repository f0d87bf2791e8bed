"""Issue 10's alarm drills on a running stack, shared by the end-to-end test
(tests/cluster/test_alarms_e2e.py) and the benchmark (bench/alerts.py).

Each drill injects a fault, waits for the matching alarm to be active in Alertmanager
(/api/v2/alerts), for its firing notification at the Borealis webhook (the inbox), undoes
the fault and waits for the alarm's OK in the webhook's alarm history. The times it reports:
fault -> firing (Alertmanager's startsAt: when Prometheus' rule fired) and firing ->
delivery (the inbox's receivedAt), plus fault -> seen in Alertmanager by polling.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, cast

import psycopg

from alerts.alertmanager import INHIBIT_RULES
from core.waiting import wait_until

# The alarms that mute others, from Alertmanager's own inhibition rules.
INHIBITING = {m.removeprefix("alertname=") for r in INHIBIT_RULES for m in r["source_matchers"]}

AZS = ("local-1a", "local-1b", "local-1c")


class DrillStack(Protocol):
    """What a drill needs from the stack: the test's and the bench's stacks adapt to it."""

    def status(self) -> dict[str, Any]: ...

    def fault(self, *args: str) -> None: ...

    def dsn(self, endpoint: str, password: str | None = None) -> str: ...


@dataclass(frozen=True)
class Drill:
    name: str
    alarm: str
    labels: dict[str, str]  # the alarm series the drill must fire
    inject: Callable[[], None]
    undo: Callable[[], None]
    fire_within_s: float
    resolve_within_s: float
    # Runs around the whole drill, from before the fault to the OK (a write stream).
    around: Callable[[], AbstractContextManager[None]] = nullcontext
    instance: str = ""  # the instance the fault hits, when it is one


@dataclass(frozen=True)
class DrillTiming:
    drill: str
    alarm: str
    fault_to_firing_s: float  # fault injected -> Alertmanager's startsAt
    fault_to_alertmanager_s: float  # fault injected -> seen in /api/v2/alerts (polled)
    firing_to_delivery_s: float  # startsAt -> the webhook's receivedAt
    fault_undone_to_ok_s: float  # undo -> the OK in the webhook's alarm history


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310
        return json.load(response)


def epoch(timestamp: str) -> float:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()


def matches(labels: dict[str, str], alarm: str, wanted: dict[str, str]) -> bool:
    return labels.get("alertname") == alarm and all(labels.get(k) == v for k, v in wanted.items())


def active_alert(services: dict[str, str], drill: Drill) -> dict[str, Any] | None:
    """The drill's alert in Alertmanager: active, or suppressed by an inhibition."""
    query = urllib.parse.urlencode({"filter": [f"alertname={drill.alarm}"]}, doseq=True)
    alerts = get_json(f"{services['alertmanager']}/api/v2/alerts?{query}")
    return next((a for a in alerts if matches(a["labels"], drill.alarm, drill.labels)), None)


def muting(services: dict[str, str], drill: Drill) -> list[str]:
    """The alarms Alertmanager's inhibition rules mute others with that are active now (other
    than the drill's own)."""
    alerts = get_json(f"{services['alertmanager']}/api/v2/alerts")
    return [
        a["labels"]["alertname"]
        for a in alerts
        if a["labels"].get("alertname") in INHIBITING and a["labels"]["alertname"] != drill.alarm
    ]


def delivered(services: dict[str, str], drill: Drill, status: str, since: float) -> float | None:
    """When the webhook received the drill's alert as `status` (after `since`), if it did."""
    notes = get_json(f"{services['webhook']}/api/notifications?minutes=30")["Notifications"]
    for note in notes:
        if note["receiver"] != "borealis" or epoch(note["receivedAt"]) < since:
            continue
        for alert in note["alerts"]:
            if alert["status"] == status and matches(alert["labels"], drill.alarm, drill.labels):
                return epoch(note["receivedAt"])
    return None


def ok_recorded(services: dict[str, str], drill: Drill, since: float) -> bool:
    query = urllib.parse.urlencode({"AlarmName": drill.alarm, "minutes": 30})
    items = get_json(f"{services['webhook']}/api/alarm-history?{query}")["AlarmHistoryItems"]
    return any(
        epoch(item["Timestamp"]) >= since
        and item["HistorySummary"] == "Alarm updated from ALARM to OK"
        and matches(
            {"alertname": drill.alarm, **json.loads(item["HistoryData"])["labels"]},
            drill.alarm,
            drill.labels,
        )
        for item in items
    )


def healthy(stack: DrillStack) -> bool:
    status = stack.status()
    return all(i["state"] == "available" for i in status["instances"]) and all(
        s["state"] == "available" for s in status["segments"]
    )


def run_drill(stack: DrillStack, drill: Drill) -> DrillTiming:
    """Inject, see it fire and delivered, undo, see it OK; AssertionError (from wait_until's
    TimeoutError) names the step that did not happen in time."""
    services = stack.status()["services"]
    # An earlier drill on the same stack may still hold the alarm, or one that mutes it (a
    # failover stays in ALARM for a minute and inhibits every instance alarm of its
    # cluster, so its alert would fire but not be delivered): start from OK.
    wait_until(
        lambda: active_alert(services, drill) is None and not muting(services, drill),
        timeout=240,
        interval=1,
        what=f"{drill.alarm} {drill.labels} inactive and unmuted before the drill",
        retry_on=(OSError,),
    )
    with drill.around():
        return _run(services, drill)


def _run(services: dict[str, str], drill: Drill) -> DrillTiming:
    started = time.time()
    try:
        drill.inject()
        alert = wait_until(
            lambda: active_alert(services, drill),
            timeout=drill.fire_within_s,
            interval=0.25,
            what=f"{drill.alarm} {drill.labels} active in Alertmanager",
            retry_on=(OSError,),
        )
        seen = time.time()
        received = cast(
            float,
            wait_until(
                lambda: delivered(services, drill, "firing", started),
                timeout=30,
                interval=0.25,
                what=f"{drill.alarm} firing delivered to the webhook",
                retry_on=(OSError,),
            ),
        )
    finally:
        undone = time.time()
        drill.undo()
    wait_until(
        lambda: ok_recorded(services, drill, started),
        timeout=drill.resolve_within_s,
        interval=0.5,
        what=f"{drill.alarm} {drill.labels} back to OK in the webhook's alarm history",
        retry_on=(OSError,),
    )
    resolved = time.time()
    fired = epoch(cast(dict[str, Any], alert)["startsAt"])
    return DrillTiming(
        drill=drill.name,
        alarm=drill.alarm,
        fault_to_firing_s=fired - started,
        fault_to_alertmanager_s=seen - started,
        firing_to_delivery_s=received - fired,
        fault_undone_to_ok_s=resolved - undone,
    )


@contextmanager
def writing(dsn: str, every_s: float = 0.5) -> Iterator[None]:
    """A commit every `every_s` on the writer, so a paused reader falls behind."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                with psycopg.connect(dsn, autocommit=True) as conn:
                    conn.execute("create table if not exists alarm_drill (at timestamptz)")
                    while not stop.wait(every_s):
                        conn.execute("insert into alarm_drill values (now())")
            except psycopg.Error:
                stop.wait(1)  # a failover in between: reconnect

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=15)


def wrong_passwords(dsn: str, seconds: float) -> int:
    """Failed logins as fast as one client makes them, for `seconds`; how many."""
    failures = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            psycopg.connect(dsn).close()
        except psycopg.OperationalError:
            failures += 1
    return failures


def drills(stack: DrillStack) -> list[Drill]:
    """The four drills, for the stack as it is now (a writer and at least one reader)."""
    status = stack.status()
    cluster = status["cluster_id"]
    writer = next(i for i in status["instances"] if i["role"] == "writer")
    reader = max(
        (i for i in status["instances"] if i["role"] == "reader"),
        key=lambda i: (i["tier"], i["id"]),
    )
    lost_az = next(az for az in AZS if az != writer["az"])
    third = next(s["id"] for s in status["segments"] if s["az"] not in (lost_az, writer["az"]))
    on_cluster = {"dimension_DBClusterIdentifier": cluster}
    writer_dsn = stack.dsn("writer")

    def pause_replay() -> None:
        stack.fault("pause-replay", reader["id"])

    def resume_replay() -> None:
        stack.fault("resume-replay", reader["id"])

    def lose_az() -> None:
        stack.fault("lose-az", lost_az)
        stack.fault("stop-segment", third)

    def restore_az() -> None:
        stack.fault("start-segment", third)
        stack.fault("restore-az", lost_az)

    def storm() -> None:
        failures = wrong_passwords(stack.dsn("writer", password="not-the-password"), 15)
        if failures < 20:
            raise AssertionError(f"only {failures} failed logins in 15 s")

    def rejoined() -> None:
        wait_until(lambda: healthy(stack), timeout=180, interval=0.5, what="the cluster healed")

    return [
        # Writes go on until the OK: without new WAL the writer's replay_lag stays frozen.
        Drill("pause replay on a reader", "AuroraReplicaLagHigh", on_cluster,
              pause_replay, resume_replay, 200, 240, lambda: writing(writer_dsn), reader["id"]),
        Drill("a burst of wrong passwords", "BorealisAuthenticationFailureStorm",
              {"dimension_DBInstanceIdentifier": writer["id"]}, storm, lambda: None, 60, 120),
        Drill("lose an AZ plus one segment", "BorealisStorageQuorumLost", on_cluster,
              lose_az, restore_az, 60, 180),
        Drill("kill the writer", "BorealisWriterFailover", on_cluster,
              lambda: stack.fault("kill-writer"), rejoined, 60, 240),
    ]  # fmt: skip
