"""The PromQL behind every panel: one place, shared by the Dash UI and the Grafana JSON."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Panel:
    title: str
    expr: str
    unit: str
    legend: str  # a label name, or a format string with {label} fields


REPLICA_LAG = Panel(
    "Replica lag (AuroraReplicaLag)",
    '1000 * borealis_replica_lag_seconds{role="reader"}',
    "ms",
    "{db_instance}",
)
REPLICA_LAG_BYTES = Panel(
    "Replica lag, bytes", 'borealis_replica_lag_bytes{role="reader"}', "bytes", "{db_instance}"
)
READ_IOPS = Panel(
    "Read IOPS (ReadIOPS)", "rate(borealis_blocks_read_total[10s])", "ops/s", "{db_instance}"
)
WRITE_IOPS = Panel(
    "Write IOPS (WriteIOPS: log records)",
    "rate(borealis_wal_records_total[10s])",
    "ops/s",
    "{db_instance}",
)
DB_LOAD_BY_WAIT = Panel(
    "DB load by wait event type (AAS)",
    "sum by (wait_event_type) (rate(borealis_db_load_seconds_total[10s]))",
    "sessions",
    "{wait_event_type}",
)
INSTANCE_UP = Panel("Instances up", "borealis_up", "", "{db_instance}")
