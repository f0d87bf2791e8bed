"""Replication lag per reader, with failovers marked."""

from __future__ import annotations

from typing import Any

from dash import Dash, Input, Output, dcc, html

from dashboards import ids, queries
from dashboards.context import UiContext
from dashboards.pages.panels import failover_markers, panel_figures, status_line

PATH = "/replication"
TITLE = "Replication"


def layout(ctx: UiContext) -> Any:
    return html.Div(
        [
            html.H2("Replication lag"),
            html.Div(id=ids.REPLICATION_STATUS),
            dcc.Graph(id=ids.LAG_GRAPH),
            dcc.Graph(id=ids.LAG_BYTES_GRAPH),
        ]
    )


def figures_for(ctx: UiContext) -> tuple[Any, Any, list[Any]]:
    problems: list[str] = []
    markers = failover_markers(ctx, problems)
    lag, lag_bytes = panel_figures(
        ctx, (queries.REPLICA_LAG, queries.REPLICA_LAG_BYTES), markers, problems
    )
    return lag, lag_bytes, status_line(problems)


def register(app: Dash, ctx: UiContext) -> None:
    @app.callback(
        Output(ids.LAG_GRAPH, "figure"),
        Output(ids.LAG_BYTES_GRAPH, "figure"),
        Output(ids.REPLICATION_STATUS, "children"),
        Input(ids.REFRESH, "n_intervals"),
    )
    def refresh(_: int) -> tuple[Any, Any, list[Any]]:
        return figures_for(ctx)
