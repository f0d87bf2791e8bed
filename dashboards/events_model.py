"""The Events page's data shaping: filtering the events table and the failover timeline (one
row per instance, its role over time as coloured bars, failover and reboot markers). Pure."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import plotly.graph_objects as go

from core.events import SourceType
from dashboards.data import Series
from dashboards.figures import empty_note

ROLE_COLOURS = {"writer": "#ff9900", "reader": "#1f77b4"}
FAILOVER_DONE = "RDS-EVENT-0071"
RESTARTED = "RDS-EVENT-0006"
MARKERS = {FAILOVER_DONE: ("failover", "#d62728"), RESTARTED: ("reboot", "#555555")}
ALL = ""  # a dropdown's "any" value


def writer_by_instance(matchers: str = "") -> str:
    """1 while an instance is the writer, 0 while a reader: one series per instance across
    roles, for the instance filter's PromQL matchers ("" for every instance)."""
    selector = f"{{{matchers}}}" if matchers else ""
    return f"max by (db_instance) (borealis_instance_is_writer{selector})"


def event_time(event_row: dict[str, Any]) -> float:
    return datetime.fromisoformat(str(event_row["Date"]).replace("Z", "+00:00")).timestamp()


def filter_rows(
    rows: Sequence[dict[str, Any]],
    *,
    source_type: str | None = None,
    category: str | None = None,
    event_id: str | None = None,
    text: str | None = None,
    start: float | None = None,
    end: float | None = None,
) -> list[dict[str, Any]]:
    """The rows (figures.event_rows) that match every filter given: an exact source type,
    one of the categories, an exact event ID, `text` anywhere in the source or message (case
    insensitive), and a time within [start, end]."""
    needle = (text or "").strip().lower()
    out = []
    for row in rows:
        if source_type and row["Type"] != source_type:
            continue
        if category and category not in row["Categories"].split(", "):
            continue
        if event_id and row["EventId"] != event_id:
            continue
        if needle and needle not in f"{row['Source']} {row['Message']}".lower():
            continue
        when = event_time(row)
        if (start is not None and when < start) or (end is not None and when > end):
            continue
        out.append(row)
    return out


def for_instance(rows: Sequence[dict[str, Any]], instance: str | None) -> list[dict[str, Any]]:
    """The rows of the chosen instance's events and every cluster-level event (a failover,
    the cluster's creation); every row when no instance is chosen."""
    if not instance:
        return list(rows)
    return [
        row for row in rows if row["Type"] != SourceType.DB_INSTANCE or row["Source"] == instance
    ]


def options(
    rows: Sequence[dict[str, Any]], column: str, keep: str | None = None
) -> list[dict[str, str]]:
    """The dropdown's choices: every value of `column` in the rows (and `keep`, the one
    chosen, even when no row has it now), sorted, after "any"."""
    values: set[str] = {keep} if keep else set()
    for row in rows:
        values.update(v for v in str(row[column]).split(", ") if v)
    return [{"label": "(any)", "value": ALL}] + [{"label": v, "value": v} for v in sorted(values)]


def role_spans(series: Series, step: float) -> list[tuple[float, float, str]]:
    """(start, end, role) stretches of one instance's writer series (1 writer, 0 reader);
    samples more than two steps apart (the instance was not scraped) end a stretch. A stretch
    runs to its last sample plus one step, so a single sample still shows."""
    spans: list[tuple[float, float, str]] = []
    start = last = None
    role = ""
    for when, value in zip(series.times, series.values, strict=True):
        current = "writer" if value >= 1 else "reader"
        if start is not None and last is not None and current == role and when - last <= 2 * step:
            last = when
            continue
        if start is not None and last is not None:
            spans.append((start, last + step, role))
        start = last = when
        role = current
    if start is not None and last is not None:
        spans.append((start, last + step, role))
    return spans


def markers(events: Sequence[dict[str, Any]]) -> list[tuple[float, str, str]]:
    """(time, label, colour) for completed failovers and restarts, from the collector's events."""
    out = []
    for event in events:
        kind = MARKERS.get(str(event.get("EventId")))
        if kind is not None:
            label = f"{kind[0]}: {event.get('SourceIdentifier', '')}"
            out.append((event_time(event), label, kind[1]))
    return out


def _utc(when: float) -> datetime:
    return datetime.fromtimestamp(when, UTC)


def timeline_figure(
    series: Sequence[Series],
    step: float,
    event_markers: Sequence[tuple[float, str, str]] = (),
    *,
    x_range: Sequence[str] | None = None,
    revision: str = "",
    unavailable: str | None = None,
) -> go.Figure:
    """One row per instance, a bar per stretch in a role (writer orange, reader blue; no bar
    while it was not seen), dashed lines at failovers and reboots."""
    fig = go.Figure()
    shown_roles: set[str] = set()
    for s in sorted(series, key=lambda s: s.labels.get("db_instance", "")):
        instance = s.labels.get("db_instance", "?")
        for start, end, role in role_spans(s, step):
            fig.add_trace(
                go.Bar(
                    base=[_utc(start)],
                    x=[(end - start) * 1000.0],  # a date axis measures bars in milliseconds
                    y=[instance],
                    orientation="h",
                    marker_color=ROLE_COLOURS[role],
                    name=role,
                    legendgroup=role,
                    showlegend=role not in shown_roles,
                    hovertemplate=f"{instance}: {role}<br>%{{base}} +%{{x:.0f}} ms<extra></extra>",
                )
            )
            shown_roles.add(role)
    for when, label, colour in event_markers:
        fig.add_vline(x=_utc(when), line_width=1, line_dash="dash", line_color=colour)
        fig.add_annotation(
            x=_utc(when),
            y=1,
            yref="paper",
            text=label,
            showarrow=False,
            font={"size": 10, "color": colour},
            yanchor="bottom",
            textangle=-30,
        )
    rows = max(1, len(series))
    fig.update_layout(
        title={"text": "Roles over time (failover timeline)", "x": 0},
        barmode="overlay",
        height=140 + 40 * rows,
        margin={"l": 160, "r": 20, "t": 70, "b": 40},
        template="plotly_white",
        legend={"orientation": "h", "x": 1, "xanchor": "right", "y": 1.12},
        uirevision=f"timeline|{revision}",
    )
    fig.update_xaxes(type="date", title_text="time (UTC)")
    fig.update_yaxes(type="category", autorange="reversed")
    if x_range is not None:
        fig.update_xaxes(range=list(x_range), autorange=False)
    if not series:
        empty_note(fig, unavailable, "no data yet")
    return fig
