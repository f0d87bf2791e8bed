"""Performance Insights panels: DB load (average active sessions) sliced every way PI slices
it, from the active-session-seconds counters (rate() is AAS)."""

from __future__ import annotations

from dashboards.queries.cluster import NATIVE_SCOPE, NATIVE_SOURCE
from dashboards.queries.model import (
    ORANGE,
    RED,
    WAIT_EVENT_LEGEND,
    WAIT_TYPE_LEGEND,
    Board,
    Panel,
    Query,
)

LOAD_THRESHOLDS = ((4, ORANGE), (8, RED))
VCPU = Query(
    "sum(max by (cluster, db_instance) (borealis_process_cpus{$scope}))",
    "Max vCPU",
)


def _load(counter: str, by: str, legend: str) -> Query:
    return Query(f"sum by ({by}) (rate({counter}{{$scope}}[$window]))", legend)


DB_LOAD_BY_WAIT_TYPE = Panel(
    "DB load by wait type, with Max vCPU",
    (
        _load("borealis_db_load_seconds_total", "wait_event_type", WAIT_TYPE_LEGEND),
        VCPU,
    ),
    "short",
    LOAD_THRESHOLDS,
    description="Load above the Max vCPU line means sessions queue for CPU.",
    stacked=True,
    minimum=0,
    width=24,
    limit_lines=("Max vCPU",),
)
DB_LOAD_BY_EVENT = Panel(
    "DB load by wait event",
    (
        _load(
            "borealis_db_load_seconds_total",
            "wait_event_type, wait_event",
            WAIT_EVENT_LEGEND,
        ),
        VCPU,
    ),
    "short",
    LOAD_THRESHOLDS,
    stacked=True,
    minimum=0,
    limit_lines=("Max vCPU",),
)
# The digest's text joins from its info series: one text per digest id.
DIGEST_TEXT = (
    "topk by (digest_id) (1, max by (digest_id, digest_text) (borealis_db_sql_digest_info{$scope}))"
)
DB_LOAD_BY_SQL = Panel(
    "DB load by SQL digest",
    (
        Query(
            "sum by (digest_id) (rate(borealis_db_load_by_sql_seconds_total{$scope}[$window])) "
            f"* on (digest_id) group_left (digest_text) {DIGEST_TEXT}",
            "{digest_text}",
        ),
    ),
    "short",
    LOAD_THRESHOLDS,
    description="Load of each SQL digest with its normalised text (literals as ?); the "
    "digests past collector.max_digests are left out here.",
    stacked=True,
    minimum=0,
)
TOP_SQL = Panel(
    "Top SQL by load (AAS now)",
    (
        Query(
            "sort_desc(topk(10, sum by (digest_id) "
            "(rate(borealis_db_load_by_sql_seconds_total{$scope}[$window])) "
            f"* on (digest_id) group_left (digest_text) {DIGEST_TEXT}))",
            instant=True,
        ),
    ),
    "short",
    LOAD_THRESHOLDS,
    kind="table",
    width=24,
)


def _by(dimension: str, title: str) -> Panel:
    return Panel(
        f"DB load by {title}",
        (_load(f"borealis_db_load_by_{dimension}_seconds_total", dimension, f"{{{dimension}}}"),),
        "short",
        LOAD_THRESHOLDS,
        stacked=True,
        minimum=0,
        width=8,
    )


DB_LOAD_BY_USER = _by("user", "user")
DB_LOAD_BY_DATABASE = _by("database", "database")
DB_LOAD_BY_APPLICATION = _by("application", "application")

PERFORMANCE_INSIGHTS = Board(
    "borealis-performance-insights",
    "Borealis / Performance Insights",
    "DB load (average active sessions) by wait type and event against the Max vCPU line, "
    "by SQL digest with its text, and by user, database and application.",
    (
        ("Waits", (DB_LOAD_BY_WAIT_TYPE, DB_LOAD_BY_EVENT)),
        ("SQL", (DB_LOAD_BY_SQL, TOP_SQL)),
        ("Who", (DB_LOAD_BY_USER, DB_LOAD_BY_DATABASE, DB_LOAD_BY_APPLICATION)),
    ),
    NATIVE_SCOPE,
    NATIVE_SOURCE,
)
