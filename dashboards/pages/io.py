"""I/O per instance: IOPS, throughput and latency, and the cluster volume's I/O."""

from __future__ import annotations

from typing import Any

from dash import Dash, Input, Output, dcc, html

from dashboards import ids, rangebar, timerange
from dashboards.context import UiContext
from dashboards.pages.panels import panel_figures, status_line, writer_spans
from dashboards.queries import cluster as queries

PATH = "/io"
TITLE = "I/O"


GRAPHS = (
    (ids.READ_IOPS_GRAPH, queries.READ_IOPS),
    (ids.WRITE_IOPS_GRAPH, queries.WRITE_IOPS),
    (ids.READ_THROUGHPUT_GRAPH, queries.READ_THROUGHPUT),
    (ids.WRITE_THROUGHPUT_GRAPH, queries.WRITE_THROUGHPUT),
    (ids.READ_LATENCY_GRAPH, queries.READ_LATENCY),
    (ids.WRITE_LATENCY_GRAPH, queries.WRITE_LATENCY),
    (ids.VOLUME_IOPS_GRAPH, queries.VOLUME_IOPS),
    (ids.DISK_QUEUE_GRAPH, queries.DISK_QUEUE),
)


def layout(ctx: UiContext) -> Any:
    return html.Div(
        [
            html.H2("I/O per instance"),
            html.Div(id=ids.IO_STATUS),
            *(dcc.Graph(id=graph_id) for graph_id, _ in GRAPHS),
        ]
    )


def figures_for(ctx: UiContext) -> tuple[Any, ...]:
    """Every graph's figure, then the status line (what did not answer)."""
    problems: list[str] = []
    # One series per instance across failovers; the writer's stretches are shaded.
    shading = writer_spans(ctx, queries.WRITER_SPANS, problems)
    graphs = panel_figures(ctx, [panel for _, panel in GRAPHS], (), problems, shading)
    return (*graphs, status_line(problems))


def register(app: Dash, ctx: UiContext) -> None:
    @app.callback(
        *(Output(graph_id, "figure") for graph_id, _ in GRAPHS),
        Output(ids.IO_STATUS, "children"),
        Input(ids.REFRESH, "n_intervals"),
        Input(ids.TIME_RANGE, "data"),
        Input(ids.INSTANCE_FILTER, "value"),
    )
    def refresh(_: int, shown: dict[str, Any] | None, instance: str | None) -> tuple[Any, ...]:
        return figures_for(ctx.showing(timerange.resolve(shown), instance))

    rangebar.register_zoom(app, [graph_id for graph_id, _ in GRAPHS])
