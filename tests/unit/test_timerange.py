"""The shared time range: the picker's choices, the step that follows the window, absolute
inputs and drag-to-zoom read into the range store, reset back to the picked range."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from dash import no_update

from dashboards import figures, rangebar, timerange
from dashboards.data import Series

NOW = datetime(2026, 12, 3, 8, 0, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(("seconds", "_label"), timerange.RELATIVE_CHOICES)
def test_every_choice_gives_at_most_the_target_points_never_below_the_scrape(
    seconds: int, _label: str
) -> None:
    step = timerange.step_for(seconds)
    assert step >= timerange.SCRAPE_S
    points = seconds / step
    # Whole seconds: at most the target, and more than half of it (5 min: 2 s, 150 points).
    assert timerange.TARGET_POINTS / 2 < points <= timerange.TARGET_POINTS


def test_a_relative_range_ends_now_and_keeps_its_key_across_refreshes() -> None:
    shown = timerange.resolve(timerange.relative(3600), now=NOW)
    assert (shown.start, shown.end) == (NOW - 3600, NOW)
    assert timerange.resolve(timerange.relative(3600), now=NOW + 5).key == shown.key
    assert shown.step == 15.0  # 240 points


def test_nothing_or_garbage_stored_is_the_default_range() -> None:
    for stored in (None, {}, {"last_s": "x"}, {"last_s": -5}, {"start": 5, "end": 1}):
        assert timerange.resolve(stored, now=NOW).seconds == timerange.DEFAULT_LAST_S


def test_an_absolute_range_from_the_inputs_is_utc() -> None:
    start, end = timerange.from_inputs("2026-12-03T07:00", "2026-12-03T08:00")
    assert (start, end) == (NOW - 3600, NOW)
    shown = timerange.resolve(timerange.absolute(start, end), now=NOW + 999)
    assert (shown.start, shown.end) == (start, end)
    assert shown.x_range() == ["2026-12-03 07:00:00.000", "2026-12-03 08:00:00.000"]


@pytest.mark.parametrize(
    ("start", "end", "says"),
    [
        (None, "2026-12-03T08:00", "both"),
        ("2026-12-03T09:00", "2026-12-03T08:00", "before the end"),
        ("yesterday", "2026-12-03T08:00", "'yesterday' is not a date"),
    ],
)
def test_a_bad_absolute_range_is_refused_in_the_bar(start: str | None, end: str, says: str) -> None:
    stored = timerange.relative(900)
    value, error = rangebar.picked(timerange.ABSOLUTE, start, end, stored)
    assert value is no_update
    assert says in error


def test_picking_a_relative_range_or_an_unknown_one() -> None:
    assert rangebar.picked("86400", None, None, None) == ({"last_s": 86400.0}, "")
    value, error = rangebar.picked("1234", None, None, None)
    assert value is no_update and "unknown range" in error


def test_drag_to_zoom_reads_plotlys_relayout_data() -> None:
    zoom = {"xaxis.range[0]": "2026-12-03 07:30:00.5", "xaxis.range[1]": "2026-12-03 07:45"}
    assert timerange.from_relayout(zoom) == (NOW - 1799.5, NOW - 900)
    assert timerange.from_relayout({"xaxis.range": ["2026-12-03 07:30", "2026-12-03 08:00"]})
    for other in (None, {"autosize": True}, {"xaxis.autorange": True}, {"yaxis.range[0]": 1}):
        assert timerange.from_relayout(other) is None


def test_a_zoom_becomes_the_range_and_keeps_the_picked_one_for_reset() -> None:
    zoom = {"xaxis.range[0]": "2026-12-03 07:30", "xaxis.range[1]": "2026-12-03 07:45"}
    stored = rangebar.zoomed(zoom, timerange.relative(3600))
    assert stored == {"start": NOW - 1800, "end": NOW - 900, "last_s": 3600.0}
    assert rangebar.zoomed({"autosize": True}, stored) is no_update
    assert rangebar.reset(stored) == timerange.relative(3600.0)


def test_reset_returns_to_the_picked_relative_range() -> None:
    zoomed = timerange.absolute(NOW - 100, NOW - 50, last_s=3 * 3600)
    assert rangebar.reset(zoomed) == {"last_s": 3 * 3600.0}
    assert "Showing 2026-12-03 07:58" in rangebar.describe(zoomed)
    assert rangebar.describe(rangebar.reset(zoomed)) == ""


def test_a_figure_over_a_shared_range_fixes_its_x_axis() -> None:
    shown = timerange.resolve(timerange.absolute(NOW - 60, NOW), now=NOW)
    series = [Series({"name": "a"}, (NOW - 30,), (1.0,))]
    fig = figures.time_series_figure(
        series, title="t", unit="u", legend="{name}", x_range=shown.x_range(), revision=shown.key
    )
    assert list(fig.layout.xaxis.range) == shown.x_range()
    assert fig.layout.xaxis.autorange is False
    assert fig.layout.xaxis.type == "date"  # even a graph with no series
    assert fig.layout.uirevision == f"t|{shown.key}"


def test_the_pause_box_disables_auto_refresh() -> None:
    assert rangebar.paused([rangebar.PAUSED]) is True
    assert rangebar.paused([]) is False and rangebar.paused(None) is False
