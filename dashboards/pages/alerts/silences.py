"""Silences: listed, created (an alarm's name, a duration, a comment) and expired, through
Alertmanager's API v2."""

from __future__ import annotations

from typing import Any

from dash import Dash, Input, Output, State, callback_context, dash_table, dcc, html, no_update

from dashboards.alerting_data import ApiRefused
from dashboards.context import UiContext
from dashboards.data import DataUnavailable
from dashboards.pages.alerts.editor import CHANGED

TABLE = "silences-table"
ALARM = "silence-alarm"
MINUTES = "silence-minutes"
COMMENT = "silence-comment"
CREATE = "silence-create"
EXPIRE = "silence-expire"
MESSAGE = "silence-message"
COLUMNS = ("State", "Matchers", "Starts", "Ends", "Comment", "Created by", "id")


def layout() -> Any:
    return html.Div(
        [
            html.H3("Silences (Alertmanager)"),
            html.Div(
                [
                    html.Div([html.Label("Alarm name"), dcc.Input(id=ALARM, type="text")]),
                    html.Div(
                        [
                            html.Label("Duration (minutes)"),
                            dcc.Input(id=MINUTES, type="number", value=60, min=1),
                        ]
                    ),
                    html.Div(
                        [
                            html.Label("Comment"),
                            dcc.Input(id=COMMENT, type="text", style={"width": "320px"}),
                        ]
                    ),
                    html.Button("Create silence", id=CREATE, n_clicks=0),
                    html.Button("Expire selected", id=EXPIRE, n_clicks=0),
                ],
                style={"display": "flex", "gap": "10px", "alignItems": "flex-end"},
            ),
            html.Div(id=MESSAGE),
            dash_table.DataTable(  # type: ignore[attr-defined]
                id=TABLE,
                columns=[{"name": c, "id": c} for c in COLUMNS],
                data=[],
                row_selectable="single",
                page_size=15,
                style_cell={"textAlign": "left", "fontFamily": "monospace", "fontSize": 12},
                style_data={"whiteSpace": "normal", "height": "auto"},
                style_data_conditional=[
                    {"if": {"filter_query": '{State} = "expired"'}, "color": "#999"}
                ],
            ),
        ]
    )


def create(
    ctx: UiContext, alarm: str | None, minutes: Any, comment: str | None
) -> tuple[str, bool]:
    """(what to say, whether it failed) after asking Alertmanager for the silence."""
    if ctx.alertmanager is None:
        return "no Alertmanager configured", True
    if not alarm or not alarm.strip():
        return "Give the name of the alarm to silence.", True
    try:
        duration = float(minutes)
    except (TypeError, ValueError):
        return "Give the duration in minutes.", True
    if not duration > 0:
        return "The duration must be more than 0 minutes.", True
    if not comment or not comment.strip():
        return "Say why, in the comment (Alertmanager requires one).", True
    try:
        silence_id = ctx.alertmanager.create_silence(alarm.strip(), duration, comment.strip())
    except ApiRefused as exc:
        return f"Alertmanager refused the silence: {exc}", True
    except DataUnavailable as exc:
        return str(exc), True
    return f"Silenced {alarm.strip()} for {duration:g} min (silence {silence_id}).", False


def expire(ctx: UiContext, selected: list[str] | None) -> tuple[str, bool]:
    if ctx.alertmanager is None:
        return "no Alertmanager configured", True
    if not selected:
        return "Select the silence to expire.", True
    try:
        ctx.alertmanager.expire_silence(selected[0])
    except ApiRefused as exc:
        return f"Alertmanager refused: {exc}", True
    except DataUnavailable as exc:
        return str(exc), True
    return f"Expired silence {selected[0]}.", False


def register(app: Dash, ctx: UiContext) -> None:
    @app.callback(
        Output(MESSAGE, "children"),
        Output(CHANGED, "data", allow_duplicate=True),
        Input(CREATE, "n_clicks"),
        Input(EXPIRE, "n_clicks"),
        State(ALARM, "value"),
        State(MINUTES, "value"),
        State(COMMENT, "value"),
        State(TABLE, "selected_row_ids"),
        State(CHANGED, "data"),
        prevent_initial_call=True,
    )
    def act(
        _create: int,
        _expire: int,
        alarm: str | None,
        minutes: Any,
        comment: str | None,
        selected: list[str] | None,
        changed: int | None,
    ) -> tuple[Any, Any]:
        if callback_context.triggered_id == EXPIRE:
            text, failed = expire(ctx, selected)
        else:
            text, failed = create(ctx, alarm, minutes, comment)
        shown = html.Div(text, className="unavailable" if failed else "silence-ok")
        return shown, no_update if failed else (changed or 0) + 1
