"""The Events page's shaping: filters, dropdown choices, role spans and the timeline figure."""

from __future__ import annotations

from datetime import UTC, datetime

from dashboards.data import Series
from dashboards.events_model import (
    ALL,
    ROLE_COLOURS,
    filter_rows,
    for_instance,
    markers,
    options,
    role_spans,
    timeline_figure,
    writer_by_instance,
)

T0 = datetime(2026, 12, 3, 10, 0, tzinfo=UTC).timestamp()


def row(
    event_id: str, kind: str, category: str, source: str, message: str, *, at: float
) -> dict[str, str]:
    date = datetime.fromtimestamp(T0 + at, UTC).isoformat(timespec="milliseconds")
    return {
        "Date": date.replace("+00:00", "Z"),
        "EventId": event_id,
        "Type": kind,
        "Source": source,
        "Categories": category,
        "Message": message,
    }


ROWS = [
    row("RDS-EVENT-0071", "db-cluster", "failover", "c1", "Completed failover to i-2.", at=300),
    row("RDS-EVENT-0006", "db-instance", "availability", "i-1", "DB instance restarted.", at=200),
    row(
        "BOREALIS-EVENT-0152",
        "db-instance",
        "availability, failure",
        "i-3",
        "Not reachable",
        at=100,
    ),
]


def ids(rows: list[dict[str, str]]) -> list[str]:
    return [r["EventId"] for r in rows]


def test_each_filter_narrows_and_they_combine() -> None:
    assert ids(filter_rows(ROWS)) == ids(ROWS)
    assert ids(filter_rows(ROWS, source_type="db-instance")) == [
        "RDS-EVENT-0006",
        "BOREALIS-EVENT-0152",
    ]
    assert ids(filter_rows(ROWS, category="failure")) == ["BOREALIS-EVENT-0152"]
    assert ids(filter_rows(ROWS, event_id="RDS-EVENT-0071")) == ["RDS-EVENT-0071"]
    assert ids(filter_rows(ROWS, text="  I-2 ")) == ["RDS-EVENT-0071"]  # source or message
    assert ids(filter_rows(ROWS, text="i-3")) == ["BOREALIS-EVENT-0152"]
    assert ids(filter_rows(ROWS, start=T0 + 150, end=T0 + 250)) == ["RDS-EVENT-0006"]
    assert filter_rows(ROWS, source_type="db-instance", category="failover") == []
    # "any" (the empty value) filters nothing.
    assert ids(filter_rows(ROWS, source_type=ALL, category=ALL, event_id=ALL, text="")) == ids(ROWS)


def test_options_split_categories_and_keep_the_chosen_one() -> None:
    values = [o["value"] for o in options(ROWS, "Categories")]
    assert values == [ALL, "availability", "failover", "failure"]
    kept = [o["value"] for o in options(ROWS[:1], "EventId", keep="RDS-EVENT-0006")]
    assert kept == [ALL, "RDS-EVENT-0006", "RDS-EVENT-0071"]


def test_role_spans_split_on_role_change_and_gaps() -> None:
    times = (0.0, 1.0, 2.0, 3.0, 4.0, 10.0, 11.0)
    values = (1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0)
    spans = role_spans(Series({"db_instance": "i-1"}, times, values), step=1.0)
    assert spans == [
        (0.0, 2.0, "writer"),
        (2.0, 5.0, "reader"),
        (10.0, 11.0, "reader"),  # after a gap: not seen from 5 to 10
        (11.0, 12.0, "writer"),
    ]


def test_markers_for_failovers_and_reboots_only() -> None:
    events = [
        {"EventId": r["EventId"], "SourceIdentifier": r["Source"], "Date": r["Date"]} for r in ROWS
    ]
    found = markers(events)
    assert [(when - T0, label) for when, label, _ in found] == [
        (300.0, "failover: c1"),
        (200.0, "reboot: i-1"),
    ]


def test_timeline_one_row_per_instance_coloured_by_role() -> None:
    series = [
        Series({"db_instance": "i-2"}, (T0, T0 + 1, T0 + 2), (0.0, 1.0, 1.0)),
        Series({"db_instance": "i-1"}, (T0, T0 + 1, T0 + 2), (1.0, 0.0, 0.0)),
    ]
    fig = timeline_figure(series, 1.0, [(T0 + 1, "failover: c1", "#d62728")])
    bars = [(t.y[0], t.name, t.marker.color, t.x[0]) for t in fig.data]
    assert bars == [
        ("i-1", "writer", ROLE_COLOURS["writer"], 1000.0),
        ("i-1", "reader", ROLE_COLOURS["reader"], 2000.0),
        ("i-2", "reader", ROLE_COLOURS["reader"], 1000.0),
        ("i-2", "writer", ROLE_COLOURS["writer"], 2000.0),
    ]
    assert [t.showlegend for t in fig.data] == [True, True, False, False]
    assert [a.text for a in fig.layout.annotations] == ["failover: c1"]
    assert fig.layout.xaxis.type == "date"


def test_timeline_says_why_it_is_empty() -> None:
    fig = timeline_figure([], 1.0, unavailable="Prometheus unavailable at x: refused")
    assert fig.data == ()
    assert [a.text for a in fig.layout.annotations] == ["Prometheus unavailable at x: refused"]


def test_the_instance_filter_keeps_its_events_and_the_clusters() -> None:
    assert ids(for_instance(ROWS, "i-1")) == ["RDS-EVENT-0071", "RDS-EVENT-0006"]
    assert ids(for_instance(ROWS, "i-3")) == ["RDS-EVENT-0071", "BOREALIS-EVENT-0152"]
    assert ids(for_instance(ROWS, "i-9")) == ["RDS-EVENT-0071"]
    assert for_instance(ROWS, None) == ROWS
    assert for_instance(ROWS, ALL) == ROWS


def test_the_timeline_query_takes_the_instance_filter() -> None:
    assert writer_by_instance() == "max by (db_instance) (borealis_instance_is_writer)"
    assert writer_by_instance('db_instance="i-1"') == (
        'max by (db_instance) (borealis_instance_is_writer{db_instance="i-1"})'
    )
