"""RDS-style events, newest first, failovers highlighted: filtered by source type, category,
event ID, text and the shared time range; and a failover timeline (roles over time)."""

from __future__ import annotations

import time
from typing import Any

from dash import Dash, Input, Output, dash_table, dcc, html

from dashboards import events_model, figures, ids, rangebar, timerange
from dashboards.context import UiContext
from dashboards.data import DataUnavailable
from dashboards.pages.panels import status_line

PATH = "/events"
TITLE = "Events"

COLUMNS = ["Date", "EventId", "Type", "Source", "Categories", "Message"]
FILTERS = (  # dropdown id, the column it filters, its label
    (ids.EVENTS_TYPE, "Type", "Source type"),
    (ids.EVENTS_CATEGORY, "Categories", "Category"),
    (ids.EVENTS_ID, "EventId", "Event ID"),
)


def table(component_id: str, page_size: int = 25) -> Any:
    return dash_table.DataTable(  # type: ignore[attr-defined]
        id=component_id,
        columns=[{"name": c, "id": c} for c in COLUMNS],
        data=[],
        page_size=page_size,
        style_cell={"textAlign": "left", "fontFamily": "monospace", "fontSize": 12},
        # Long messages wrap inside the page instead of widening the table.
        style_data={"whiteSpace": "normal", "height": "auto"},
        style_cell_conditional=[{"if": {"column_id": "Message"}, "width": "50%"}],
        style_table={"overflowX": "auto"},
        style_data_conditional=[
            {
                "if": {"filter_query": '{failover} = "yes"'},
                "backgroundColor": "#fde2e1",
                "fontWeight": "bold",
            }
        ],
    )


def _dropdown(component_id: str, label: str) -> Any:
    return html.Div(
        [
            html.Label(label),
            dcc.Dropdown(
                id=component_id,
                options=[{"label": "(any)", "value": events_model.ALL}],
                value=events_model.ALL,
                clearable=False,
                persistence=True,
                persistence_type="session",
            ),
        ],
        style={"width": "220px"},
    )


def layout(ctx: UiContext) -> Any:
    return html.Div(
        [
            html.H2("Events"),
            html.Div(id=ids.EVENTS_STATUS),
            dcc.Graph(id=ids.EVENTS_TIMELINE),
            html.Div(
                [
                    *(_dropdown(component_id, label) for component_id, _, label in FILTERS),
                    html.Div(
                        [
                            html.Label("Text"),
                            dcc.Input(
                                id=ids.EVENTS_SEARCH,
                                type="text",
                                placeholder="source or message contains",
                                debounce=True,
                                style={"display": "block", "height": "30px", "width": "260px"},
                            ),
                        ]
                    ),
                ],
                style={"display": "flex", "gap": "12px", "margin": "8px 0"},
            ),
            html.Div(id=ids.EVENTS_COUNT),
            table(ids.EVENTS_TABLE),
        ]
    )


def rows_for(
    ctx: UiContext, filters: dict[str, str | None]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """Every event of the shown range for the instance filter (the chosen instance's and the
    cluster's; for the dropdowns' choices), those the filters keep, and what went wrong."""
    end = ctx.end_s
    start = None if end is None else end - ctx.window_s
    # The collector answers "the last N minutes": enough to reach back to the range's start.
    minutes = ctx.window_s / 60 if end is None else (time.time() - (start or 0)) / 60
    try:
        every = figures.event_rows(ctx.collector.events(max(minutes, 1.0)))
    except DataUnavailable as exc:
        return [], [], [str(exc)]
    every = events_model.for_instance(
        events_model.filter_rows(every, start=start, end=end), ctx.instance
    )
    kept = events_model.filter_rows(
        every,
        source_type=filters.get("source_type"),
        category=filters.get("category"),
        event_id=filters.get("event_id"),
        text=filters.get("text"),
    )
    return every, kept, []


def timeline(ctx: UiContext, every: list[dict[str, Any]], problems: list[str]) -> Any:
    unavailable = None
    try:
        series = ctx.prometheus.query_range(
            events_model.writer_by_instance(ctx.matchers), ctx.window_s, ctx.step, ctx.end_s
        )
    except DataUnavailable as exc:
        series, unavailable = [], str(exc)
        problems.append(unavailable)
    markers = events_model.markers(
        [
            {"EventId": r["EventId"], "SourceIdentifier": r["Source"], "Date": r["Date"]}
            for r in every
        ]
    )
    return events_model.timeline_figure(
        series,
        ctx.step,
        markers,
        x_range=ctx.x_range,
        revision=ctx.range_key,
        unavailable=unavailable,
    )


def register(app: Dash, ctx: UiContext) -> None:
    @app.callback(
        Output(ids.EVENTS_TABLE, "data"),
        Output(ids.EVENTS_COUNT, "children"),
        Output(ids.EVENTS_TIMELINE, "figure"),
        *(Output(component_id, "options") for component_id, _, _ in FILTERS),
        Output(ids.EVENTS_STATUS, "children"),
        Input(ids.REFRESH, "n_intervals"),
        Input(ids.TIME_RANGE, "data"),
        Input(ids.INSTANCE_FILTER, "value"),
        *(Input(component_id, "value") for component_id, _, _ in FILTERS),
        Input(ids.EVENTS_SEARCH, "value"),
    )
    def refresh(*values: Any) -> tuple[Any, ...]:
        # The timer's tick, the range, the instance filter, the three dropdowns, the text.
        _, shown, instance, source_type, category, event_id, text = values
        view = ctx.showing(timerange.resolve(shown), instance)
        filters = {
            "source_type": source_type,
            "category": category,
            "event_id": event_id,
            "text": text,
        }
        every, kept, problems = rows_for(view, filters)
        figure = timeline(view, every, problems)
        chosen = (source_type, category, event_id)
        choices = [
            events_model.options(every, column, keep=value)
            for (_, column, _), value in zip(FILTERS, chosen, strict=True)
        ]
        count = f"{len(kept)} of {len(every)} events in the range"
        return kept, count, figure, *choices, status_line(problems)

    rangebar.register_zoom(app, [ids.EVENTS_TIMELINE])
