"""What Performance Insights can slice and count: dimension groups, counter metrics, SQL stats.

Names are AWS's (aurora-facts §2.2, §2.5, §2.3); each dimension maps to a column of the
sample store. Counter values come from `collector/sql/pi_*.sql`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

CPU = "CPU"
OTHER = "other"

# Dimension group -> the dimensions inside it (API names), in AWS's order.
GROUPS: dict[str, tuple[str, ...]] = {
    "db.wait_event": ("db.wait_event.name", "db.wait_event.type"),
    "db.wait_event_type": ("db.wait_event_type.name",),
    "db.sql_tokenized": (
        "db.sql_tokenized.id",
        "db.sql_tokenized.db_id",
        "db.sql_tokenized.statement",
    ),
    "db.sql": ("db.sql.id", "db.sql.db_id", "db.sql.statement", "db.sql.tokenized_id"),
    "db.user": ("db.user.id", "db.user.name"),
    "db.host": ("db.host.id", "db.host.name"),
    "db.application": ("db.application.name",),
    "db": ("db.id", "db.name"),
    "db.session_type": ("db.session_type.name",),
}

# The store columns a group is grouped by.
GROUP_COLUMNS: dict[str, tuple[str, ...]] = {
    "db.wait_event": ("wait_type", "wait_event"),
    "db.wait_event_type": ("wait_type",),
    "db.sql_tokenized": ("digest_id",),
    "db.sql": ("sql_id", "digest_id"),
    "db.user": ("user_id", "user_name"),
    "db.host": ("host",),
    "db.application": ("application",),
    "db": ("database",),
    "db.session_type": ("session_type",),
}

# Dimensions a Filter may name -> the store column it compares (statements are not filterable).
FILTER_COLUMNS: dict[str, str] = {
    "db.wait_event.type": "wait_type",
    "db.wait_event_type.name": "wait_type",
    "db.sql_tokenized.id": "digest_id",
    "db.sql_tokenized.db_id": "digest_id",
    "db.sql.id": "sql_id",
    "db.sql.db_id": "digest_id",
    "db.sql.tokenized_id": "digest_id",
    "db.user.id": "user_id",
    "db.user.name": "user_name",
    "db.host.id": "host",
    "db.host.name": "host",
    "db.application.name": "application",
    "db.id": "database",
    "db.name": "database",
    "db.session_type.name": "session_type",
}
# db.wait_event.name is `Type:Event` (or `CPU`) and filters on two columns.
WAIT_EVENT_NAME = "db.wait_event.name"

LOAD_METRICS = ("db.load", "db.sampledload")


def wait_event_name(wait_type: str, wait_event: str) -> str:
    """PI's db.wait_event.name for Aurora PostgreSQL: `CPU`, `Lock:transactionid`, ..."""
    return CPU if wait_type == CPU else f"{wait_type}:{wait_event}"


MAX_ELEMENT_BYTES = 500  # PI truncates long SQL in responses


def dimension_values(
    group: str, names: tuple[str, ...], values: tuple[Any, ...], texts: Mapping[str, str]
) -> dict[str, str]:
    """The dimensions `names` of `group` for one key of store column `values` (GROUP_COLUMNS),
    statements from `texts` (digest or statement id -> text)."""
    v = [str(x) for x in values]
    full: dict[str, str]
    if group == "db.wait_event":
        full = {"db.wait_event.name": wait_event_name(v[0], v[1]), "db.wait_event.type": v[0]}
    elif group == "db.wait_event_type":
        full = {"db.wait_event_type.name": v[0]}
    elif group == "db.sql_tokenized":
        full = {
            "db.sql_tokenized.id": v[0],
            "db.sql_tokenized.db_id": v[0],
            "db.sql_tokenized.statement": truncate(texts.get(v[0], "")),
        }
    elif group == "db.sql":
        full = {
            "db.sql.id": v[0],
            "db.sql.db_id": v[1],
            "db.sql.statement": truncate(texts.get(v[0]) or texts.get(v[1], "")),
            "db.sql.tokenized_id": v[1],
        }
    elif group in ("db.user", "db"):
        prefix = "db.user" if group == "db.user" else "db"
        full = {f"{prefix}.id": v[0], f"{prefix}.name": v[-1]}
    elif group == "db.host":
        full = {"db.host.id": v[0], "db.host.name": v[0]}
    else:  # db.application, db.session_type: one name
        full = {GROUPS[group][0]: v[0]}
    return {k: full[k] for k in names if k in full}


