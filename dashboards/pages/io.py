"""I/O per instance: ReadIOPS and WriteIOPS."""

from __future__ import annotations

from typing import Any

from dash import Dash, Input, Output, dcc, html

from dashboards import ids, queries
from dashboards.context import UiContext
from dashboards.pages.panels import panel_figures, status_line

PATH = "/io"
TITLE = "I/O"


def layout(ctx: UiContext) -> Any:
    return html.Div(
        [
            html.H2("I/O per instance"),
            html.Div(id=ids.IO_STATUS),
            dcc.Graph(id=ids.READ_IOPS_GRAPH),
            dcc.Graph(id=ids.WRITE_IOPS_GRAPH),
        ]
    )


def figures_for(ctx: UiContext) -> tuple[Any, Any, list[Any]]:
    problems: list[str] = []
    read, write = panel_figures(ctx, (queries.READ_IOPS, queries.WRITE_IOPS), problems=problems)
    return read, write, status_line(problems)


def register(app: Dash, ctx: UiContext) -> None:
    @app.callback(
        Output(ids.READ_IOPS_GRAPH, "figure"),
        Output(ids.WRITE_IOPS_GRAPH, "figure"),
        Output(ids.IO_STATUS, "children"),
        Input(ids.REFRESH, "n_intervals"),
    )
    def refresh(_: int) -> tuple[Any, Any, list[Any]]:
        return figures_for(ctx)
