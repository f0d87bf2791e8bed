"""The Performance Insights page's pure figure and table functions."""

from __future__ import annotations

from dashboards import palette, pi_figures
from dashboards.data import Series
from dashboards.pi_data import Slice, period_for


def test_db_load_is_stacked_by_dimension_under_the_max_vcpu_line() -> None:
    series = [
        Series({"name": "CPU"}, (1.0, 2.0), (1.0, 1.5)),
        Series({"name": "Timeout:PgSleep"}, (1.0, 2.0), (2.0, 2.0)),
    ]
    fig = pi_figures.db_load_figure(series, 2.0, title="DB load by waits")
    assert [t.name for t in fig.data] == ["CPU", "Timeout:PgSleep"]
    assert fig.layout.showlegend is True
    assert all(t.stackgroup == "load" for t in fig.data)
    assert [s.y0 for s in fig.layout.shapes] == [2.0]
    assert fig.layout.annotations[0].text == "Max vCPU 2"


def test_waits_take_their_type_colour_and_other_slices_keep_theirs() -> None:
    series = [
        Series({"name": "CPU"}, (1.0,), (1.0,)),
        Series({"name": "IO:DataFileRead"}, (1.0,), (1.0,)),
        Series({"name": "Lock"}, (1.0,), (1.0,)),
    ]
    fig = pi_figures.db_load_figure(series, None, title="waits", group="db.wait_event")
    colors = {t.name: t.line.color for t in fig.data}
    assert colors["CPU"] == palette.WAIT_TYPE_COLORS["CPU"] == "#3eb649"
    assert colors["Lock"] == palette.WAIT_TYPE_COLORS["Lock"]
    assert colors["IO:DataFileRead"] == palette.wait_color("IO:DataFileRead")
    # A statement that happens to start like a wait is not coloured as one.
    sql = [Series({"name": "Lock:x", "id": "D1"}, (1.0,), (1.0,))]
    by_sql = pi_figures.db_load_figure(sql, None, title="sql", group="db.sql_tokenized")
    assert by_sql.data[0].line.color in palette.NAMED_COLORS
    assert list(by_sql.data[0].customdata) == ["D1"]  # a click drills into the digest


def test_long_statements_are_shortened_in_the_legend_and_empty_says_so() -> None:
    long = "select " + ", ".join(f"c{i}" for i in range(40)) + " from t"
    fig = pi_figures.db_load_figure([Series({"name": long}, (1.0,), (1.0,))], None, title="x")
    assert len(fig.data[0].name) == 60 and fig.data[0].name.endswith("…")
    assert not fig.layout.shapes
    empty = pi_figures.db_load_figure([], None, title="x")
    assert empty.layout.annotations[0].text == "no data yet"


def test_top_sql_rows_show_load_share_and_per_call_statistics() -> None:
    slices = [
        Slice(
            "select * from t where id = ?",
            "D1",
            1.234,
            {"calls_per_sec": 12.5, "avg_latency_per_call": 0.456},
        ),
        Slice("select 1", "D2", 0.5, {}),
    ]
    rows = pi_figures.top_sql_rows(slices, 2.0)
    assert rows[0] == {
        "id": "D1",
        "Statement": "select * from t where id = ?",
        "Load (AAS)": "1.23",
        "Load share": "61.7 %",
        "Calls/s": "12.50",
        "ms/call": "0.46",
        "Rows/call": "-",
        "Blocks hit/call": "-",
        "Blocks read/call": "-",
    }
    assert rows[1]["Load share"] == "25.0 %"
    assert pi_figures.top_sql_rows(slices, 0.0)[0]["Load share"] == "-"


def test_movers_rank_by_absolute_change_and_count_a_missing_slice_as_zero() -> None:
    baseline = [Slice("CPU", "", 2.0, {}), Slice("IO:DataFileRead", "", 1.0, {})]
    now = [Slice("CPU", "", 1.5, {}), Slice("Lock:transactionid", "", 3.0, {})]
    rows = pi_figures.movers(now, baseline)  # period A, then B (the baseline)
    assert [(r["Slice"], r["Change (AAS)"], r["Change"]) for r in rows] == [
        ("Lock:transactionid", "+3.00", "new"),
        ("IO:DataFileRead", "-1.00", "-100 %"),
        ("CPU", "-0.50", "-25 %"),
    ]


def test_the_period_follows_the_window_as_the_pi_api_takes_it() -> None:
    assert [period_for(s) for s in (300, 1800, 3600, 86400, 7 * 86400, 30 * 86400)] == [
        1,
        1,
        60,
        60,
        3600,
        3600,
    ]


def test_stats_over_time_draw_one_line_per_statistic() -> None:
    stats = {
        "calls_per_sec": Series({"name": "calls_per_sec"}, (1.0, 2.0), (3.0, 4.0)),
        "avg_latency_per_call": Series({"name": "x"}, (1.0, 2.0), (0.5, 0.7)),
    }
    fig = pi_figures.sql_stats_figure(stats)
    assert sorted(t.name for t in fig.data) == ["calls/s", "ms/call"]
    empty = pi_figures.sql_stats_figure({}, unavailable="PI down")
    assert empty.layout.annotations[0].text == "PI down"
