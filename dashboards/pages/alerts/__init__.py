"""Alerts: firing alerts (Alertmanager), the webhook inbox, the alarm list with states and
each alarm's history (CloudWatch API and webhook), anomaly bands on their metric, the alarm
editor and silences."""

from __future__ import annotations

import time
from typing import Any

from dash import Dash, Input, Output, State, dash_table, dcc, html

from dashboards import ids, timerange
from dashboards.alerting_data import ApiRefused
from dashboards.context import UiContext
from dashboards.data import DataUnavailable
from dashboards.overview_model import alert_rows
from dashboards.pages.alerts import editor, model, silences
from dashboards.pages.overview import alerts_table, simple_table
from dashboards.pages.panels import status_line

PATH = "/alerts"
TITLE = "Alerts"
STATUS = "alerts-status"
FIRING = "alerts-firing"
INBOX = "alerts-inbox"
ALARMS = "alerts-alarms"
HISTORY = "alerts-history"
HISTORY_TITLE = "alerts-history-title"
BAND = "alerts-band"
ALARM_COLUMNS = ("Alarm", "Type", "State", "Condition", "Since", "Reason")
INBOX_COLUMNS = ("Received", "Status", "Alarm", "Alerts", "Receiver", "Summary")
HISTORY_COLUMNS = ("When", "Source", "Type", "Summary")
STATE_COLOURS = {"ALARM": "#fde2e1", "INSUFFICIENT_DATA": "#fff4d6", "OK": "#e6f4ea"}


def layout(ctx: UiContext) -> Any:
    return html.Div(
        [
            dcc.Store(id=editor.CHANGED, data=0),
            html.H2("Alerts"),
            html.Div(id=STATUS),
            html.H3("Firing alerts (Alertmanager)"),
            alerts_table(FIRING),
            html.H3("Alarms (CloudWatch API)"),
            dash_table.DataTable(  # type: ignore[attr-defined]
                id=ALARMS,
                columns=[{"name": c, "id": c} for c in ALARM_COLUMNS],
                data=[],
                row_selectable="single",
                page_size=30,
                style_cell={"textAlign": "left", "fontFamily": "monospace", "fontSize": 12},
                style_data={"whiteSpace": "normal", "height": "auto"},
                style_data_conditional=[
                    {"if": {"filter_query": f'{{State}} = "{state}"'}, "backgroundColor": colour}
                    for state, colour in STATE_COLOURS.items()
                ],
            ),
            html.H4(id=HISTORY_TITLE, children="Select an alarm to see its history"),
            simple_table(HISTORY, HISTORY_COLUMNS, page_size=10),
            html.Div(dcc.Graph(id=BAND), id=BAND + "-box", style={"display": "none"}),
            editor.layout(),
            silences.layout(),
            html.H3("Webhook inbox (latest notifications)"),
            simple_table(INBOX, INBOX_COLUMNS, page_size=15),
        ]
    )


def refresh_alerts(ctx: UiContext) -> tuple[Any, ...]:
    """Firing alerts, the alarms, the silences and the inbox; what did not answer."""
    problems: list[str] = []

    def note(exc: Exception) -> None:
        if str(exc) not in problems:
            problems.append(str(exc))

    firing: list[dict[str, str]] = []
    silence_rows: list[dict[str, str]] = []
    if ctx.alertmanager is not None:
        try:
            firing = alert_rows(ctx.alertmanager.alerts())
            silence_rows = model.silence_rows(ctx.alertmanager.silences())
        except (DataUnavailable, ApiRefused) as exc:
            note(exc)
    alarms: list[dict[str, str]] = []
    if ctx.cloudwatch is not None:
        try:
            alarms = model.alarm_rows(ctx.cloudwatch.describe_alarms())
        except (DataUnavailable, ApiRefused) as exc:
            note(exc)
    inbox: list[dict[str, str]] = []
    if ctx.webhook is not None:
        try:
            inbox = model.notification_rows(ctx.webhook.notifications(ctx.window_s / 60))
        except (DataUnavailable, ApiRefused) as exc:
            note(exc)
    return firing, alarms, silence_rows, inbox, status_line(problems)


