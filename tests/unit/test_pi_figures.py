"""The Performance Insights page's pure figure and table functions."""

from __future__ import annotations

from dashboards import figures
from dashboards.data import Series


def test_db_load_is_stacked_by_dimension_under_the_max_vcpu_line() -> None:
    series = [
        Series({"name": "CPU"}, (1.0, 2.0), (1.0, 1.5)),
        Series({"name": "Timeout:PgSleep"}, (1.0, 2.0), (2.0, 2.0)),
    ]
    fig = figures.db_load_figure(series, 2.0, title="DB load by waits")
    assert [t.name for t in fig.data] == ["CPU", "Timeout:PgSleep"]
    assert fig.layout.showlegend is True
    assert all(t.stackgroup == "load" for t in fig.data)
    assert [s.y0 for s in fig.layout.shapes] == [2.0]
    assert fig.layout.annotations[0].text == "Max vCPU 2"


def test_long_statements_are_shortened_in_the_legend_and_empty_says_so() -> None:
    long = "select " + ", ".join(f"c{i}" for i in range(40)) + " from t"
    fig = figures.db_load_figure([Series({"name": long}, (1.0,), (1.0,))], None, title="x")
    assert len(fig.data[0].name) == 60 and fig.data[0].name.endswith("…")
    assert not fig.layout.shapes
    empty = figures.db_load_figure([], None, title="x")
    assert empty.layout.annotations[0].text == "no data yet"


def test_top_sql_rows_show_load_and_statement_statistics() -> None:
    keys = [
        {
            "Dimensions": {"db.sql_tokenized.statement": "select * from t where id = ?"},
            "Total": 1.234,
            "AdditionalMetrics": {
                "db.sql_tokenized.stats.calls_per_sec.avg": 12.5,
                "db.sql_tokenized.stats.avg_latency_per_call.avg": 0.456,
            },
        }
    ]
    assert figures.top_sql_rows(keys) == [
        {
            "Statement": "select * from t where id = ?",
            "Load (AAS)": "1.23",
            "Calls/s": "12.50",
            "ms/call": "0.46",
            "Rows/call": "-",
            "Blocks hit/call": "-",
            "Blocks read/call": "-",
        }
    ]
