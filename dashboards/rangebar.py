"""The bar above every page: the instance filter and Grafana link (instancebar.py), the
time-range picker (relative or absolute), reset after a zoom, and auto-refresh with a pause.
Its choice lives in one session store, read by every page, and in the URL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dash import Dash, Input, Output, State, callback_context, dcc, html, no_update

from dashboards import ids, instancebar, timerange

PAUSED = "paused"


def layout() -> Any:
    options = [
        {"label": label, "value": str(seconds)} for seconds, label in timerange.RELATIVE_CHOICES
    ]
    options.append({"label": "Absolute (UTC):", "value": timerange.ABSOLUTE})
    return html.Div(
        [
            *instancebar.layout(),
            html.Span("Last:"),
            dcc.Store(
                id=ids.TIME_RANGE,
                storage_type="session",
                data=timerange.relative(timerange.DEFAULT_LAST_S),
            ),
            dcc.RadioItems(
                id=ids.RANGE_PICKER,
                options=options,
                value=str(timerange.DEFAULT_LAST_S),
                inline=True,
                persistence=True,
                persistence_type="session",
                labelStyle={"marginRight": "10px"},
            ),
            dcc.Input(id=ids.RANGE_START, type="text", placeholder="from YYYY-MM-DD HH:MM"),
            dcc.Input(id=ids.RANGE_END, type="text", placeholder="to YYYY-MM-DD HH:MM"),
            html.Button("Apply", id=ids.RANGE_APPLY, n_clicks=0),
            html.Button("Reset zoom", id=ids.RANGE_RESET, n_clicks=0),
            dcc.Checklist(
                id=ids.REFRESH_PAUSE,
                options=[{"label": " pause auto-refresh", "value": PAUSED}],
                value=[],
                persistence=True,
                persistence_type="session",
            ),
            html.Span(id=ids.RANGE_SHOWN, className="range-shown"),
            html.Span(id=ids.RANGE_ERROR, className="unavailable"),
        ],
        className="rangebar",
    )


def picked(
    choice: str | None, start_text: str | None, end_text: str | None, stored: dict[str, Any] | None
) -> tuple[Any, str]:
    """The store's new value for a choice in the picker (or `no_update`), and an error for the
    bar (empty when none). An absolute range keeps the last relative choice for a reset."""
    last_s = timerange.resolve({"last_s": (stored or {}).get("last_s")}).seconds
    if choice == timerange.ABSOLUTE:
        try:
            start, end = timerange.from_inputs(start_text, end_text)
        except ValueError as exc:
            return no_update, f"Absolute range: {exc}"
        return timerange.absolute(start, end, last_s), ""
    try:
        seconds = float(choice or timerange.DEFAULT_LAST_S)
    except ValueError:
        return no_update, f"unknown range {choice!r}"
    if seconds not in {float(s) for s, _ in timerange.RELATIVE_CHOICES}:
        return no_update, f"unknown range {choice!r}"
    return timerange.relative(seconds), ""


def reset(stored: dict[str, Any] | None) -> dict[str, Any]:
    """Back to the picked relative range, out of a zoom or an absolute range."""
    return timerange.relative(timerange.resolve({"last_s": (stored or {}).get("last_s")}).seconds)


def paused(value: list[str] | None) -> bool:
    """Whether the pause box is ticked: the refresh timer is then disabled."""
    return PAUSED in (value or [])


def zoomed(relayout: dict[str, Any] | None, stored: dict[str, Any] | None) -> Any:
    """The store's value after a drag-to-zoom on one graph (every graph of the page then
    shows that range), or `no_update` for any other relayout (autosize, a legend click)."""
    chosen = timerange.from_relayout(relayout)
    if chosen is None:
        return no_update
    last_s = timerange.resolve({"last_s": (stored or {}).get("last_s")}).seconds
    return timerange.absolute(*chosen, last_s)


def register_zoom(app: Dash, graph_ids: Sequence[str]) -> None:
    """Drag-to-zoom on any of `graph_ids` sets the range of every graph (through the store)."""
    graph_ids = list(graph_ids)

    @app.callback(
        Output(ids.TIME_RANGE, "data", allow_duplicate=True),
        *(Input(graph_id, "relayoutData") for graph_id in graph_ids),
        State(ids.TIME_RANGE, "data"),
        prevent_initial_call=True,
    )
    def zoom(*values: Any) -> Any:
        *layouts, stored = values
        source = callback_context.triggered_id
        if source not in graph_ids:
            return no_update
        return zoomed(layouts[graph_ids.index(source)], stored)


def describe(stored: dict[str, Any] | None) -> str:
    shown = timerange.resolve(stored)
    if shown.key.startswith("last:"):
        return ""
    start, end = (timerange.input_text(t) for t in (shown.start, shown.end))
    return f"Showing {start} to {end} UTC"


def register(app: Dash) -> None:
    @app.callback(
        Output(ids.TIME_RANGE, "data"),
        Output(ids.RANGE_ERROR, "children"),
        Input(ids.RANGE_PICKER, "value"),
        Input(ids.RANGE_APPLY, "n_clicks"),
        State(ids.RANGE_START, "value"),
        State(ids.RANGE_END, "value"),
        State(ids.TIME_RANGE, "data"),
        prevent_initial_call=True,
    )
    def pick(
        choice: str | None,
        _: int,
        start_text: str | None,
        end_text: str | None,
        stored: dict[str, Any] | None,
    ) -> tuple[Any, str]:
        return picked(choice, start_text, end_text, stored)

    @app.callback(
        Output(ids.TIME_RANGE, "data", allow_duplicate=True),
        Input(ids.RANGE_RESET, "n_clicks"),
        State(ids.TIME_RANGE, "data"),
        prevent_initial_call=True,
    )
    def reset_zoom(_: int, stored: dict[str, Any] | None) -> dict[str, Any]:
        return reset(stored)

    @app.callback(Output(ids.RANGE_SHOWN, "children"), Input(ids.TIME_RANGE, "data"))
    def shown(stored: dict[str, Any] | None) -> str:
        return describe(stored)

    @app.callback(Output(ids.REFRESH, "disabled"), Input(ids.REFRESH_PAUSE, "value"))
    def pause(value: list[str] | None) -> bool:
        return paused(value)
