"""Pure functions: data in, Plotly figure (or table rows) out. No I/O here."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import plotly.graph_objects as go

from dashboards.data import Series

FAILOVER_EVENTS = {"RDS-EVENT-0071", "RDS-EVENT-0072", "RDS-EVENT-0073", "RDS-EVENT-0069"}


def legend_name(template: str, labels: dict[str, str]) -> str:
    try:
        return template.format(**labels)
    except KeyError:
        return ", ".join(f"{k}={v}" for k, v in sorted(labels.items()) if k != "__name__")


def _as_datetimes(times: Sequence[float]) -> list[datetime]:
    return [datetime.fromtimestamp(t, UTC) for t in times]


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
) -> go.Figure:
    """Lines per series, over `x_range` when given (the page's shared range); with none,
    the graph says why: `unavailable` (a data source that did not answer, in red) or
    "no data yet". A `minimum` of 0 keeps zero at the bottom of the y-axis, and a flat zero
    line gets a 0..1 axis rather than Plotly's -1..1; `shading` marks (start, end, label)
    spans, such as the writer's; `colors` gives a series' colour by its name (the palette's
    wait colours), None leaving it to Plotly."""
    fig = go.Figure()
    for s in sorted(series, key=lambda s: legend_name(legend, s.labels)):
        name = legend_name(legend, s.labels)
        color = colors(name) if colors is not None else None
        fig.add_trace(
            go.Scatter(
                x=_as_datetimes(s.times),
                y=list(s.values),
                name=name,
                mode="lines",
                stackgroup="load" if stacked else None,
                line={"color": color} if color else None,
            )
        )
    for when, text in markers:
        moment = datetime.fromtimestamp(when, UTC)
        fig.add_vline(x=moment, line_width=1, line_dash="dash", line_color="#d62728")
        fig.add_annotation(
            x=moment,
            y=1,
            yref="paper",
            text=text,
            showarrow=False,
            font={"size": 10, "color": "#d62728"},
            yanchor="bottom",
        )
    fig.update_layout(
        title={"text": title, "x": 0},
        margin={"l": 50, "r": 20, "t": 50, "b": 40},
        height=320,
        yaxis_title=unit,
        legend={"orientation": "h", "y": -0.2},
        template="plotly_white",
        # A new range (picked or zoomed) resets what the user did to the graph; a refresh
        # of the same choice keeps it.
        uirevision=f"{title}|{revision}",
    )
    for start, end, text in shading:
        fig.add_vrect(
            x0=datetime.fromtimestamp(start, UTC),
            x1=datetime.fromtimestamp(end, UTC),
            fillcolor="#ff9900",
            opacity=0.12,
            line_width=0,
            layer="below",
            annotation_text=text,
            annotation_position="top left",
            annotation_font={"size": 10, "color": "#b36b00"},
        )
    fig.update_xaxes(title_text="time (UTC)")
    if minimum == 0:
        fig.update_yaxes(rangemode="tozero")
        if series and all(v == 0 for s in series for v in s.values):
            fig.update_yaxes(range=[0, 1], autorange=False)
    if x_range is not None:
        # Dates even with no series (an empty axis would read them as numbers).
        fig.update_xaxes(type="date", range=list(x_range), autorange=False)
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
