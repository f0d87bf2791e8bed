"""Performance Insights' figures and tables: DB load stacked by a dimension under the Max vCPU
line, top SQL with load share and per-call statistics, a digest's statistics over time, and
the top movers between two periods. Pure functions; no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from dashboards import palette
from dashboards.data import Series
from dashboards.figures import time_series_figure
from dashboards.pi_data import Slice

AAS = "average active sessions"
# Top-SQL columns: (title, statistic, digits); the statistics are PI's per-call figures.
STAT_COLUMNS = (
    ("Calls/s", "calls_per_sec", 2),
    ("ms/call", "avg_latency_per_call", 2),
    ("Rows/call", "rows_per_call", 2),
    ("Blocks hit/call", "shared_blks_hit_per_call", 1),
    ("Blocks read/call", "shared_blks_read_per_call", 1),
)
TOP_SQL_COLUMNS = ("Statement", "Load (AAS)", "Load share", *(c for c, _, _ in STAT_COLUMNS))
MOVER_COLUMNS = ("Slice", "Period A (AAS)", "Period B (AAS)", "Change (AAS)", "Change")  # A - B
STAT_TITLES = {
    "calls_per_sec": "calls/s",
    "avg_latency_per_call": "ms/call",
    "rows_per_call": "rows/call",
    "shared_blks_hit_per_call": "blocks hit/call",
    "shared_blks_read_per_call": "blocks read/call",
}


def db_load_figure(
    series: Sequence[Series],
    max_vcpu: float | None,
    *,
    title: str,
    group: str = "db.wait_event",
    unavailable: str | None = None,
    x_range: Sequence[str] | None = None,
    revision: str = "",
) -> go.Figure:
    """DB load stacked by a dimension, with the Max vCPU line (the host's CPUs); waits in
    their type's colour, any other slice in a colour fixed by its name. Each trace carries
    its key (a digest's id for SQL, else its name) as customdata, for a click to drill in."""
    named = [
        Series(
            {"name": _short(s.labels.get("name", "")) or "(none)", "key": _key(s)},
            s.times,
            s.values,
        )
        for s in series
    ]
    waits = palette.is_wait_group(group)
    fig = time_series_figure(
        named,
        title=title,
        unit=AAS,
        legend="{name}",
        stacked=True,
        unavailable=unavailable,
        x_range=x_range,
        revision=revision,
        minimum=0,
        colors=lambda name: palette.color_for(name, waits),
    )
    by_name = {s.labels["name"]: s.labels["key"] for s in named}
    for trace in fig.data:
        trace.customdata = [by_name.get(trace.name, trace.name)] * len(trace.x)
    fig.update_layout(showlegend=True, hovermode="closest")  # even one slice: its name counts
    if max_vcpu:
        fig.add_hline(
            y=max_vcpu,
            line_dash="dash",
            line_color="#d62728",
            annotation_text=f"Max vCPU {max_vcpu:g}",
            annotation_position="top left",
        )
    return fig


def _key(series: Series) -> str:
    return series.labels.get("id") or series.labels.get("name", "")


def _short(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _figure(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def top_sql_rows(slices: Sequence[Slice], total_load: float) -> list[dict[str, Any]]:
    """One row per digest, heaviest first: its load (AAS), its share of the DB load over the
    range, its per-call statistics ("-" where the collector has none); `id` is the digest's."""
    rows = []
    for found in slices:
        share = f"{100 * found.load / total_load:.1f} %" if total_load > 0 else "-"
        row: dict[str, Any] = {
            "id": found.key_id,
            "Statement": found.name,
            "Load (AAS)": f"{found.load:.2f}",
            "Load share": share,
        }
        for column, stat, digits in STAT_COLUMNS:
            row[column] = _figure(found.stats.get(stat), digits)
        rows.append(row)
    return rows


def wait_rows(slices: Sequence[Slice], total_load: float) -> list[dict[str, Any]]:
    """One row per wait event, heaviest first, with its share of the DB load."""
    return [
        {
            "id": found.name,
            "Wait event": found.name,
            "Load (AAS)": f"{found.load:.2f}",
            "Load share": f"{100 * found.load / total_load:.1f} %" if total_load > 0 else "-",
        }
        for found in slices
    ]


def sql_stats_figure(
    stats: dict[str, Series],
    *,
    unavailable: str | None = None,
    x_range: Sequence[str] | None = None,
    revision: str = "",
) -> go.Figure:
    """A digest's per-call statistics over time, one line per statistic."""
    series = [
        Series({"name": STAT_TITLES.get(name, name)}, s.times, s.values)
        for name, s in stats.items()
        if name in STAT_TITLES
    ]
    fig = time_series_figure(
        series,
        title="Per-call statistics over time",
        unit="per call (calls: per second)",
        legend="{name}",
        unavailable=unavailable,
        x_range=x_range,
        revision=revision,
        minimum=0,
    )
    fig.update_traces(mode="lines+markers")
    return fig


def movers(
    period_a: Sequence[Slice], period_b: Sequence[Slice], limit: int = 10
) -> list[dict[str, Any]]:
    """The slices whose average active sessions changed most from period B (the baseline,
    e.g. a day earlier) to period A, largest absolute change first; a slice missing from one
    period counts as 0 there."""
    by_key_a = {s.key_id or s.name: s for s in period_a}
    by_key_b = {s.key_id or s.name: s for s in period_b}
    rows = []
    for key in by_key_a.keys() | by_key_b.keys():
        a, b = by_key_a.get(key), by_key_b.get(key)
        named = a if a is not None else b
        value_a = a.load if a else 0.0
        value_b = b.load if b else 0.0
        change = value_a - value_b
        if value_b > 0:
            relative = f"{100 * change / value_b:+.0f} %"
        else:
            relative = "new" if value_a > 0 else "-"
        rows.append(
            {
                "id": key,
                "Slice": named.name if named is not None else key,
                "Period A (AAS)": f"{value_a:.2f}",
                "Period B (AAS)": f"{value_b:.2f}",
                "Change (AAS)": f"{change:+.2f}",
                "Change": relative,
            }
        )
    rows.sort(key=lambda r: (-abs(float(r["Change (AAS)"])), r["Slice"]))
    return rows[:limit]
