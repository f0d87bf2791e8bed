"""The PI page's main view over the shared range: DB load stacked by a chosen dimension with
the Max vCPU line, the top SQL (load share, per-call statistics) and the top waits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dashboards import pi_figures
from dashboards.context import UiContext
from dashboards.data import DataUnavailable
from dashboards.pi_data import SQL_STATEMENT, WAIT_EVENT
from dashboards.timerange import TimeRange

# Slice by (label, PI dimension group, the dimension that names a slice).
DIMENSIONS = (
    ("Waits", "db.wait_event", WAIT_EVENT),
    ("Wait types", "db.wait_event_type", "db.wait_event_type.name"),
    ("SQL", "db.sql_tokenized", SQL_STATEMENT),
    ("Users", "db.user", "db.user.name"),
    ("Hosts", "db.host", "db.host.name"),
    ("Databases", "db", "db.name"),
    ("Applications", "db.application", "db.application.name"),
    ("Session types", "db.session_type", "db.session_type.name"),
)


TOP_WAITS = 25  # the most DescribeDimensionKeys gives


@dataclass(frozen=True)
class MainView:
    figure: Any
    top_sql: list[dict[str, Any]] = field(default_factory=list)
    top_waits: list[dict[str, Any]] = field(default_factory=list)
    status: str = ""


def dimension_of(group: str) -> tuple[str, str] | None:
    """(label, naming dimension) of a PI dimension group; None for one PI does not slice by."""
    return next(((label, d) for label, g, d in DIMENSIONS if g == group), None)


def unknown_dimension(group: str) -> str:
    known = ", ".join(g for _, g, _ in DIMENSIONS)
    return f"unknown dimension {group!r} (one of {known})"


def no_instance(ctx: UiContext) -> str:
    """Why there is no instance to show: none watched, or the collector did not answer."""
    try:
        return "no instance to show" if ctx.collector.targets() else "no instance watched"
    except DataUnavailable as exc:
        return f"no instance to show: {exc}"


def pi_target(ctx: UiContext, db_instance: str | None) -> tuple[str | None, str]:
    """The PI identifier (DbiResourceId) of the filtered instance, or of the writer when the
    filter shows every instance, and a line saying which it is; (None, why) when none."""
    try:
        targets = ctx.collector.targets()
    except DataUnavailable:
        return None, ""
    ordered = sorted(targets, key=lambda t: (t["role"] != "writer", t["db_instance"]))
    for target in ordered:
        if not db_instance or target["db_instance"] == db_instance:
            identifier = target["resource_id"] or target["db_instance"]
            return identifier, f"Instance {target['db_instance']} ({target['role']})"
    return None, f"no instance {db_instance!r} watched"


def main_view(ctx: UiContext, identifier: str | None, group: str) -> MainView:
    """The load graph, the top SQL and waits, and the status line for one instance and
    dimension over the context's range; a bad dimension or a source that does not answer is
    said in the status line (and on the graph), never raised."""
    found = dimension_of(group)
    if found is None:
        message = unknown_dimension(group)
        return MainView(pi_figures.db_load_figure([], None, title="DB load"), status=message)
    label, dimension = found
    title = f"DB load by {label.lower()} (average active sessions)"

    def unavailable(reason: str) -> MainView:
        figure = pi_figures.db_load_figure(
            [], None, title=title, unavailable=reason, x_range=ctx.x_range
        )
        return MainView(figure, status=reason)

    if ctx.pi is None or not identifier:
        return unavailable(no_instance(ctx))
    start, end = ctx.bounds()
    try:
        series = ctx.pi.load_by(identifier, group, dimension, start, end)
        vcpus = ctx.pi.max_vcpu(identifier, start, end)
        # SQL before waits: a range ending now gains samples between two calls, and the
        # total asked later holds every sample the SQL slices saw (no share over 100 %).
        sql = ctx.pi.slices(identifier, "db.sql_tokenized", SQL_STATEMENT, start, end)
        waits = ctx.pi.slices(identifier, "db.wait_event", WAIT_EVENT, start, end, limit=TOP_WAITS)
        # Every active session is in one wait: all the waits add up to the DB load (asked
        # by wait type when the top waits may leave some out).
        total = sum(s.load for s in waits)
        if len(waits) >= TOP_WAITS:
            total = ctx.pi.total_load(identifier, start, end)
    except DataUnavailable as exc:
        return unavailable(str(exc))
    figure = pi_figures.db_load_figure(
        series,
        vcpus,
        title=title,
        group=group,
        x_range=TimeRange(start, end, "").x_range(),
        revision=ctx.range_key,
    )
    return MainView(figure, pi_figures.top_sql_rows(sql, total), pi_figures.wait_rows(waits, total))


def refresh_pi(
    ctx: UiContext, identifier: str | None, group: str
) -> tuple[Any, list[dict[str, Any]], str]:
    """The load graph, the top SQL rows and the status line (the main view in short)."""
    view = main_view(ctx, identifier, group)
    return view.figure, view.top_sql, view.status
