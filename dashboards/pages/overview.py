"""Cluster overview: instances by AZ with their roles, DB load, the latest events."""

from __future__ import annotations

from typing import Any

from dash import Dash, Input, Output, dcc, html

from dashboards import figures, ids, queries, rangebar, timerange
from dashboards.context import UiContext
from dashboards.data import DataUnavailable
from dashboards.pages.events import table
from dashboards.pages.panels import status_line

PATH = "/"
TITLE = "Overview"
OVERVIEW_EVENTS = "overview-events"


def layout(ctx: UiContext) -> Any:
    return html.Div(
        [
            html.H2("Cluster overview"),
            html.Div(id=ids.OVERVIEW_STATUS),
            html.Div(id=ids.TOPOLOGY, className="topology"),
            dcc.Graph(id=ids.LOAD_GRAPH),
            html.H3("Latest events"),
            table(OVERVIEW_EVENTS, page_size=8),
        ]
    )


def topology_cards(targets: list[dict[str, Any]]) -> list[Any]:
    by_az: dict[str, list[dict[str, Any]]] = {}
    for target in targets:
        by_az.setdefault(target["az"] or "-", []).append(target)
    columns = []
    for az in sorted(by_az):
        cards = []
        for t in sorted(by_az[az], key=lambda t: (t["role"] != "writer", t["db_instance"])):
            state = "up" if t["up"] else "down"
            cards.append(
                html.Div(
                    [html.B(t["db_instance"]), html.Div(f"{t['role']} · {state}")],
                    className=f"card role-{t['role']} state-{state}",
                )
            )
        columns.append(html.Div([html.H4(az), *cards], className="az-column"))
    return columns


def refresh_overview(ctx: UiContext) -> tuple[Any, Any, Any, list[Any]]:
    problems: list[str] = []
    try:
        cards = topology_cards(ctx.collector.targets())
    except DataUnavailable as exc:
        cards, problems = [], [str(exc)]
    panel = queries.DB_LOAD_BY_WAIT
    unavailable = None
    try:
        series = ctx.prometheus.query_range(panel.expr, ctx.window_s, ctx.step, ctx.end_s)
    except DataUnavailable as exc:
        series, unavailable = [], str(exc)
        problems.append(unavailable)
    # Stacked: the areas add up to the total DB load, as PI draws it.
    load = figures.time_series_figure(
        series,
        title=panel.title,
        unit=panel.unit_label,
        legend=panel.legend,
        stacked=True,
        unavailable=unavailable,
        x_range=ctx.x_range,
        revision=ctx.range_key,
    )
    try:
        rows = figures.event_rows(ctx.collector.events(ctx.window_s / 60))[:8]
    except DataUnavailable as exc:
        rows = []
        if str(exc) not in problems:
            problems.append(str(exc))
    return cards, load, rows, status_line(problems)


def register(app: Dash, ctx: UiContext) -> None:
    @app.callback(
        Output(ids.TOPOLOGY, "children"),
        Output(ids.LOAD_GRAPH, "figure"),
        Output(OVERVIEW_EVENTS, "data"),
        Output(ids.OVERVIEW_STATUS, "children"),
        Input(ids.REFRESH, "n_intervals"),
        Input(ids.TIME_RANGE, "data"),
    )
    def refresh(_: int, shown: dict[str, Any] | None) -> tuple[Any, Any, Any, list[Any]]:
        return refresh_overview(ctx.showing(timerange.resolve(shown)))

    rangebar.register_zoom(app, [ids.LOAD_GRAPH])
