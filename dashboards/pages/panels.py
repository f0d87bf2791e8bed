"""Fetching the series behind a page's panels. A source that does not answer is said so, on
the graph and in the page's status line, never drawn as an empty graph."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from dash import html

from dashboards import figures, palette
from dashboards.context import UiContext
from dashboards.data import DataUnavailable, Series
from dashboards.queries import Panel

UNAVAILABLE_CLASS = "unavailable"


def panel_series(
    ctx: UiContext, panel: Panel, problems: list[str] | None = None
) -> tuple[list[Series], str | None]:
    """Every query of the panel, each series named by its query's legend, and what went wrong
    fetching them (also appended to `problems`, once per distinct reason)."""
    out: list[Series] = []
    unavailable = None
    for expr, legend in panel.dash_queries_for(ctx.matchers):
        try:
            found = ctx.prometheus.query_range(expr, ctx.window_s, ctx.step, ctx.end_s)
        except DataUnavailable as exc:
            found, unavailable = [], str(exc)
            if problems is not None and unavailable not in problems:
                problems.append(unavailable)
        out += [
            Series({"name": figures.legend_name(legend, s.labels)}, s.times, s.values)
            for s in found
        ]
    return out, unavailable


def panel_figure(
    ctx: UiContext,
    panel: Panel,
    series: Sequence[Series],
    unavailable: str | None,
    *,
    markers: Sequence[tuple[float, str]] = (),
    shading: Sequence[tuple[float, float, str]] = (),
    colors: Callable[[str], str | None] | None = None,
    show_legend: bool = True,
) -> Any:
    """The panel's figure over the page's range; `colors` by series name (by default one
    colour per wait type on every page for a panel sliced by wait, else Plotly's)."""
    if colors is None and panel.wait_slices:
        colors = palette.wait_color
    return figures.time_series_figure(
        series,
        title=panel.title,
        unit=panel.unit_label,
        legend="{name}",
        markers=markers,
        stacked=panel.stacked,
        unavailable=unavailable,
        x_range=ctx.x_range,
        revision=ctx.range_key,
        minimum=panel.minimum,
        shading=shading,
        colors=colors,
        show_legend=show_legend,
    )


def panel_figures(
    ctx: UiContext,
    panels: Sequence[Panel],
    markers: Sequence[tuple[float, str]] = (),
    problems: list[str] | None = None,
    shading: Sequence[tuple[float, float, str]] = (),
) -> list[Any]:
    """One figure per panel; a source that did not answer is said on the graph and appended
    to `problems` for the page's status line."""
    return [
        panel_figure(
            ctx, panel, *panel_series(ctx, panel, problems), markers=markers, shading=shading
        )
        for panel in panels
    ]


def failover_markers(ctx: UiContext, problems: list[str] | None = None) -> list[tuple[float, str]]:
    try:
        return figures.failover_markers(ctx.collector.events(ctx.window_s / 60))
    except DataUnavailable as exc:
        if problems is not None:
            problems.append(f"{exc} (no failover markers)")
        return []


def writer_spans(
    ctx: UiContext, expr: str, problems: list[str] | None = None
) -> list[tuple[float, float, str]]:
    """(start, end, "writer: <instance>") for each stretch an instance was the writer, from
    `expr` (1 while the writer); a source that did not answer gives none (said once)."""
    try:
        found = ctx.prometheus.query_range(expr, ctx.window_s, ctx.step, ctx.end_s)
    except DataUnavailable as exc:
        if problems is not None and str(exc) not in problems:
            problems.append(str(exc))
        return []
    return [
        span
        for s in found
        for span in figures.spans_at_one(s, f"writer: {s.labels.get('db_instance', '?')}", ctx.step)
    ]


def status_line(problems: Sequence[str]) -> list[Any]:
    """The page's status line: one red line per data source that did not answer."""
    return [html.Div(problem, className=UNAVAILABLE_CLASS) for problem in problems]
