"""Pure functions: data in, Plotly figure (or table rows) out. No I/O here."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

from dashboards.data import Series

FAILOVER_EVENTS = {"RDS-EVENT-0071", "RDS-EVENT-0072", "RDS-EVENT-0073", "RDS-EVENT-0069"}


def legend_name(template: str, labels: dict[str, str]) -> str:
    try:
        return template.format(**labels)
    except KeyError:
        return ", ".join(f"{k}={v}" for k, v in sorted(labels.items()) if k != "__name__")


def _ms(when: float) -> float:
    """Unix seconds as the milliseconds Plotly's date axes take (numbers are far lighter than
    ISO strings, in the figure's JSON and in building it)."""
    return when * 1000.0


# What a 2-D line graph takes from plotly_white (not its colour scales, 3-D scenes, maps or
# per-trace-type defaults, which cost each figure far more to build than its data).
TEMPLATE_KEYS = (
    "annotationdefaults",
    "autotypenumbers",
    "colorway",
    "font",
    "hoverlabel",
    "hovermode",
    "paper_bgcolor",
    "plot_bgcolor",
    "shapedefaults",
    "title",
    "xaxis",
    "yaxis",
)


@functools.cache
def _template() -> dict[str, Any]:
    """plotly_white's layout for line graphs, as JSON, built once."""
    layout = pio.templates["plotly_white"].layout.to_plotly_json()
    return {"layout": {key: layout[key] for key in TEMPLATE_KEYS if key in layout}}


def time_series_figure(
    series: Sequence[Series],
    *,
    title: str,
    unit: str,
    legend: str,
    markers: Sequence[tuple[float, str]] = (),
    stacked: bool = False,
    unavailable: str | None = None,
    x_range: Sequence[str] | None = None,
    revision: str = "",
    minimum: float | None = None,
    shading: Sequence[tuple[float, float, str]] = (),
    colors: Callable[[str], str | None] | None = None,
    show_legend: bool = True,
) -> go.Figure:
    """Lines per series, over `x_range` when given (the page's shared range); with none,
    the graph says why: `unavailable` (a data source that did not answer, in red) or
    "no data yet". A `minimum` of 0 keeps zero at the bottom of the y-axis, and a flat zero
    line gets a 0..1 axis rather than Plotly's -1..1; `shading` marks (start, end, label)
    spans, such as the writer's; `colors` gives a series' colour by its name (the palette's
    wait colours), None leaving it to Plotly; `show_legend` False for a graph whose page draws
    one legend for all its graphs.

    Built as plain JSON and wrapped without plotly's validation: validating and copying
    every point of a page's graphs cost more than a second per refresh (bench.ui)."""
    traces: list[dict[str, Any]] = []
    for s in sorted(series, key=lambda s: legend_name(legend, s.labels)):
        name = legend_name(legend, s.labels)
        trace: dict[str, Any] = {
            "type": "scatter",
            "x": [_ms(t) for t in s.times],
            "y": list(s.values),
            "name": name,
            "mode": "lines",
        }
        if stacked:
            trace["stackgroup"] = "load"
        color = colors(name) if colors is not None else None
        if color:
            trace["line"] = {"color": color}
        traces.append(trace)
    shapes: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for when, text in markers:
        shapes.append(
            {
                "type": "line",
                "xref": "x",
                "yref": "y domain",
                "x0": _ms(when),
                "x1": _ms(when),
                "y0": 0,
                "y1": 1,
                "line": {"width": 1, "dash": "dash", "color": "#d62728"},
            }
        )
        annotations.append(
            {
                "x": _ms(when),
                "y": 1,
                "xref": "x",
                "yref": "paper",
                "text": text,
                "showarrow": False,
                "font": {"size": 10, "color": "#d62728"},
                "yanchor": "bottom",
            }
        )
    for start, end, text in shading:
        shapes.append(
            {
                "type": "rect",
                "xref": "x",
                "yref": "y domain",
                "x0": _ms(start),
                "x1": _ms(end),
                "y0": 0,
                "y1": 1,
                "fillcolor": "#ff9900",
                "opacity": 0.12,
                "line": {"width": 0},
                "layer": "below",
            }
        )
        annotations.append(
            {
                "x": _ms(start),
                "y": 1,
                "xref": "x",
                "yref": "y domain",
                "xanchor": "left",
                "yanchor": "top",
                "text": text,
                "showarrow": False,
                "font": {"size": 10, "color": "#b36b00"},
            }
        )
    xaxis: dict[str, Any] = {"title": {"text": "time (UTC)"}, "type": "date"}
    if x_range is not None:
        xaxis.update(range=list(x_range), autorange=False)
    yaxis: dict[str, Any] = {"title": {"text": unit}}
    if minimum == 0:
        yaxis["rangemode"] = "tozero"
        if series and all(v == 0 for s in series for v in s.values):
            yaxis.update(range=[0, 1], autorange=False)
    layout: dict[str, Any] = {
        "title": {"text": title, "x": 0},
        "margin": {"l": 50, "r": 20, "t": 50, "b": 40},
        "height": 320,
        "xaxis": xaxis,
        "yaxis": yaxis,
        "legend": {"orientation": "h", "y": -0.2},
        "template": _template(),
        # A new range (picked or zoomed) resets what the user did to the graph; a refresh
        # of the same choice keeps it.
        "uirevision": f"{title}|{revision}",
        "shapes": shapes,
        "annotations": annotations,
    }
    if not show_legend:
        layout["showlegend"] = False
    fig = go.Figure({"data": traces, "layout": layout}, _validate=False)
    if not series:
        empty_note(fig, unavailable, "no data yet")
    return fig


def empty_note(fig: go.Figure, unavailable: str | None, empty: str) -> None:
    """Say in the middle of an empty graph why it is empty: the source's failure in red, or
    `empty` in grey."""
    fig.add_annotation(
        text=unavailable or empty,
        x=0.5,
        y=0.5,
        xref="paper",
        yref="paper",
        showarrow=False,
        font={"size": 14, "color": "#d62728" if unavailable else "#888"},
    )


def spans_at_one(series: Series, text: str, step: float) -> list[tuple[float, float, str]]:
    """The stretches where `series` is 1, as (start, end, text); points more than two steps
    apart (a gap in the data) end a stretch."""
    spans: list[tuple[float, float, str]] = []
    start = last = None
    for when, value in zip(series.times, series.values, strict=True):
        if value == 1 and start is not None and last is not None and when - last <= 2 * step:
            last = when
            continue
        if start is not None and last is not None:
            spans.append((start, last, text))
        start = last = when if value == 1 else None
    if start is not None and last is not None:
        spans.append((start, last, text))
    return spans


def failover_markers(events: Sequence[dict[str, Any]]) -> list[tuple[float, str]]:
    """Completed failovers as (unix time, label) for vertical lines on time series."""
    markers = []
    for event in events:
        if event.get("EventId") == "RDS-EVENT-0071":
            when = datetime.fromisoformat(event["Date"].replace("Z", "+00:00")).timestamp()
            markers.append((when, "failover"))
    return markers


def event_rows(events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Newest first, with a flag the table uses to highlight failovers."""
    rows = []
    for event in reversed(events):
        rows.append(
            {
                "Date": event["Date"],
                "EventId": event["EventId"],
                "Source": event["SourceIdentifier"],
                "Type": event["SourceType"],
                "Categories": ", ".join(event["EventCategories"]),
                "Message": event["Message"],
                "failover": "yes" if event["EventId"] in FAILOVER_EVENTS else "no",
            }
        )
    return rows
