"""The rest of the bar above every page: the instance filter (one db_instance, or all), the
range and the instance kept in the URL (`?range=1h` or `?from=<ms>&to=<ms>`, `&instance=`)
so that a link shares them, and a link into the page's Grafana dashboard when one is set."""

from __future__ import annotations

import time
import urllib.parse
from typing import Any

from dash import Dash, Input, Output, callback_context, dcc, html, no_update

from dashboards import ids, timerange
from dashboards.context import UiContext
from dashboards.data import DataUnavailable

ALL = ""  # the filter's value for every instance
# Page path -> its Grafana dashboard's uid (deploy/grafana/dashboards/*.json).
GRAFANA_UIDS = {
    "/": "borealis-overview",
    "/replication": "borealis-replication",
    "/io": "borealis-io",
    "/performance-insights": "borealis-performance-insights",
    "/events": "borealis-events",
    "/alerts": "borealis-alerts",
}
RANGE_PARAMS = ("range", "from", "to", "instance")
HIDDEN = {"display": "none"}


def layout() -> list[Any]:
    return [
        dcc.Location(id=ids.RANGE_URL, refresh="callback-nav"),
        dcc.Dropdown(
            id=ids.INSTANCE_FILTER,
            options=[{"label": "All instances", "value": ALL}],
            value=ALL,
            clearable=False,
            persistence=True,
            persistence_type="session",
            style={"width": "280px"},
        ),
        html.A("Open in Grafana", id=ids.GRAFANA_LINK, target="_blank", style=HIDDEN),
    ]


def instance_options(ctx: UiContext) -> list[dict[str, str]]:
    """Every watched instance (writer first), after "All instances"; only "All" when the
    collector does not answer."""
    options = [{"label": "All instances", "value": ALL}]
    try:
        targets = ctx.collector.targets()
    except DataUnavailable:
        return options
    for target in sorted(targets, key=lambda t: (t["role"] != "writer", t["db_instance"])):
        options.append(
            {"label": f"{target['db_instance']} ({target['role']})", "value": target["db_instance"]}
        )
    return options


def url_state(
    trigger: str | None, search: str | None, stored: dict[str, Any] | None, instance: str | None
) -> tuple[Any, Any, Any]:
    """(URL search, range store, instance filter): the URL (a shared link, the first load)
    sets the range and the filter; a new range or filter is written to the URL, keeping its
    other parameters. `no_update` where nothing changes."""
    params = dict(urllib.parse.parse_qsl((search or "").lstrip("?")))
    if trigger in (None, ids.RANGE_URL):
        wanted = timerange.from_query(params)
        new_range = (
            wanted if wanted is not None and not timerange.same_range(wanted, stored) else no_update
        )
        asked = params.get("instance")
        new_instance = asked if asked is not None and asked != (instance or ALL) else no_update
        return no_update, new_range, new_instance
    kept = {k: v for k, v in params.items() if k not in RANGE_PARAMS}
    written = {**kept, **timerange.to_query(stored)}
    if instance:
        written["instance"] = instance
    new_search = "?" + urllib.parse.urlencode(written)
    return (new_search if new_search != (search or "") else no_update), no_update, no_update


def grafana_link(
    base: str | None,
    pathname: str | None,
    stored: dict[str, Any] | None,
    instance: str | None,
    now: float | None = None,
) -> str | None:
    """The page's Grafana dashboard over the shown range (from/to in ms) for the filtered
    instance; None without a Grafana URL or for a page without a dashboard."""
    uid = GRAFANA_UIDS.get(pathname or "/")
    if not base or uid is None:
        return None
    shown = timerange.resolve(stored, now)
    query = {"from": str(round(shown.start * 1000)), "to": str(round(shown.end * 1000))}
    if instance:
        query["var-instance"] = instance
    return f"{base.rstrip('/')}/d/{uid}?{urllib.parse.urlencode(query)}"


def register(app: Dash, ctx: UiContext) -> None:
    @app.callback(
        Output(ids.RANGE_URL, "search"),
        Output(ids.TIME_RANGE, "data", allow_duplicate=True),
        Output(ids.INSTANCE_FILTER, "value"),
        Input(ids.RANGE_URL, "search"),
        Input(ids.TIME_RANGE, "data"),
        Input(ids.INSTANCE_FILTER, "value"),
        prevent_initial_call="initial_duplicate",
    )
    def sync(
        search: str | None, stored: dict[str, Any] | None, instance: str | None
    ) -> tuple[Any, Any, Any]:
        return url_state(callback_context.triggered_id, search, stored, instance)

    @app.callback(Output(ids.INSTANCE_FILTER, "options"), Input("url", "pathname"))
    def options(_: str | None) -> list[dict[str, str]]:
        return instance_options(ctx)

    if not ctx.grafana_url:
        return  # the link stays hidden; no request on every refresh for it

    @app.callback(
        Output(ids.GRAFANA_LINK, "href"),
        Output(ids.GRAFANA_LINK, "style"),
        Input("url", "pathname"),
        Input(ids.TIME_RANGE, "data"),
        Input(ids.INSTANCE_FILTER, "value"),
        Input(ids.REFRESH, "n_intervals"),
    )
    def link(
        pathname: str | None, stored: dict[str, Any] | None, instance: str | None, _: int
    ) -> tuple[Any, Any]:
        href = grafana_link(ctx.grafana_url, pathname, stored, instance, time.time())
        return (href, {}) if href else (no_update, HIDDEN)
