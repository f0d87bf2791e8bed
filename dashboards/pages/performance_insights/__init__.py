"""Performance Insights over the shared range, from the collector's PI API: DB load stacked by
a chosen dimension with the Max vCPU line, top SQL and top waits, drill-downs into a digest or
a wait event, and two periods compared. The selection lives in the URL (state.py)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from dash import Dash, Input, Output, State, callback_context, no_update

from dashboards import ids, rangebar, timerange
from dashboards.context import UiContext
from dashboards.pages.performance_insights import compare, drill, state
from dashboards.pages.performance_insights.layout import HIDDEN, instance_options, layout
from dashboards.pages.performance_insights.view import DIMENSIONS, main_view, pi_target, refresh_pi

PATH = "/performance-insights"
TITLE = "Performance Insights"

__all__ = [
    "DIMENSIONS",
    "PATH",
    "TITLE",
    "instance_options",
    "layout",
    "main_view",
    "pi_target",
    "refresh_pi",
    "register",
    "selected",
]


def _row_id(cell: dict[str, Any] | None) -> str | None:
    return str(cell["row_id"]) if cell and cell.get("row_id") is not None else None


def _clicked(click: dict[str, Any] | None) -> str | None:
    points = (click or {}).get("points") or []
    found = points[0].get("customdata") if points else None
    return str(found) if found is not None else None


def selected(
    trigger: str | None,
    search: str | None,
    *,
    group: str | None = None,
    compare_choice: str | None = None,
    value: Any = None,
    b_inputs: tuple[str | None, str | None] = (None, None),
) -> tuple[Any, Any, Any]:
    """(URL search, dimension, comparison) after `trigger` changed to `value`: the
    URL sets the controls when it changes (a shared link, the page's first load); a control
    or a click writes the URL. `no_update` where nothing changes."""
    now = state.parse(search)
    if trigger in (None, ids.PI_URL):
        return no_update, now.group, now.compare
    new = now
    if trigger == ids.PI_DIMENSION:
        new = replace(now, group=group or state.DEFAULT_GROUP)
    elif trigger in (ids.PI_TOP_SQL, ids.PI_DRILL_TABLE):
        new = replace(now, sql=value, wait=None) if value else now
    elif trigger == ids.PI_TOP_WAITS:
        new = replace(now, sql=None, wait=value) if value else now
    elif trigger == ids.PI_LOAD_GRAPH and value:
        if now.group == "db.sql_tokenized":
            new = replace(now, sql=value, wait=None)
        elif now.group == "db.wait_event":
            new = replace(now, sql=None, wait=value)
    elif trigger == ids.PI_DRILL_CLOSE:
        new = replace(now, sql=None, wait=None)
    elif trigger in (ids.PI_COMPARE, ids.PI_COMPARE_FROM, ids.PI_COMPARE_TO):
        new = replace(now, compare=compare_choice or "off")
        if new.compare == "abs":
            try:
                start, end = timerange.from_inputs(*b_inputs)
            except ValueError:  # the comparison's status line says what is missing
                new = replace(new, b_from_ms=None, b_to_ms=None)
            else:
                new = replace(new, b_from_ms=int(start * 1000), b_to_ms=int(end * 1000))
    search_after = state.search_for(new, search)
    return (search_after if search_after != (search or "") else no_update, no_update, no_update)


def register(app: Dash, ctx: UiContext) -> None:
    @app.callback(
        Output(ids.PI_URL, "search"),
        Output(ids.PI_DIMENSION, "value"),
        Output(ids.PI_COMPARE, "value"),
        Input(ids.PI_URL, "search"),
        Input(ids.PI_DIMENSION, "value"),
        Input(ids.PI_TOP_SQL, "active_cell"),
        Input(ids.PI_TOP_WAITS, "active_cell"),
        Input(ids.PI_DRILL_TABLE, "active_cell"),
        Input(ids.PI_LOAD_GRAPH, "clickData"),
        Input(ids.PI_DRILL_CLOSE, "n_clicks"),
        Input(ids.PI_COMPARE, "value"),
        Input(ids.PI_COMPARE_FROM, "n_submit"),
        Input(ids.PI_COMPARE_TO, "n_submit"),
        State(ids.PI_COMPARE_FROM, "value"),
        State(ids.PI_COMPARE_TO, "value"),
    )
    def sync(*values: Any) -> tuple[Any, ...]:
        search, group, sql_cell, wait_cell, drill_cell, click = values[:6]
        compare_choice, b_from, b_to = values[7], values[10], values[11]
        trigger = callback_context.triggered_id
        value = {
            ids.PI_TOP_SQL: _row_id(sql_cell),
            ids.PI_TOP_WAITS: _row_id(wait_cell),
            ids.PI_DRILL_TABLE: _row_id(drill_cell),
            ids.PI_LOAD_GRAPH: _clicked(click),
        }.get(str(trigger))
        return selected(
            trigger,
            search,
            group=group,
            compare_choice=compare_choice,
            value=value,
            b_inputs=(b_from, b_to),
        )

    @app.callback(
        Output(ids.PI_LOAD_GRAPH, "figure"),
        Output(ids.PI_TOP_SQL, "data"),
        Output(ids.PI_TOP_WAITS, "data"),
        Output(ids.PI_STATUS, "children"),
        Output(ids.PI_INSTANCE, "children"),
        Input(ids.REFRESH, "n_intervals"),
        Input(ids.INSTANCE_FILTER, "value"),
        Input(ids.PI_DIMENSION, "value"),
        Input(ids.TIME_RANGE, "data"),
    )
    def refresh(
        _: int, instance: str | None, group: str | None, shown: dict[str, Any] | None
    ) -> tuple[Any, ...]:
        identifier, label = pi_target(ctx, instance)
        found = main_view(
            ctx.showing(timerange.resolve(shown), instance),
            identifier,
            group or state.DEFAULT_GROUP,
        )
        return found.figure, found.top_sql, found.top_waits, found.status, label

    @app.callback(
        Output(ids.PI_DRILL, "style"),
        Output(ids.PI_DRILL_TITLE, "children"),
        Output(ids.PI_DRILL_TEXT, "children"),
        Output(ids.PI_DRILL_GRAPH, "figure"),
        Output(ids.PI_DRILL_STATS, "figure"),
        Output(ids.PI_DRILL_STATS, "style"),
        Output(ids.PI_DRILL_TABLE, "data"),
        Output(ids.PI_DRILL_STATUS, "children"),
        # The timer too, as the main graphs: an open drill-down follows a relative range
        # and stops with them when auto-refresh is paused (the timer is then disabled).
        Input(ids.REFRESH, "n_intervals"),
        Input(ids.PI_URL, "search"),
        Input(ids.INSTANCE_FILTER, "value"),
        Input(ids.TIME_RANGE, "data"),
    )
    def drill_down(
        _tick: int, search: str | None, instance: str | None, shown: dict[str, Any] | None
    ) -> tuple[Any, ...]:
        identifier, _ = pi_target(ctx, instance)
        chosen = state.parse(search)
        found = drill.drill(
            ctx.showing(timerange.resolve(shown)), identifier, chosen.sql, chosen.wait
        )
        if not found.shown:
            return (HIDDEN, *([no_update] * 7))
        return (
            {},
            found.title,
            found.text,
            found.graph if found.graph is not None else no_update,
            found.stats if found.stats is not None else {},
            {} if found.stats is not None else HIDDEN,
            found.table,
            found.status,
        )

    @app.callback(
        Output(ids.PI_COMPARE_AREA, "style"),
        Output(ids.PI_COMPARE_A, "figure"),
        Output(ids.PI_COMPARE_B, "figure"),
        Output(ids.PI_MOVERS, "data"),
        Output(ids.PI_COMPARE_STATUS, "children"),
        Input(ids.PI_URL, "search"),
        Input(ids.INSTANCE_FILTER, "value"),
        Input(ids.TIME_RANGE, "data"),
    )
    def comparison(
        search: str | None, instance: str | None, shown: dict[str, Any] | None
    ) -> tuple[Any, ...]:
        identifier, _ = pi_target(ctx, instance)
        found = compare.compare(
            ctx.showing(timerange.resolve(shown)), identifier, state.parse(search)
        )
        if found.figure_a is None:
            return (HIDDEN, no_update, no_update, [], found.status)
        return ({}, found.figure_a, found.figure_b, found.movers, found.status)

    rangebar.register_zoom(app, [ids.PI_LOAD_GRAPH, ids.PI_DRILL_GRAPH])