def alarm_detail(ctx: UiContext, name: str) -> tuple[str, list[dict[str, str]], Any, bool]:
    """The title of the history, its rows (API and webhook), the band figure and whether the
    alarm has a band at all."""
    api_items: list[dict[str, Any]] = []
    webhook_items: list[dict[str, Any]] = []
    alarm: dict[str, Any] = {}
    problems: list[str] = []
    if ctx.cloudwatch is not None:
        try:
            api_items = ctx.cloudwatch.alarm_history(name)
            alarm = next(
                (a for a in ctx.cloudwatch.describe_alarms() if a["AlarmName"] == name), {}
            )
        except (DataUnavailable, ApiRefused) as exc:
            problems.append(str(exc))
    if ctx.webhook is not None:
        try:
            webhook_items = ctx.webhook.alarm_history(name, max(ctx.window_s / 60, 60.0))
        except (DataUnavailable, ApiRefused) as exc:
            problems.append(str(exc))
    rows = model.history_rows(api_items, webhook_items)
    title = f"History of {name}" + (f" ({'; '.join(problems)})" if problems else "")
    metric_stat = model.band_metric(alarm)
    if metric_stat is None:
        return title, rows, {}, False
    return title, rows, band(ctx, name, metric_stat), True


def band(ctx: UiContext, name: str, metric_stat: dict[str, Any]) -> Any:
    end = ctx.end_s if ctx.end_s is not None else time.time()
    start = end - ctx.window_s
    unavailable = None
    metric: tuple[list[float], list[float]] = ([], [])
    upper: list[Any] = []
    lower: list[Any] = []
    selector = '{alarm_name="' + name.replace("\\", "\\\\").replace('"', '\\"') + '"}'
    try:
        if ctx.cloudwatch is not None:
            metric = ctx.cloudwatch.metric_data(metric_stat, start, end)
        upper = ctx.prometheus.query_range(
            "alarm:anomaly_band:upper" + selector, ctx.window_s, ctx.step, ctx.end_s
        )
        lower = ctx.prometheus.query_range(
            "alarm:anomaly_band:lower" + selector, ctx.window_s, ctx.step, ctx.end_s
        )
    except (DataUnavailable, ApiRefused) as exc:
        unavailable = str(exc)
    return model.band_figure(name, metric, upper, lower, unavailable=unavailable)


def register(app: Dash, ctx: UiContext) -> None:
    @app.callback(
        Output(FIRING, "data"),
        Output(ALARMS, "data"),
        Output(silences.TABLE, "data"),
        Output(INBOX, "data"),
        Output(STATUS, "children"),
        Input(ids.REFRESH, "n_intervals"),
        Input(ids.TIME_RANGE, "data"),
        Input(editor.CHANGED, "data"),
    )
    def refresh(_: int, shown: dict[str, Any] | None, _changed: int) -> tuple[Any, ...]:
        return refresh_alerts(ctx.showing(timerange.resolve(shown)))

    @app.callback(
        Output(HISTORY_TITLE, "children"),
        Output(HISTORY, "data"),
        Output(BAND, "figure"),
        Output(BAND + "-box", "style"),
        Input(ALARMS, "selected_row_ids"),
        Input(editor.CHANGED, "data"),
        State(ids.TIME_RANGE, "data"),
        prevent_initial_call=True,
    )
    def detail(
        selected: list[str] | None, _changed: int, shown: dict[str, Any] | None
    ) -> tuple[Any, ...]:
        if not selected:
            return "Select an alarm to see its history", [], {}, {"display": "none"}
        view = ctx.showing(timerange.resolve(shown))
        title, rows, figure, has_band = alarm_detail(view, selected[0])
        return title, rows, figure, {"display": "block" if has_band else "none"}

    editor.register(app, ctx, ALARMS)
    silences.register(app, ctx)
