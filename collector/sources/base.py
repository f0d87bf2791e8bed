"""What every source shares: the poll result shape and the label set."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import psycopg
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from collector.targets import Target

INSTANCE_LABELS = ("cluster", "db_instance", "role", "az")


@dataclass(frozen=True)
class InstancePoll:
    """Everything one poll of one instance found: built once, never changed."""

    target: Target
    at: float  # time.monotonic()
    wall_time: float  # time.time()
    ok: bool
    role: str
    version_num: int
    results: dict[str, Any] = field(default_factory=dict)
    durations: dict[str, float] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def labels(self) -> list[str]:
        return [self.target.cluster, self.target.db_instance, self.role, self.target.az]


class Source(Protocol):
    name: str
    # True for the /proc-based sources: polled every collector.os_poll_interval_s, their
    # last result standing in between.
    os_metrics: bool

    def poll(self, conn: psycopg.Connection[Any], version_num: int) -> Any:
        """Query the instance; return a frozen snapshot (None when not applicable)."""

    def families(self, polls: Sequence[InstancePoll]) -> Iterable[Metric]:
        """Fresh metric families from the latest successful poll of every live instance."""


def gauge(name: str, doc: str, extra: Sequence[str] = (), unit: str = "") -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=[*INSTANCE_LABELS, *extra], unit=unit)


def counter(name: str, doc: str, extra: Sequence[str] = (), unit: str = "") -> CounterMetricFamily:
    return CounterMetricFamily(name, doc, labels=[*INSTANCE_LABELS, *extra], unit=unit)


def fetch_one(
    conn: psycopg.Connection[Any], sql: str, params: dict[str, Any] | None = None
) -> dict[str, Any] | None:
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        cur.execute(sql, params)
        return cur.fetchone()


def fetch_all(
    conn: psycopg.Connection[Any], sql: str, params: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        cur.execute(sql, params)
        return cur.fetchall()
