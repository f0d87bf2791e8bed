"""Replication lag per reader, with failovers marked."""

from __future__ import annotations

from typing import Any

from dash import Dash, Input, Output, dcc, html

from dashboards import figures, ids, queries
from dashboards.context import UiContext
from dashboards.data import DataUnavailable

PATH = "/replication"
TITLE = "Replication"


def layout(ctx: UiContext) -> Any:
    return html.Div(
        [
            html.H2("Replication lag"),
            dcc.Graph(id=ids.LAG_GRAPH),
            dcc.Graph(id=ids.LAG_BYTES_GRAPH),
        ]
    )


def figures_for(ctx: UiContext) -> tuple[Any, Any]:
    try:
        events = ctx.collector.events(ctx.window_s / 60)
    except DataUnavailable:
        events = []
    markers = figures.failover_markers(events)
    out = []
    for panel in (queries.REPLICA_LAG, queries.REPLICA_LAG_BYTES):
        try:
            series = ctx.prometheus.query_range(panel.expr, ctx.window_s, ctx.step)
        except DataUnavailable:
            series = []
        out.append(
            figures.time_series_figure(
                series, title=panel.title, unit=panel.unit, legend=panel.legend, markers=markers
            )
        )
    return out[0], out[1]


def register(app: Dash, ctx: UiContext) -> None:
    @app.callback(
        Output(ids.LAG_GRAPH, "figure"),
        Output(ids.LAG_BYTES_GRAPH, "figure"),
        Input(ids.REFRESH, "n_intervals"),
    )
    def refresh(_: int) -> tuple[Any, Any]:
        return figures_for(ctx)
