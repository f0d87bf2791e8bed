"""Fetching the series behind a page's panels; a missing source shows as an empty graph."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dashboards import figures
from dashboards.context import UiContext
from dashboards.data import DataUnavailable
from dashboards.queries import Panel


def panel_figures(
    ctx: UiContext, panels: Sequence[Panel], markers: Sequence[tuple[float, str]] = ()
) -> list[Any]:
    out = []
    for panel in panels:
        try:
            series = ctx.prometheus.query_range(panel.expr, ctx.window_s, ctx.step)
        except DataUnavailable:
            series = []
        out.append(
            figures.time_series_figure(
                series,
                title=panel.title,
                unit=panel.unit_label,
                legend=panel.legend,
                markers=markers,
            )
        )
    return out


def failover_markers(ctx: UiContext) -> list[tuple[float, str]]:
    try:
        return figures.failover_markers(ctx.collector.events(ctx.window_s / 60))
    except DataUnavailable:
        return []
