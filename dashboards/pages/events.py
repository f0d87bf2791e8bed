"""RDS-style events, newest first, failovers highlighted."""

from __future__ import annotations

from typing import Any

from dash import Dash, Input, Output, dash_table, dcc, html

from dashboards import figures, ids
from dashboards.context import UiContext
from dashboards.data import DataUnavailable
from dashboards.pages.panels import status_line

PATH = "/events"
TITLE = "Events"

COLUMNS = ["Date", "EventId", "Source", "Categories", "Message"]


def table(component_id: str, page_size: int = 25) -> Any:
    return dash_table.DataTable(  # type: ignore[attr-defined]
        id=component_id,
        columns=[{"name": c, "id": c} for c in COLUMNS],
        data=[],
        page_size=page_size,
        style_cell={"textAlign": "left", "fontFamily": "monospace", "fontSize": 12},
        # Long messages wrap inside the page instead of widening the table.
        style_data={"whiteSpace": "normal", "height": "auto"},
        style_cell_conditional=[{"if": {"column_id": "Message"}, "width": "55%"}],
        style_table={"overflowX": "auto"},
        style_data_conditional=[
            {
                "if": {"filter_query": '{failover} = "yes"'},
                "backgroundColor": "#fde2e1",
                "fontWeight": "bold",
            }
        ],
    )


def layout(ctx: UiContext) -> Any:
    return html.Div(
        [
            html.H2("Events"),
            html.Label("Last minutes: "),
            dcc.Dropdown(
                id=ids.EVENTS_MINUTES,
                options=[{"label": str(m), "value": m} for m in (15, 60, 360, 1440, 20160)],
                value=60,
                clearable=False,
                style={"width": "120px", "display": "inline-block"},
            ),
            html.Div(id=ids.EVENTS_STATUS),
            table(ids.EVENTS_TABLE),
        ]
    )


def rows_for(ctx: UiContext, minutes: float) -> tuple[list[dict[str, Any]], list[Any]]:
    """The table rows and the status line; a bad `minutes` (not a positive number) is shown
    as the default 60."""
    try:
        window = float(minutes)
    except (TypeError, ValueError):
        window = 60.0
    if not window > 0:
        window = 60.0
    try:
        return figures.event_rows(ctx.collector.events(window)), []
    except DataUnavailable as exc:
        return [], status_line([str(exc)])


def register(app: Dash, ctx: UiContext) -> None:
    @app.callback(
        Output(ids.EVENTS_TABLE, "data"),
        Output(ids.EVENTS_STATUS, "children"),
        Input(ids.REFRESH, "n_intervals"),
        Input(ids.EVENTS_MINUTES, "value"),
    )
    def refresh(_: int, minutes: float) -> tuple[list[dict[str, Any]], list[Any]]:
        return rows_for(ctx, minutes)
