"""Replication lag per reader, shipping vs applying, with failovers marked."""

from __future__ import annotations

from typing import Any

from dash import Dash, Input, Output, dcc, html

from dashboards import ids, rangebar, timerange
from dashboards.context import UiContext
from dashboards.pages.panels import failover_markers, panel_figures, status_line
from dashboards.queries import cluster as queries

PATH = "/replication"
TITLE = "Replication"


GRAPHS = (
    (ids.LAG_GRAPH, queries.REPLICA_LAG),
    (ids.LAG_BYTES_GRAPH, queries.REPLICA_LAG_BYTES),
    (ids.STAGE_LAG_GRAPH, queries.STAGE_LAG),
    (ids.STAGE_LAG_BYTES_GRAPH, queries.STAGE_LAG_BYTES),
)


def layout(ctx: UiContext) -> Any:
    return html.Div(
        [
            html.H2("Replication lag"),
            html.Div(id=ids.REPLICATION_STATUS),
            *(dcc.Graph(id=graph_id) for graph_id, _ in GRAPHS),
        ]
    )


def figures_for(ctx: UiContext) -> tuple[Any, ...]:
    """Every graph's figure, then the status line (what did not answer)."""
    problems: list[str] = []
    markers = failover_markers(ctx, problems)
    graphs = panel_figures(ctx, [panel for _, panel in GRAPHS], markers, problems)
    return (*graphs, status_line(problems))


def register(app: Dash, ctx: UiContext) -> None:
    @app.callback(
        *(Output(graph_id, "figure") for graph_id, _ in GRAPHS),
        Output(ids.REPLICATION_STATUS, "children"),
        Input(ids.REFRESH, "n_intervals"),
        Input(ids.TIME_RANGE, "data"),
        Input(ids.INSTANCE_FILTER, "value"),
    )
    def refresh(_: int, shown: dict[str, Any] | None, instance: str | None) -> tuple[Any, ...]:
        return figures_for(ctx.showing(timerange.resolve(shown), instance))

    rangebar.register_zoom(app, [graph_id for graph_id, _ in GRAPHS])
