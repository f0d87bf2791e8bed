"""The Dash app: navigation, one refresh timer, and the pages. Thin on purpose."""

from __future__ import annotations

from types import ModuleType
from typing import Any

from dash import Dash, Input, Output, dcc, html

from dashboards import ids, instancebar, rangebar
from dashboards.context import UiContext
from dashboards.pages import alerts, events, io, overview, performance_insights, replication

PAGES: tuple[ModuleType, ...] = (overview, replication, io, performance_insights, events, alerts)

CSS = """
body { font-family: system-ui, sans-serif; margin: 0; }
.nav { background: #232f3e; padding: 10px 20px; }
.nav a { color: #fff; margin-right: 18px; text-decoration: none; }
.nav .brand { color: #ff9900; font-weight: bold; margin-right: 24px; }
.content { padding: 10px 20px; }
.topology { display: flex; gap: 16px; }
.az-column { flex: 1; background: #f4f6f8; padding: 8px; border-radius: 6px; }
.card { background: #fff; border-left: 4px solid #888; margin: 6px 0; padding: 6px; }
.card.role-writer { border-left-color: #ff9900; }
.card.state-down { background: #fde2e1; }
.card.chosen { outline: 2px solid #1f77b4; }
.card.dimmed { opacity: 0.45; }
.unavailable { color: #b00020; background: #fde2e1; padding: 6px 10px; margin: 6px 0;
               border-radius: 4px; font-weight: bold; }
.unavailable:empty { display: none; }
.rangebar { display: flex; gap: 10px; align-items: center; padding: 8px 20px;
            background: #f4f6f8; flex-wrap: wrap; }
.rangebar .unavailable { margin: 0; }
.graph-grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(560px, 1fr));
              gap: 4px 12px; }
.shared-legend { display: flex; flex-wrap: wrap; gap: 4px 14px; font-size: 13px;
                 padding: 4px 0; }
.shared-legend .swatch { display: inline-block; width: 18px; height: 3px;
                         vertical-align: middle; margin-right: 5px; }
"""


def create_app(ctx: UiContext) -> Dash:
    app = Dash(__name__, title="Borealis", suppress_callback_exceptions=True)
    app.index_string = app.index_string.replace("</head>", f"<style>{CSS}</style></head>")
    app.layout = html.Div(
        [
            dcc.Location(id="url"),
            dcc.Interval(id=ids.REFRESH, interval=ctx.refresh_ms),
            html.Div(
                [
                    html.Span("Borealis", className="brand"),
                    *(dcc.Link(page.TITLE, href=page.PATH) for page in PAGES),
                ],
                className="nav",
            ),
            rangebar.layout(),
            html.Div(id="page", className="content"),
        ]
    )
    by_path = {page.PATH: page for page in PAGES}

    @app.callback(Output("page", "children"), Input("url", "pathname"))
    def route(pathname: str | None) -> Any:
        page = by_path.get(pathname or "/")
        if page is None:
            return html.Div([html.H2("Not found"), html.P(f"No page at {pathname}.")])
        return page.layout(ctx)

    rangebar.register(app)
    instancebar.register(app, ctx)
    for page in PAGES:
        page.register(app, ctx)
    return app
