"""Performance Insights: DB load stacked by a chosen dimension with the Max vCPU line, and the
top SQL with its pg_stat_statements figures, read from the collector's PI API."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from dash import Dash, Input, Output, dash_table, dcc, html

from dashboards import figures, ids, timerange
from dashboards.context import UiContext
from dashboards.data import DataUnavailable

PATH = "/performance-insights"
TITLE = "Performance Insights"

# Slice by (label, PI dimension group, the dimension that names a slice).
DIMENSIONS = (
    ("Waits", "db.wait_event", "db.wait_event.name"),
    ("Wait types", "db.wait_event_type", "db.wait_event_type.name"),
    ("SQL", "db.sql_tokenized", "db.sql_tokenized.statement"),
    ("Users", "db.user", "db.user.name"),
    ("Hosts", "db.host", "db.host.name"),
    ("Databases", "db", "db.name"),
    ("Applications", "db.application", "db.application.name"),
    ("Session types", "db.session_type", "db.session_type.name"),
)
COLUMNS = (
    "Statement",
    "Load (AAS)",
    "Calls/s",
    "ms/call",
    "Rows/call",
    "Blocks hit/call",
    "Blocks read/call",
)


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


def layout(ctx: UiContext) -> Any:
    options = instance_options(ctx)
    return html.Div(
        [
            html.H2("Performance Insights"),
            html.Div(
                [
                    dcc.Dropdown(
                        id=ids.PI_INSTANCE,
                        options=options,
                        value=options[0]["value"] if options else None,
                        clearable=False,
                        style={"width": "360px"},
                    ),
                    dcc.Dropdown(
                        id=ids.PI_DIMENSION,
                        options=[
                            {"label": f"Slice by {label}", "value": group}
                            for label, group, _ in DIMENSIONS
                        ],
                        value="db.wait_event",
                        clearable=False,
                        style={"width": "260px"},
                    ),
                ],
                style={"display": "flex", "gap": "12px"},
            ),
            html.Div(id=ids.PI_STATUS, className="unavailable"),
            dcc.Graph(id=ids.PI_LOAD_GRAPH),
            html.H3("Top SQL"),
            dash_table.DataTable(  # type: ignore[attr-defined]
                id=ids.PI_TOP_SQL,
                columns=[{"name": c, "id": c} for c in COLUMNS],
                data=[],
                page_size=25,
                style_cell={"textAlign": "left", "fontFamily": "monospace", "fontSize": 12},
                style_data={"whiteSpace": "normal", "height": "auto"},
            ),
        ]
    )


def refresh_pi(
    ctx: UiContext, identifier: str | None, group: str
) -> tuple[Any, list[dict[str, Any]], str]:
    """The load graph, the top SQL rows and the status line for one instance and dimension;
    an unknown dimension is refused in the status line, not raised."""
    found = next(((lb, d) for lb, g, d in DIMENSIONS if g == group), None)
    if found is None:
        known = ", ".join(g for _, g, _ in DIMENSIONS)
        message = f"unknown dimension {group!r} (one of {known})"
        return figures.db_load_figure([], None, title="DB load"), [], message
    label, dimension = found
    title = f"DB load by {label.lower()} (average active sessions)"
    if ctx.pi is None or not identifier:
        try:
            reason = "no instance to show" if ctx.collector.targets() else "no instance watched"
        except DataUnavailable as exc:
            reason = f"no instance to show: {exc}"
        return figures.db_load_figure([], None, title=title, unavailable=reason), [], reason
    try:
        series = ctx.pi.load_by(identifier, group, dimension, ctx.window_s)
        vcpus = ctx.pi.max_vcpu(identifier, ctx.window_s)
        rows = figures.top_sql_rows(ctx.pi.top_sql(identifier, ctx.window_s))
    except DataUnavailable as exc:
        return figures.db_load_figure([], None, title=title, unavailable=str(exc)), [], str(exc)
    return figures.db_load_figure(series, vcpus, title=title), rows, ""


def register(app: Dash, ctx: UiContext) -> None:
    @app.callback(
        Output(ids.PI_LOAD_GRAPH, "figure"),
        Output(ids.PI_TOP_SQL, "data"),
        Output(ids.PI_STATUS, "children"),
        Input(ids.REFRESH, "n_intervals"),
        Input(ids.PI_INSTANCE, "value"),
        Input(ids.PI_DIMENSION, "value"),
        Input(ids.TIME_RANGE, "data"),
    )
    def refresh(
        _: int, identifier: str | None, group: str, shown: dict[str, Any] | None
    ) -> tuple[Any, Any, str]:
        # PI reads the last `window_s` (its API calls end now): the picked window's length.
        window = timerange.resolve(shown).seconds
        return refresh_pi(replace(ctx, window_s=window), identifier, group or "db.wait_event")
