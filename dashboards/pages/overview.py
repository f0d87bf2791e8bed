"""Cluster overview: topology by AZ (instances, storage segments, endpoints), key numbers per
instance, DB load, firing alerts and the latest events."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dash import Dash, Input, Output, dash_table, dcc, html

from dashboards import events_model, figures, ids, overview_model, queries, rangebar, timerange
from dashboards.context import UiContext
from dashboards.data import DataUnavailable, Series
from dashboards.pages.events import table
from dashboards.pages.panels import panel_figures, status_line

PATH = "/"
TITLE = "Overview"
OVERVIEW_EVENTS = "overview-events"
LATEST_EVENTS = 10
SEGMENT_COLOURS = {"healthy": "#2ca02c", "lagging": "#ff9900", "down": "#d62728"}
ALERT_COLUMNS = ("Alarm", "State", "Severity", "Labels", "Since", "Summary")


def simple_table(component_id: str, columns: Sequence[str], **style: Any) -> Any:
    return dash_table.DataTable(  # type: ignore[attr-defined]
        id=component_id,
        columns=[{"name": c, "id": c} for c in columns],
        data=[],
        style_cell={"textAlign": "left", "fontFamily": "monospace", "fontSize": 12},
        style_data={"whiteSpace": "normal", "height": "auto"},
        style_table={"overflowX": "auto"},
        **style,
    )


def alerts_table(component_id: str) -> Any:
    return simple_table(
        component_id,
        ALERT_COLUMNS,
        style_data_conditional=[
            {"if": {"filter_query": '{State} = "firing"'}, "backgroundColor": "#fde2e1"},
            {"if": {"filter_query": '{State} = "silenced"'}, "color": "#777"},
        ],
    )


def layout(ctx: UiContext) -> Any:
    numbers = ["Instance", *(n.column for n in overview_model.KEY_NUMBERS)]
    return html.Div(
        [
            html.H2("Cluster overview"),
            html.Div(id=ids.OVERVIEW_STATUS),
            html.Div(id=ids.TOPOLOGY, className="topology"),
            html.H3("Endpoints"),
            simple_table(ids.OVERVIEW_ENDPOINTS, ("Endpoint", "Address", "Points to")),
            html.H3("Key numbers (now)"),
            simple_table(ids.OVERVIEW_NUMBERS, numbers),
            html.H3("Firing alerts"),
            alerts_table(ids.OVERVIEW_ALERTS),
            dcc.Graph(id=ids.LOAD_GRAPH),
            html.H3("Latest events"),
            table(OVERVIEW_EVENTS, page_size=LATEST_EVENTS),
        ]
    )


def instance_card(target: dict[str, Any], chosen: str | None = None) -> Any:
    """An instance's card; with an instance filter set, the chosen one is highlighted
    (`chosen`) and the others dimmed (`dimmed`)."""
    state = "up" if target.get("up") else "down"
    tier = target.get("tier")
    tier_text = f" · tier {tier}" if tier is not None else ""
    focus = ""
    if chosen:
        focus = " chosen" if target["db_instance"] == chosen else " dimmed"
    return html.Div(
        [html.B(target["db_instance"]), html.Div(f"{target['role']} · {state}{tier_text}")],
        className=f"card role-{target['role']} state-{state}{focus}",
    )


def segment_card(segment: overview_model.Segment) -> Any:
    state = "down" if segment.health == "down" else "up"
    return html.Div(
        [html.B(segment.id), html.Div(f"storage segment · {segment.health} ({segment.detail})")],
        className=f"card segment segment-{segment.health} state-{state}",
        style={"borderLeftColor": SEGMENT_COLOURS[segment.health], "fontSize": "90%"},
    )


def topology_cards(
    targets: list[dict[str, Any]],
    segments: Sequence[overview_model.Segment] = (),
    chosen: str | None = None,
) -> list[Any]:
    return [
        html.Div(
            [
                html.H4(column.az),
                *(instance_card(t, chosen) for t in column.instances),
                *(segment_card(s) for s in column.segments),
            ],
            className="az-column",
        )
        for column in overview_model.topology(targets, segments)
    ]


class Problems(list[str]):
    """The page's status line: each distinct reason once."""

    def add(self, exc: DataUnavailable, suffix: str = "") -> None:
        text = f"{exc}{suffix}"
        if text not in self:
            self.append(text)


def _query(ctx: UiContext, expr: str, problems: Problems) -> list[Series]:
    try:
        return ctx.prometheus.query(expr)
    except DataUnavailable as exc:
        problems.add(exc)
        return []


def refresh_overview(ctx: UiContext) -> tuple[Any, ...]:
    """Every part of the page. With an instance filter set (`ctx.instance`) the per-instance
    parts (key numbers, DB load, events, alerts) keep the chosen instance's (and the
    cluster's events and alerts); the topology highlights it and still shows every instance,
    segment and endpoint."""
    problems = Problems()
    try:
        targets = ctx.collector.targets()
    except DataUnavailable as exc:
        targets = []
        problems.add(exc)
    azs = sorted({t["az"] for t in targets if t.get("az")})
    segments = overview_model.segments(_query(ctx, overview_model.STANDBYS, problems), azs)
    cards = topology_cards(targets, segments if targets else [], ctx.instance)
    endpoints = overview_model.endpoint_rows(ctx.endpoints, targets) if targets else []
    values = {
        number.column: overview_model.by_instance(_query(ctx, number.expr, problems))
        for number in overview_model.KEY_NUMBERS
    }
    instances = sorted(
        t["db_instance"] for t in targets if not ctx.instance or t["db_instance"] == ctx.instance
    )
    numbers = overview_model.key_number_rows(instances, values)
    # Stacked by wait type in the wait palette, for the chosen instance (or all).
    [load] = panel_figures(ctx, [queries.DB_LOAD_BY_WAIT], problems=problems)
    try:
        every = figures.event_rows(ctx.collector.events(ctx.window_s / 60))
        rows = events_model.for_instance(every, ctx.instance)[:LATEST_EVENTS]
    except DataUnavailable as exc:
        rows = []
        problems.add(exc)
    alerts: list[dict[str, str]] = []
    if ctx.alertmanager is not None:
        try:
            firing = overview_model.alerts_for(ctx.alertmanager.alerts(), ctx.instance)
            alerts = overview_model.alert_rows(firing)
        except DataUnavailable as exc:
            problems.add(exc)
    return cards, endpoints, numbers, alerts, load, rows, status_line(problems)


def register(app: Dash, ctx: UiContext) -> None:
    @app.callback(
        Output(ids.TOPOLOGY, "children"),
        Output(ids.OVERVIEW_ENDPOINTS, "data"),
        Output(ids.OVERVIEW_NUMBERS, "data"),
        Output(ids.OVERVIEW_ALERTS, "data"),
        Output(ids.LOAD_GRAPH, "figure"),
        Output(OVERVIEW_EVENTS, "data"),
        Output(ids.OVERVIEW_STATUS, "children"),
        Input(ids.REFRESH, "n_intervals"),
        Input(ids.TIME_RANGE, "data"),
        Input(ids.INSTANCE_FILTER, "value"),
    )
    def refresh(_: int, shown: dict[str, Any] | None, instance: str | None) -> tuple[Any, ...]:
        return refresh_overview(ctx.showing(timerange.resolve(shown), instance))

    rangebar.register_zoom(app, [ids.LOAD_GRAPH])
