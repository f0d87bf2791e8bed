"""The Overview's data shaping: pure functions from what the collector, Prometheus and
Alertmanager answered to the topology by AZ, the key-numbers table and the alert rows."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from dashboards.data import Series
from dashboards.queries import READ_IOPS, REPLICA_LAG, WRITE_IOPS
from dashboards.queries.cluster import CONNECTIONS, CPU

# The writer's view of every downstream (readers and storage segments), one series each.
STANDBYS = 'borealis_replication_standby_info{role="writer"}'
SEGMENT_PREFIX = "seg-"
UNKNOWN_AZ = "-"


@dataclass(frozen=True)
class KeyNumber:
    column: str  # the table's header, with its unit
    expr: str  # one value per db_instance
    decimals: int = 1


KEY_NUMBERS: tuple[KeyNumber, ...] = (
    KeyNumber("CPU (%)", f"max by (db_instance) ({CPU.expr})"),
    KeyNumber("Connections", f"max by (db_instance) ({CONNECTIONS.expr})", 0),
    KeyNumber(
        "DB load (AAS)",
        "sum by (db_instance) (rate(borealis_db_load_seconds_total[10s]))",
        2,
    ),
    KeyNumber("Replica lag (ms)", f"max by (db_instance) ({REPLICA_LAG.expr})"),
    KeyNumber("Read IOPS (ops/s)", f"max by (db_instance) ({READ_IOPS.expr})"),
    KeyNumber("Write IOPS (ops/s)", f"max by (db_instance) ({WRITE_IOPS.expr})"),
)


@dataclass(frozen=True)
class Segment:
    id: str
    az: str
    health: str  # healthy | lagging | down
    detail: str  # "streaming, quorum" as the writer sees it, or why it is down


@dataclass(frozen=True)
class AzColumn:
    az: str
    instances: list[dict[str, Any]] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)


def segment_az(segment_id: str, azs: Sequence[str]) -> str:
    """A segment's AZ from its id (`seg-b1` lives in the AZ ending in `b`)."""
    letter = segment_id.removeprefix(SEGMENT_PREFIX)[:1]
    return next((az for az in azs if letter and az.endswith(letter)), UNKNOWN_AZ)


def segments(standbys: Sequence[Series], azs: Sequence[str], expected: int = 6) -> list[Segment]:
    """The storage segments as the writer sees them: streaming in the quorum (healthy),
    connected but not streaming (lagging), or missing from the writer's list (down; named
    `seg-?` when even its id is unknown, so that six are always shown)."""
    found: dict[str, Segment] = {}
    for series in standbys:
        name = series.labels.get("standby", "")
        if not name.startswith(SEGMENT_PREFIX):
            continue
        state = series.labels.get("state", "?")
        sync = series.labels.get("sync_state", "?")
        health = "healthy" if state == "streaming" and sync in ("quorum", "sync") else "lagging"
        found[name] = Segment(name, segment_az(name, azs), health, f"{state}, {sync}")
    known = [f"{SEGMENT_PREFIX}{az[-1]}{n}" for az in azs for n in (1, 2)]
    for name in known:
        if name not in found and len(found) < expected:
            found[name] = Segment(name, segment_az(name, azs), "down", "not connected")
    return [found[name] for name in sorted(found)]


def topology(targets: Sequence[dict[str, Any]], segment_list: Sequence[Segment]) -> list[AzColumn]:
    """Instances (writer first, then by tier) and segments grouped by AZ, AZs in order."""
    columns: dict[str, AzColumn] = {}
    for target in targets:
        az = target.get("az") or UNKNOWN_AZ
        columns.setdefault(az, AzColumn(az)).instances.append(dict(target))
    for segment in segment_list:
        columns.setdefault(segment.az, AzColumn(segment.az)).segments.append(segment)
    for column in columns.values():
        column.instances.sort(
            key=lambda t: (t.get("role") != "writer", _tier(t), str(t.get("db_instance")))
        )
    return [columns[az] for az in sorted(columns)]


def _tier(target: dict[str, Any]) -> int:
    tier = target.get("tier")
    return tier if isinstance(tier, int) else 99


def endpoint_rows(
    endpoints: Sequence[tuple[str, str]], targets: Sequence[dict[str, Any]]
) -> list[dict[str, str]]:
    """Each cluster endpoint, its address and the instances it sends connections to now:
    the writer endpoint to the writer, the reader endpoint to the readers that are up."""
    writers = [t["db_instance"] for t in targets if t.get("role") == "writer" and t.get("up")]
    readers = sorted(t["db_instance"] for t in targets if t.get("role") == "reader" and t.get("up"))
    rows = []
    for kind, address in endpoints:
        if kind == "writer":
            points = ", ".join(writers) or "no writer up"
            name = "cluster (writer) endpoint"
        else:
            # Aurora's reader endpoint falls back to the writer when no reader is up.
            points = ", ".join(readers) or ", ".join(writers) or "no instance up"
            name = "reader endpoint"
        rows.append({"Endpoint": name, "Address": address, "Points to": points})
    return rows


def key_number_rows(
    instances: Sequence[str], values: dict[str, dict[str, float]]
) -> list[dict[str, str]]:
    """One row per instance, one column per KEY_NUMBERS entry; `values[column][instance]`.
    A figure the instance does not have (a writer's replica lag) is shown as `-`."""
    rows = []
    for instance in instances:
        row = {"Instance": instance}
        for number in KEY_NUMBERS:
            value = values.get(number.column, {}).get(instance)
            row[number.column] = (
                "-" if value is None or not math.isfinite(value) else f"{value:.{number.decimals}f}"
            )
        rows.append(row)
    return rows


def by_instance(series: Sequence[Series]) -> dict[str, float]:
    """The latest value of each instance's series."""
    return {
        s.labels["db_instance"]: s.values[-1]
        for s in series
        if "db_instance" in s.labels and s.values
    }


def alerts_for(alerts: Sequence[dict[str, Any]], instance: str | None) -> list[dict[str, Any]]:
    """The chosen instance's alerts and those about no one instance (the cluster's, the
    collector's); every alert when no instance is chosen."""
    if not instance:
        return list(alerts)
    return [
        alert
        for alert in alerts
        if (alert.get("labels") or {}).get("db_instance") in (None, "", instance)
    ]


def alert_state(alert: dict[str, Any]) -> str:
    """firing, silenced (by a silence) or inhibited (by another alert), as Alertmanager says."""
    status = alert.get("status") or {}
    if status.get("silencedBy"):
        return "silenced"
    if status.get("inhibitedBy"):
        return "inhibited"
    return "firing" if status.get("state", "active") == "active" else str(status.get("state"))


def alert_rows(alerts: Sequence[dict[str, Any]]) -> list[dict[str, str]]:
    """Alertmanager's active alerts, newest first: name, state, severity, where, since, summary."""
    rows = []
    for alert in sorted(alerts, key=lambda a: str(a.get("startsAt", "")), reverse=True):
        labels = alert.get("labels") or {}
        annotations = alert.get("annotations") or {}
        where = ", ".join(
            f"{k}={v}"
            for k, v in sorted(labels.items())
            if k not in ("alertname", "severity", "alarm_name", "alarm_state")
        )
        rows.append(
            {
                "Alarm": str(labels.get("alertname", "?")),
                "State": alert_state(alert),
                "Severity": str(labels.get("severity", "")),
                "Labels": where,
                "Since": str(alert.get("startsAt", ""))[:19].replace("T", " "),
                "Summary": str(annotations.get("summary") or annotations.get("description", "")),
            }
        )
    return rows
