"""Fetching the series behind a page's panels; a missing source shows as an empty graph."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dashboards import figures
from dashboards.context import UiContext
from dashboards.data import DataUnavailable, Series
from dashboards.queries import Panel


def panel_series(ctx: UiContext, panel: Panel) -> list[Series]:
    """Every query of the panel, each series named by its query's legend."""
    out = []
    for expr, legend in panel.dash_queries:
        try:
            found = ctx.prometheus.query_range(expr, ctx.window_s, ctx.step)
        except DataUnavailable:
            found = []
        out += [
            Series({"name": figures.legend_name(legend, s.labels)}, s.times, s.values)
            for s in found
        ]
    return out


def panel_figures(
    ctx: UiContext, panels: Sequence[Panel], markers: Sequence[tuple[float, str]] = ()
) -> list[Any]:
    return [
        figures.time_series_figure(
            panel_series(ctx, panel),
            title=panel.title,
            unit=panel.unit_label,
            legend="{name}",
            markers=markers,
            stacked=panel.stacked,
        )
        for panel in panels
    ]


def failover_markers(ctx: UiContext) -> list[tuple[float, str]]:
    try:
        return figures.failover_markers(ctx.collector.events(ctx.window_s / 60))
    except DataUnavailable:
        return []
