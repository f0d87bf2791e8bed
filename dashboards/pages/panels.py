"""Fetching the series behind a page's panels. A source that does not answer is said so, on
the graph and in the page's status line, never drawn as an empty graph."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dash import html

from dashboards import figures
from dashboards.context import UiContext
from dashboards.data import DataUnavailable
from dashboards.queries import Panel

UNAVAILABLE_CLASS = "unavailable"


def panel_figures(
    ctx: UiContext,
    panels: Sequence[Panel],
    markers: Sequence[tuple[float, str]] = (),
    problems: list[str] | None = None,
) -> list[Any]:
    """One figure per panel; what went wrong fetching them is appended to `problems`."""
    out = []
    for panel in panels:
        unavailable = None
        try:
            series = ctx.prometheus.query_range(panel.expr, ctx.window_s, ctx.step)
        except DataUnavailable as exc:
            series, unavailable = [], str(exc)
            if problems is not None and unavailable not in problems:
                problems.append(unavailable)
        out.append(
            figures.time_series_figure(
                series,
                title=panel.title,
                unit=panel.unit,
                legend=panel.legend,
                markers=markers,
                unavailable=unavailable,
            )
        )
    return out


def failover_markers(ctx: UiContext, problems: list[str] | None = None) -> list[tuple[float, str]]:
    try:
        return figures.failover_markers(ctx.collector.events(ctx.window_s / 60))
    except DataUnavailable as exc:
        if problems is not None:
            problems.append(f"{exc} (no failover markers)")
        return []


def status_line(problems: Sequence[str]) -> list[Any]:
    """The page's status line: one red line per data source that did not answer."""
    return [html.Div(problem, className=UNAVAILABLE_CLASS) for problem in problems]