def truncate(text: str) -> str:
    data = text.encode()
    if len(data) <= MAX_ELEMENT_BYTES:
        return text
    return data[:MAX_ELEMENT_BYTES].decode(errors="ignore")


def split_wait_event_name(name: str) -> tuple[str, str]:
    if name == CPU:
        return CPU, CPU
    wait_type, _, event = name.partition(":")
    return wait_type, event


class Kind(enum.StrEnum):
    RATE = "rate"  # a cumulative counter, reported per second
    PER_MINUTE = "per_minute"  # a cumulative counter, reported per minute
    GAUGE = "gauge"  # a value as read


@dataclass(frozen=True)
class CounterMetric:
    name: str  # without statistic, e.g. db.Transactions.xact_commit
    source: str  # key in a counter snapshot
    kind: Kind
    unit: str
    description: str


def _c(name: str, source: str, kind: Kind, unit: str, description: str) -> CounterMetric:
    return CounterMetric(name, source, kind, unit, description)


R, M, G = Kind.RATE, Kind.PER_MINUTE, Kind.GAUGE

COUNTERS: dict[str, CounterMetric] = {
    c.name: c
    for c in (
        _c("db.Transactions.xact_commit", "xact_commit", R, "commits per second", "Commits."),
        _c(
            "db.Transactions.xact_rollback",
            "xact_rollback",
            R,
            "rollbacks per second",
            "Rollbacks.",
        ),
        _c(
            "db.Transactions.active_transactions",
            "active_transactions",
            G,
            "transactions",
            "Client sessions running a statement.",
        ),
        _c(
            "db.Transactions.blocked_transactions",
            "blocked_transactions",
            G,
            "transactions",
            "Sessions waiting for a lock.",
        ),
        _c(
            "db.Transactions.max_used_xact_ids",
            "max_used_xact_ids",
            G,
            "transactions",
            "Age of the oldest unfrozen transaction ID.",
        ),
        _c("db.SQL.tup_deleted", "tup_deleted", R, "tuples per second", "Rows deleted."),
        _c("db.SQL.tup_fetched", "tup_fetched", R, "tuples per second", "Rows fetched."),
        _c("db.SQL.tup_inserted", "tup_inserted", R, "tuples per second", "Rows inserted."),
        _c("db.SQL.tup_returned", "tup_returned", R, "tuples per second", "Rows returned."),
        _c("db.SQL.tup_updated", "tup_updated", R, "tuples per second", "Rows updated."),
        _c(
            "db.SQL.logical_reads",
            "logical_reads",
            R,
            "blocks per second",
            "Blocks hit plus blocks read.",
        ),
        _c("db.Cache.blks_hit", "blks_hit", R, "blocks per second", "Shared buffer hits."),
        _c(
            "db.Cache.buffers_alloc",
            "buffers_alloc",
            R,
            "blocks per second",
            "Buffers allocated.",
        ),
        _c(
            "db.IO.blks_read",
            "blks_read",
            R,
            "blocks per second",
            "Blocks read from outside shared buffers.",
        ),
        _c(
            "db.IO.blk_read_time",
            "blk_read_time",
            R,
            "milliseconds per second",
            "Time spent reading blocks (track_io_timing).",
        ),
        _c(
            "db.IO.buffers_backend",
            "buffers_backend",
            R,
            "blocks per second",
            "Buffers written by backends (PG 16 and older).",
        ),
        _c(
            "db.IO.buffers_backend_fsync",
            "buffers_backend_fsync",
            R,
            "blocks per second",
            "fsync calls made by backends (PG 16 and older).",
        ),
        _c(
            "db.IO.buffers_clean",
            "buffers_clean",
            R,
            "blocks per second",
            "Buffers written by the background writer.",
        ),
        _c(
            "db.Checkpoint.buffers_checkpoint",
            "buffers_checkpoint",
            R,
            "blocks per second",
            "Buffers written by checkpoints.",
        ),
        _c(
            "db.Checkpoint.checkpoints_req",
            "checkpoints_req",
            M,
            "checkpoints per minute",
            "Requested checkpoints.",
        ),
        _c(
            "db.Checkpoint.checkpoints_timed",
            "checkpoints_timed",
            M,
            "checkpoints per minute",
            "Scheduled checkpoints.",
        ),
        _c(
            "db.Checkpoint.maxwritten_clean",
            "maxwritten_clean",
            M,
            "bgwriter clean stops per minute",
            "Times the background writer stopped a cleaning scan.",
        ),
        _c(
            "db.Concurrency.deadlocks",
            "deadlocks",
            M,
            "deadlocks per minute",
            "Deadlocks detected.",
        ),
        _c(
            "db.Temp.temp_bytes",
            "temp_bytes",
            R,
            "bytes per second",
            "Bytes written to temporary files.",
        ),
        _c(
            "db.Temp.temp_files",
            "temp_files",
            M,
            "files per minute",
            "Temporary files created.",
        ),
        _c("db.User.numbackends", "numbackends", G, "connections", "Connected backends."),
        _c(
            "db.State.idle_in_transaction_count",
            "idle_in_transaction_count",
            G,
            "sessions",
            "Sessions idle in a transaction.",
        ),
        _c(
            "db.State.idle_in_transaction_aborted_count",
            "idle_in_transaction_aborted_count",
            G,
            "sessions",
            "Sessions idle in an aborted transaction.",
        ),
        _c(
            "db.State.idle_in_transaction_max_time",
            "idle_in_transaction_max_time",
            G,
            "seconds",
            "Longest time a session has been idle in a transaction.",
        ),
        _c(
            "os.general.numVCPUs",
            "os_num_vcpus",
            G,
            "vCPUs",
            "Number of CPUs of the host (the Max vCPU line).",
        ),
        _c(
            "os.loadAverageMinute.one",
            "os_load_one",
            G,
            "processes",
            "Host load average over one minute.",
        ),
        _c(
            "os.loadAverageMinute.five",
            "os_load_five",
            G,
            "processes",
            "Host load average over five minutes.",
        ),
        _c(
            "os.loadAverageMinute.fifteen",
            "os_load_fifteen",
            G,
            "processes",
            "Host load average over fifteen minutes.",
        ),
    )
}

