"""I/O per instance: IOPS, throughput and latency, and the cluster volume's I/O.

Seven graphs have a series per instance: they share one legend above them, with one colour per
instance on every graph (a legend under each graph repeated the same 16 names eight times, and
Plotly's ten default colours gave two instances one colour)."""

from __future__ import annotations

from typing import Any

from dash import Dash, Input, Output, dcc, html

from dashboards import ids, palette, rangebar, timerange
from dashboards.context import UiContext
from dashboards.pages.panels import panel_figure, panel_series, status_line, writer_spans
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
# The cluster volume's graph names its own series (reads, writes): it keeps its legend.
OWN_LEGEND = {ids.VOLUME_IOPS_GRAPH}
LEGEND_CLASS = "shared-legend"


def layout(ctx: UiContext) -> Any:
    return html.Div(
        [
            html.H2("I/O per instance"),
            html.Div(id=ids.IO_STATUS),
            html.Div(id=ids.IO_LEGEND, className=LEGEND_CLASS),
            html.Div(
                [dcc.Graph(id=graph_id) for graph_id, _ in GRAPHS],
                className="graph-grid",
            ),
        ]
    )


def figures_for(ctx: UiContext) -> tuple[Any, ...]:
    """Every graph's figure, then the status line (what did not answer)."""
    problems: list[str] = []
    # One series per instance across failovers; the writer's stretches are shaded.
    shading = writer_spans(ctx, queries.WRITER_SPANS, problems)
    fetched = [(graph_id, panel, *panel_series(ctx, panel, problems)) for graph_id, panel in GRAPHS]
    colors = palette.instance_colors(
        s.labels["name"]
        for graph_id, _, series, _ in fetched
        if graph_id not in OWN_LEGEND
        for s in series
    )
    graphs = [
        panel_figure(
            ctx,
            panel,
            series,
            unavailable,
            shading=shading,
            colors=None if graph_id in OWN_LEGEND else colors.get,
            show_legend=graph_id in OWN_LEGEND,
        )
        for graph_id, panel, series, unavailable in fetched
    ]
    return (*graphs, status_line(problems))


def shared_legend(graphs: tuple[Any, ...]) -> list[Any]:
    """One entry per instance drawn on the graphs that share the legend: its colour, its name."""
    seen: dict[str, str] = {}
    for (graph_id, _), figure in zip(GRAPHS, graphs, strict=False):
        if graph_id in OWN_LEGEND:
            continue
        for trace in figure.data:
            seen.setdefault(trace.name, trace.line.color)
    return [
        html.Span(
            [html.Span(className="swatch", style={"background": color}), name],
            className="legend-item",
        )
        for name, color in sorted(seen.items())
    ]


def register(app: Dash, ctx: UiContext) -> None:
    @app.callback(
        *(Output(graph_id, "figure") for graph_id, _ in GRAPHS),
        Output(ids.IO_STATUS, "children"),
        Output(ids.IO_LEGEND, "children"),
        Input(ids.REFRESH, "n_intervals"),
        Input(ids.TIME_RANGE, "data"),
        Input(ids.INSTANCE_FILTER, "value"),
    )
    def refresh(_: int, shown: dict[str, Any] | None, instance: str | None) -> tuple[Any, ...]:
        *graphs, status = figures_for(ctx.showing(timerange.resolve(shown), instance))
        return (*graphs, status, shared_legend(tuple(graphs)))

    rangebar.register_zoom(app, [graph_id for graph_id, _ in GRAPHS])
