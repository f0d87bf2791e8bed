"""Pure functions: data in, Plotly figure (or table rows) out. No I/O here."""

from __future__ import annotations

from collections.abc import Sequence
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
) -> go.Figure:
    fig = go.Figure()
    for s in sorted(series, key=lambda s: legend_name(legend, s.labels)):
        fig.add_trace(
            go.Scatter(
                x=_as_datetimes(s.times),
                y=list(s.values),
                name=legend_name(legend, s.labels),
                mode="lines",
                stackgroup="load" if stacked else None,
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
        uirevision=title,
    )
    if not series:
        fig.add_annotation(
            text="no data yet",
            x=0.5,
            y=0.5,
            xref="paper",
            yref="paper",
            showarrow=False,
            font={"size": 16, "color": "#888"},
        )
    return fig


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
