"""The alarm editor: create, change and delete a metric alarm through the CloudWatch API
(PutMetricAlarm, DeleteAlarms). Validation is the API's: a refused alarm shows its message."""

from __future__ import annotations

from typing import Any

from dash import Dash, Input, Output, State, callback_context, dcc, html, no_update

from dashboards.alerting_data import ApiRefused
from dashboards.context import UiContext
from dashboards.data import DataUnavailable
from dashboards.pages.alerts import model

PREFIX = "alarm-editor-"
SAVE = PREFIX + "save"
DELETE = PREFIX + "delete"
MESSAGE = PREFIX + "message"
CHANGED = "alerts-changed"  # a store: bumped after every change, to refresh the lists
CHOICES = {
    "namespace": model.NAMESPACES,
    "statistic": model.STATISTICS,
    "operator": model.OPERATORS,
    "missing": model.MISSING,
}
LABELS = {
    "name": "Alarm name",
    "description": "Description",
    "namespace": "Namespace",
    "metric": "Metric name",
    "dimensions": "Dimensions (Name=Value, ...)",
    "statistic": "Statistic",
    "period": "Period (s)",
    "evaluation-periods": "Evaluation periods",
    "datapoints": "Datapoints to alarm",
    "operator": "Comparison",
    "threshold": "Threshold",
    "missing": "Missing data",
}


def field_id(suffix: str) -> str:
    return PREFIX + suffix


def _field(suffix: str) -> Any:
    control: Any
    if suffix in CHOICES:
        control = dcc.Dropdown(
            id=field_id(suffix),
            options=[{"label": c, "value": c} for c in CHOICES[suffix]],
            value=None,
            clearable=True,
        )
    else:
        control = dcc.Input(id=field_id(suffix), type="text", value="", style={"width": "95%"})
    return html.Div([html.Label(LABELS[suffix]), control], style={"width": "230px"})


def layout() -> Any:
    return html.Div(
        [
            html.H3("Alarm editor"),
            html.P(
                "Select an alarm above to load it, or fill in a new one. Save calls "
                "PutMetricAlarm, Delete calls DeleteAlarms on the CloudWatch API."
            ),
            html.Div(
                [_field(suffix) for suffix, _, _ in model.FORM_FIELDS],
                style={"display": "flex", "flexWrap": "wrap", "gap": "10px"},
            ),
            html.Div(
                [
                    html.Button("Save alarm", id=SAVE, n_clicks=0),
                    html.Button("Delete alarm", id=DELETE, n_clicks=0),
                ],
                style={"display": "flex", "gap": "10px", "margin": "8px 0"},
            ),
            html.Div(id=MESSAGE),
        ]
    )


def message(text: str, refused: bool) -> Any:
    return html.Div(text, className="unavailable" if refused else "editor-ok")


def save(ctx: UiContext, form: dict[str, Any]) -> tuple[str, bool]:
    """(what to say, whether it was refused) after PutMetricAlarm with the form."""
    if ctx.cloudwatch is None:
        return "no CloudWatch API configured", True
    try:
        request = model.alarm_request(form)
        ctx.cloudwatch.put_metric_alarm(request)
    except model.FormError as exc:
        return str(exc), True
    except ApiRefused as exc:
        return f"The CloudWatch API refused the alarm: {exc}", True
    except DataUnavailable as exc:
        return str(exc), True
    return f"Saved alarm {request.get('AlarmName')} (PutMetricAlarm).", False


def delete(ctx: UiContext, name: str | None) -> tuple[str, bool]:
    if ctx.cloudwatch is None:
        return "no CloudWatch API configured", True
    if not name or not name.strip():
        return "Give the name of the alarm to delete.", True
    try:
        ctx.cloudwatch.delete_alarm(name.strip())
    except ApiRefused as exc:
        return f"The CloudWatch API refused the deletion: {exc}", True
    except DataUnavailable as exc:
        return str(exc), True
    return f"Deleted alarm {name.strip()} (DeleteAlarms).", False


def register(app: Dash, ctx: UiContext, alarms_table: str) -> None:
    suffixes = [suffix for suffix, _, _ in model.FORM_FIELDS]

    @app.callback(
        Output(MESSAGE, "children"),
        Output(CHANGED, "data"),
        Input(SAVE, "n_clicks"),
        Input(DELETE, "n_clicks"),
        *(State(field_id(suffix), "value") for suffix in suffixes),
        State(CHANGED, "data"),
        prevent_initial_call=True,
    )
    def act(_save: int, _delete: int, *values: Any) -> tuple[Any, Any]:
        *fields, changed = values
        form = dict(zip(suffixes, fields, strict=True))
        if callback_context.triggered_id == DELETE:
            text, refused = delete(ctx, form.get("name"))
        else:
            text, refused = save(ctx, form)
        return message(text, refused), no_update if refused else (changed or 0) + 1

    @app.callback(
        *(Output(field_id(suffix), "value") for suffix in suffixes),
        Input(alarms_table, "selected_row_ids"),
        prevent_initial_call=True,
    )
    def load(selected: list[str] | None) -> tuple[Any, ...]:
        if not selected or ctx.cloudwatch is None:
            return tuple(no_update for _ in suffixes)
        try:
            found = [a for a in ctx.cloudwatch.describe_alarms() if a["AlarmName"] == selected[0]]
        except (ApiRefused, DataUnavailable):
            return tuple(no_update for _ in suffixes)
        if not found or "AlarmRule" in found[0]:
            return tuple(no_update for _ in suffixes)
        form = model.alarm_form(found[0])
        return tuple(form[suffix] or (None if suffix in CHOICES else "") for suffix in suffixes)
