import plotly.graph_objects as go

from dashboards import figures
from dashboards.data import Series

EVENTS = [
    {
        "EventId": "RDS-EVENT-0073",
        "SourceIdentifier": "c",
        "SourceType": "db-cluster",
        "EventCategories": ["failover"],
        "Message": "Started cross AZ failover to DB instance: c-instance-2.",
        "Date": "2026-01-01T00:00:00.000Z",
    },
    {
        "EventId": "RDS-EVENT-0071",
        "SourceIdentifier": "c",
        "SourceType": "db-cluster",
        "EventCategories": ["failover"],
        "Message": "Completed failover to DB instance: c-instance-2.",
        "Date": "2026-01-01T00:00:01.000Z",
    },
    {
        "EventId": "RDS-EVENT-0006",
        "SourceIdentifier": "c-instance-1",
        "SourceType": "db-instance",
        "EventCategories": ["availability"],
        "Message": "DB instance restarted.",
        "Date": "2026-01-01T00:00:03.000Z",
    },
]


def test_event_rows_are_newest_first_and_flag_failovers() -> None:
    rows = figures.event_rows(EVENTS)
    assert [r["EventId"] for r in rows] == ["RDS-EVENT-0006", "RDS-EVENT-0071", "RDS-EVENT-0073"]
    assert [r["failover"] for r in rows] == ["no", "yes", "yes"]


def test_completed_failovers_become_markers() -> None:
    markers = figures.failover_markers(EVENTS)
    assert markers == [(1767225601.0, "failover")]


def test_one_trace_per_series_named_by_legend() -> None:
    series = [
        Series({"db_instance": "c-instance-3"}, (1.0, 2.0), (0.5, 0.7)),
        Series({"db_instance": "c-instance-2"}, (1.0, 2.0), (0.1, 0.2)),
    ]
    fig = figures.time_series_figure(series, title="Lag", unit="ms", legend="{db_instance}")
    assert [t.name for t in fig.data] == ["c-instance-2", "c-instance-3"]
    assert list(fig.data[1].y) == [0.5, 0.7]


def test_empty_data_says_so() -> None:
    fig = figures.time_series_figure([], title="Lag", unit="ms", legend="{db_instance}")
    assert fig.layout.annotations[0].text == "no data yet"


def test_legend_falls_back_to_labels() -> None:
    assert figures.legend_name("{missing}", {"a": "1", "__name__": "x"}) == "a=1"


def test_writer_spans_are_the_stretches_at_one() -> None:
    writer = Series({}, (0.0, 1.0, 2.0, 3.0, 4.0, 10.0, 11.0, 12.0), (0, 1, 1, 0, 1, 1, 1, 0))
    assert figures.spans_at_one(writer, "writer: a", step=1.0) == [
        (1.0, 2.0, "writer: a"),
        (4.0, 4.0, "writer: a"),  # a gap in the data ends a stretch
        (10.0, 11.0, "writer: a"),
    ]
    assert figures.spans_at_one(Series({}, (), ()), "x", step=1.0) == []


def test_a_zero_floored_axis_and_a_flat_zero_line() -> None:
    flat = [Series({"name": "r"}, (0.0, 1.0), (0.0, 0.0))]
    fig = figures.time_series_figure(flat, title="t", unit="bytes", legend="{name}", minimum=0)
    assert fig.layout.yaxis.rangemode == "tozero"
    assert list(fig.layout.yaxis.range) == [0, 1]
    busy = [Series({"name": "r"}, (0.0, 1.0), (0.0, 5.0))]
    fig = figures.time_series_figure(busy, title="t", unit="bytes", legend="{name}", minimum=0)
    assert fig.layout.yaxis.range is None and fig.layout.yaxis.rangemode == "tozero"
    unfloored = figures.time_series_figure(flat, title="t", unit="x", legend="{name}")
    assert unfloored.layout.yaxis.rangemode is None


def test_shading_draws_a_labelled_span_below_the_lines() -> None:
    fig = figures.time_series_figure(
        [], title="t", unit="u", legend="{name}", shading=[(0.0, 60.0, "writer: a")]
    )
    (rect,) = fig.layout.shapes
    assert rect.layer == "below"
    assert "writer: a" in [a.text for a in fig.layout.annotations]


def test_a_full_figure_passes_plotly_validation() -> None:
    """The figure is built without plotly's validation (for speed): every property it sets
    must still be one plotly knows, or plotly.js would ignore it silently."""
    series = [
        Series({"name": "a"}, (1.0, 2.0), (0.5, 0.7)),
        Series({"name": "CPU"}, (1.0, 2.0), (0.1, 0.2)),
    ]
    fig = figures.time_series_figure(
        series,
        title="t",
        unit="u",
        legend="{name}",
        markers=[(1.5, "failover")],
        stacked=True,
        x_range=["2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z"],
        revision="r",
        minimum=0,
        shading=[(1.0, 2.0, "writer: a")],
        colors=lambda name: "#123456" if name == "CPU" else None,
    )
    checked = go.Figure(fig.to_plotly_json())  # raises ValueError on an unknown property
    assert [t.line.color for t in checked.data] == ["#123456", None]
    assert [t.stackgroup for t in checked.data] == ["load", "load"]
    assert {s.type for s in checked.layout.shapes} == {"line", "rect"}
    assert checked.layout.template.layout.plot_bgcolor == "white"  # plotly_white


def test_times_are_milliseconds_on_a_date_axis() -> None:
    series = [Series({"name": "a"}, (1767225600.0, 1767225615.0), (1.0, 2.0))]
    fig = figures.time_series_figure(series, title="t", unit="u", legend="{name}")
    assert list(fig.data[0].x) == [1767225600000.0, 1767225615000.0]
    assert fig.layout.xaxis.type == "date"
    (rect,) = figures.time_series_figure(
        [], title="t", unit="u", legend="{name}", shading=[(60.0, 120.0, "writer: a")]
    ).layout.shapes
    assert (rect.x0, rect.x1) == (60_000.0, 120_000.0)
