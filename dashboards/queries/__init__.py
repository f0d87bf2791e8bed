"""The PromQL behind every panel: one place, with units and thresholds, shared by the Dash UI
and the generated Grafana dashboards so the two never disagree."""

from __future__ import annotations

from dashboards.queries.cloudwatch import CLOUDWATCH_CLUSTER, CLOUDWATCH_INSTANCES
from dashboards.queries.cluster import (
    DB_LOAD_BY_WAIT,
    INSTANCE_UP,
    IO,
    OVERVIEW,
    READ_IOPS,
    REPLICA_LAG,
    REPLICA_LAG_BYTES,
    REPLICATION,
    WRITE_IOPS,
)
from dashboards.queries.health import ALERTS, COLLECTOR, EVENTS
from dashboards.queries.insights import PERFORMANCE_INSIGHTS
from dashboards.queries.model import Annotation, Board, Panel, Query, render

NATIVE_BOARDS: tuple[Board, ...] = (
    OVERVIEW,
    REPLICATION,
    IO,
    PERFORMANCE_INSIGHTS,
    EVENTS,
    ALERTS,
    COLLECTOR,
)
CLOUDWATCH_BOARDS: tuple[Board, ...] = (CLOUDWATCH_INSTANCES, CLOUDWATCH_CLUSTER)
BOARDS = NATIVE_BOARDS + CLOUDWATCH_BOARDS

__all__ = [
    "BOARDS",
    "CLOUDWATCH_BOARDS",
    "DB_LOAD_BY_WAIT",
    "INSTANCE_UP",
    "NATIVE_BOARDS",
    "READ_IOPS",
    "REPLICA_LAG",
    "REPLICA_LAG_BYTES",
    "WRITE_IOPS",
    "Annotation",
    "Board",
    "Panel",
    "Query",
    "render",
]
