"""The PI page's components."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dash import dash_table, dcc, html

from dashboards import ids, pi_figures
from dashboards.context import UiContext
from dashboards.data import DataUnavailable
from dashboards.pages.performance_insights.state import COMPARE_CHOICES, DEFAULT_GROUP
from dashboards.pages.performance_insights.view import DIMENSIONS

HIDDEN = {"display": "none"}
ROW = {"display": "flex", "gap": "12px", "alignItems": "center", "flexWrap": "wrap"}


def instance_options(ctx: UiContext) -> list[dict[str, str]]:
    try:
        targets = ctx.collector.targets()
    except DataUnavailable:
        return []
    ordered = sorted(targets, key=lambda t: (t["role"] != "writer", t["db_instance"]))
    return [
        {
            "label": f"{t['db_instance']} ({t['role']})",
            "value": t["resource_id"] or t["db_instance"],
        }
        for t in ordered
    ]


def table(table_id: str, columns: Sequence[str], **style: Any) -> Any:
    """A clickable table (a click selects a row's `id` for a drill-down)."""
    return dash_table.DataTable(  # type: ignore[attr-defined]
        id=table_id,
        columns=[{"name": c, "id": c} for c in columns],
        data=[],
        page_size=15,
        style_cell={"textAlign": "left", "fontFamily": "monospace", "fontSize": 12},
        style_data={"whiteSpace": "normal", "height": "auto", "cursor": "pointer"},
        style_table=style,
    )


def layout(ctx: UiContext) -> Any:
    return html.Div(
        [
            dcc.Location(id=ids.PI_URL, refresh=False),
            html.H2("Performance Insights"),
            html.Div(
                [
                    html.Span(id=ids.PI_INSTANCE),
                    dcc.Dropdown(
                        id=ids.PI_DIMENSION,
                        options=[
                            {"label": f"Slice by {label}", "value": group}
                            for label, group, _ in DIMENSIONS
                        ],
                        value=DEFAULT_GROUP,
                        clearable=False,
                        style={"width": "260px"},
                    ),
                ],
                style=ROW,
            ),
            html.Div(id=ids.PI_STATUS, className="unavailable"),
            dcc.Graph(id=ids.PI_LOAD_GRAPH),
            html.Div(
                [
                    html.Div(
                        [
                            html.H3("Top SQL (click one to drill in)"),
                            table(ids.PI_TOP_SQL, pi_figures.TOP_SQL_COLUMNS),
                        ],
                        style={"flex": "3"},
                    ),
                    html.Div(
                        [
                            html.H3("Top waits (click one: which SQL)"),
                            table(ids.PI_TOP_WAITS, ("Wait event", "Load (AAS)", "Load share")),
                        ],
                        style={"flex": "1"},
                    ),
                ],
                style={"display": "flex", "gap": "16px"},
            ),
            html.Div(
                [
                    html.Div(
                        [
                            html.H3(id=ids.PI_DRILL_TITLE, style={"margin": "0"}),
                            html.Button("Close", id=ids.PI_DRILL_CLOSE, n_clicks=0),
                        ],
                        style=ROW,
                    ),
                    html.Div(id=ids.PI_DRILL_STATUS, className="unavailable"),
                    html.Pre(id=ids.PI_DRILL_TEXT, style={"whiteSpace": "pre-wrap"}),
                    dcc.Graph(id=ids.PI_DRILL_GRAPH),
                    dcc.Graph(id=ids.PI_DRILL_STATS),
                    table(ids.PI_DRILL_TABLE, pi_figures.TOP_SQL_COLUMNS),
                ],
                id=ids.PI_DRILL,
                style=HIDDEN,
            ),
            html.H3("Compare two periods (A: the range above)"),
            html.Div(
                [
                    dcc.Dropdown(
                        id=ids.PI_COMPARE,
                        options=[{"label": label, "value": v} for v, label, _ in COMPARE_CHOICES],
                        value="off",
                        clearable=False,
                        style={"width": "300px"},
                    ),
                    dcc.Input(
                        id=ids.PI_COMPARE_FROM, type="text", placeholder="B from YYYY-MM-DD HH:MM"
                    ),
                    dcc.Input(
                        id=ids.PI_COMPARE_TO, type="text", placeholder="B to YYYY-MM-DD HH:MM"
                    ),
                ],
                style=ROW,
            ),
            html.Div(id=ids.PI_COMPARE_STATUS, className="unavailable"),
            html.Div(
                [
                    html.Div(
                        [dcc.Graph(id=ids.PI_COMPARE_A), dcc.Graph(id=ids.PI_COMPARE_B)],
                        style={"display": "grid", "gridTemplateColumns": "1fr 1fr"},
                    ),
                    html.H3("Top movers (largest change in average active sessions)"),
                    table(ids.PI_MOVERS, pi_figures.MOVER_COLUMNS),
                ],
                id=ids.PI_COMPARE_AREA,
                style=HIDDEN,
            ),
        ]
    )
