"""I/O per instance: ReadIOPS and WriteIOPS."""

from __future__ import annotations

from typing import Any

from dash import Dash, Input, Output, dcc, html

from dashboards import figures, ids, queries
from dashboards.context import UiContext
from dashboards.data import DataUnavailable

PATH = "/io"
TITLE = "I/O"


def layout(ctx: UiContext) -> Any:
    return html.Div(
        [
            html.H2("I/O per instance"),
            dcc.Graph(id=ids.READ_IOPS_GRAPH),
            dcc.Graph(id=ids.WRITE_IOPS_GRAPH),
        ]
    )


def figures_for(ctx: UiContext) -> tuple[Any, Any]:
    out = []
    for panel in (queries.READ_IOPS, queries.WRITE_IOPS):
        try:
            series = ctx.prometheus.query_range(panel.expr, ctx.window_s, ctx.step)
        except DataUnavailable:
            series = []
        out.append(
            figures.time_series_figure(
                series, title=panel.title, unit=panel.unit, legend=panel.legend
            )
        )
    return out[0], out[1]


def register(app: Dash, ctx: UiContext) -> None:
    @app.callback(
        Output(ids.READ_IOPS_GRAPH, "figure"),
        Output(ids.WRITE_IOPS_GRAPH, "figure"),
        Input(ids.REFRESH, "n_intervals"),
    )
    def refresh(_: int) -> tuple[Any, Any]:
        return figures_for(ctx)
