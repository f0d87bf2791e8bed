"""Drill-downs over the shared range: one digest (its waits over time, its per-call figures
over time, its full tokenized text) or one wait event (which SQL spends it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dashboards import pi_figures
from dashboards.context import UiContext
from dashboards.data import DataUnavailable
from dashboards.pi_data import SQL_ID, SQL_STATEMENT, WAIT_EVENT, PiClient
from dashboards.timerange import TimeRange


@dataclass(frozen=True)
class Drill:
    shown: bool
    title: str = ""
    text: str = ""
    graph: Any = None
    stats: Any = None  # a digest's statistics figure (None for a wait event)
    table: list[dict[str, Any]] = field(default_factory=list)
    status: str = ""


def drill(ctx: UiContext, identifier: str | None, sql: str | None, wait: str | None) -> Drill:
    """The drill-down the URL selects (a digest before a wait event); hidden when none."""
    if not (sql or wait):
        return Drill(False)
    if ctx.pi is None or not identifier:
        return Drill(True, "Drill-down", status="no instance to show")
    if sql:
        return digest(ctx, ctx.pi, identifier, sql)
    return wait_event(ctx, ctx.pi, identifier, wait or "")


def digest(ctx: UiContext, pi: PiClient, identifier: str, digest_id: str) -> Drill:
    """A digest's waits over time (GetResourceMetrics filtered on its id, by wait event), its
    per-call figures over time and its full text (GetDimensionKeyDetails)."""
    start, end = ctx.bounds()
    x_range = TimeRange(start, end, "").x_range()
    title = f"SQL digest {digest_id}"
    try:
        text = pi.statement(identifier, digest_id)
    except DataUnavailable as exc:
        text, status = "", str(exc)
    else:
        status = ""
    try:
        waits = pi.load_by(
            identifier, "db.wait_event", WAIT_EVENT, start, end, filter_by={SQL_ID: digest_id}
        )
        vcpus = pi.max_vcpu(identifier, start, end)
        stats = pi.sql_stats_over_time(identifier, digest_id, start, end)
    except DataUnavailable as exc:
        reason = str(exc)
        return Drill(
            True,
            title,
            text,
            pi_figures.db_load_figure(
                [], None, title="Its waits", unavailable=reason, x_range=x_range
            ),
            pi_figures.sql_stats_figure({}, unavailable=reason, x_range=x_range),
            status=reason,
        )
    graph = pi_figures.db_load_figure(
        waits,
        vcpus,
        title="Its DB load by wait event (average active sessions)",
        x_range=x_range,
        revision=ctx.range_key,
    )
    figure = pi_figures.sql_stats_figure(stats, x_range=x_range, revision=ctx.range_key)
    return Drill(True, title, text, graph, figure, status=status)


def wait_event(ctx: UiContext, pi: PiClient, identifier: str, name: str) -> Drill:
    """Which SQL spends a wait event: its load over time by digest and the digests' table
    (DescribeDimensionKeys filtered on the wait event, grouped by SQL)."""
    start, end = ctx.bounds()
    x_range = TimeRange(start, end, "").x_range()
    title = f"Wait event {name}"
    only = {WAIT_EVENT: name}
    try:
        series = pi.load_by(
            identifier, "db.sql_tokenized", SQL_STATEMENT, start, end, filter_by=only
        )
        spenders = pi.slices(
            identifier, "db.sql_tokenized", SQL_STATEMENT, start, end, filter_by=only
        )
        total = sum(
            s.load
            for s in pi.slices(identifier, "db.wait_event", WAIT_EVENT, start, end, filter_by=only)
        )
    except DataUnavailable as exc:
        reason = str(exc)
        figure = pi_figures.db_load_figure(
            [], None, title="SQL in this wait", unavailable=reason, x_range=x_range
        )
        return Drill(True, title, "", figure, status=reason)
    graph = pi_figures.db_load_figure(
        series,
        None,
        title=f"SQL waiting on {name} (average active sessions)",
        group="db.sql_tokenized",
        x_range=x_range,
        revision=ctx.range_key,
    )
    return Drill(True, title, "", graph, None, pi_figures.top_sql_rows(spenders, total))