STATISTICS = ("avg", "min", "max", "sum")

# pg_stat_statements columns kept per digest (deltas), in store order.
STAT_FIELDS = (
    "calls",
    "total_time_ms",
    "rows",
    "shared_blks_hit",
    "shared_blks_read",
    "shared_blks_dirtied",
    "shared_blks_written",
    "temp_blks_read",
    "temp_blks_written",
)

STATS_PREFIX = "db.sql_tokenized.stats."


@dataclass(frozen=True)
class StatMetric:
    name: str  # e.g. calls_per_sec
    numerator: str  # a STAT_FIELDS entry
    per_call: bool  # divided by calls, else by seconds
    unit: str
    description: str


def _stats() -> dict[str, StatMetric]:
    out: dict[str, StatMetric] = {}
    per_sec = {
        "calls": ("calls", "calls per second"),
        "rows": ("rows", "rows per second"),
        "total_time": ("total_time_ms", "milliseconds per second"),
    }
    for name, (field, unit) in per_sec.items():
        out[f"{name}_per_sec"] = StatMetric(
            f"{name}_per_sec", field, False, unit, f"{name} per second"
        )
    for field in STAT_FIELDS[3:]:
        out[f"{field}_per_sec"] = StatMetric(
            f"{field}_per_sec", field, False, "blocks per second", f"{field} per second"
        )
        out[f"{field}_per_call"] = StatMetric(
            f"{field}_per_call", field, True, "blocks per call", f"{field} per call"
        )
    out["rows_per_call"] = StatMetric(
        "rows_per_call", "rows", True, "rows per call", "rows per call"
    )
    out["avg_latency_per_call"] = StatMetric(
        "avg_latency_per_call",
        "total_time_ms",
        True,
        "milliseconds per call",
        "average execution time per call",
    )
    return out


STAT_METRICS: dict[str, StatMetric] = _stats()
