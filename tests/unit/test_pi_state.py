"""The PI page's selection in its URL: parsed, written back, and what a click or a control
changes (the callbacks' pure part)."""

from __future__ import annotations

from datetime import UTC, datetime

from dash import no_update

from dashboards import ids
from dashboards.pages.performance_insights import selected, state


def test_the_state_round_trips_through_the_query_string_keeping_the_range() -> None:
    chosen = state.PiState(group="db.sql_tokenized", sql="D1", compare="1w")
    search = state.search_for(chosen, "?range=1h&instance=db-1&group=db.user")
    assert state.params(search) == {
        "range": "1h",
        "instance": "db-1",
        "group": "db.sql_tokenized",
        "sql": "D1",
        "compare": "1w",
    }
    assert state.parse(search) == chosen
    assert state.search_for(state.PiState(), "") == ""


def test_unreadable_parameters_fall_back_to_defaults() -> None:
    found = state.parse("?compare=yesterday&bfrom=x&sql=&wait=CPU")
    assert found == state.PiState(wait="CPU")


def test_period_b_is_a_day_or_a_week_earlier_or_absolute() -> None:
    day = state.PiState(compare="1d")
    assert state.period_b(day, 100_000.0, 103_600.0) == (13_600.0, 17_200.0)
    week = state.PiState(compare="1w")
    assert state.period_b(week, 700_000.0, 700_060.0) == (95_200.0, 95_260.0)
    absolute = state.PiState(compare="abs", b_from_ms=5_000, b_to_ms=9_000)
    assert state.period_b(absolute, 0.0, 1.0) == (5.0, 9.0)
    assert state.period_b(state.PiState(compare="abs"), 0.0, 1.0) is None
    assert state.period_b(state.PiState(), 0.0, 1.0) is None


def test_clicks_and_controls_write_the_url_and_the_url_sets_the_controls() -> None:
    search, *_ = selected(ids.PI_TOP_SQL, "?range=900", value="D7")
    assert state.params(search) == {"range": "900", "sql": "D7"}
    search, *_ = selected(ids.PI_TOP_WAITS, search, value="Lock:transactionid")
    assert state.parse(search).wait == "Lock:transactionid" and state.parse(search).sql is None
    search, *_ = selected(ids.PI_DRILL_CLOSE, search)
    assert state.params(search) == {"range": "900"}
    # A click on a slice of the load graph drills into that slice's digest.
    by_sql = "?group=db.sql_tokenized"
    assert state.parse(selected(ids.PI_LOAD_GRAPH, by_sql, value="D9")[0]).sql == "D9"
    # The URL (a shared link) sets the controls; nothing to write back.
    shared = "?group=db.user&instance=db-X&compare=1d"
    assert selected(ids.PI_URL, shared) == (no_update, "db.user", "1d")
    assert selected(None, "") == (no_update, "db.wait_event", "off")


def test_an_absolute_period_b_comes_from_the_two_inputs() -> None:
    search, *_ = selected(
        ids.PI_COMPARE,
        "",
        compare_choice="abs",
        b_inputs=("2026-12-01 10:00", "2026-12-01 11:00"),
    )
    found = state.parse(search)
    ten = datetime(2026, 12, 1, 10, tzinfo=UTC).timestamp() * 1000
    assert (found.compare, found.b_from_ms, found.b_to_ms) == ("abs", ten, ten + 3_600_000)
    search, *_ = selected(ids.PI_COMPARE, "", compare_choice="abs", b_inputs=("", None))
    assert state.params(search) == {"compare": "abs"}
