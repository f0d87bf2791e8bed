"""The UI's data module and page callbacks, called as functions, against a real Prometheus
(started here on a tiny TSDB backfilled with promtool), a real collector (in this process,
watching the integration PostgreSQL) and dead ports."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from collector.service import Collector
from collector.targets import Target
from core.events import EventStore, make_event
from core.settings import CollectorSettings, Settings
from dashboards import figures, timerange
from dashboards.context import UiContext
from dashboards.data import CollectorClient, DataUnavailable, PrometheusClient
from dashboards.pages import events, io, overview, performance_insights, replication
from dashboards.pi_data import PiClient
from tests.binaries import require_binary
from tests.conftest import INTEGRATION_PORTS, wait_for
from tests.integration.conftest import Postgres
from testsupport.waiting import answers_200

pytestmark = pytest.mark.integration

PROMETHEUS_PORT = INTEGRATION_PORTS + 800
COLLECTOR_PORTS = INTEGRATION_PORTS + 820  # the collector at +91, its PI API at +92
DEAD = "http://127.0.0.1:1"  # a privileged port nobody listens on
RID = "db-UIDATA"
SPAN_S = 120  # the backfilled samples: one a second, ending a few seconds ago


def openmetrics(end: int) -> str:
    """Known series: reads at 10/s, WAL records at 4/s, 1.5 sessions on CPU, 250 ms lag, no
    lag in bytes; ui-3 fails over half-way (reader, then writer) with a disk queue of 0.5."""
    lines = [
        "# TYPE borealis_blocks_read counter",
        "# TYPE borealis_wal_records counter",
        "# TYPE borealis_db_load_seconds counter",
        "# TYPE borealis_replica_lag_seconds gauge",
        "# TYPE demo_value gauge",
        "# TYPE borealis_replica_lag_bytes gauge",
        "# TYPE borealis_disk_io_weighted_seconds counter",
        "# TYPE borealis_instance_is_writer gauge",
    ]
    samples: dict[str, list[str]] = {}
    for i in range(SPAN_S):
        at = end - SPAN_S + i
        role = "reader" if i < SPAN_S // 2 else "writer"
        for series, value in (
            ('borealis_replica_lag_bytes{db_instance="ui-2",role="reader"}', 0),
            (f'borealis_disk_io_weighted_seconds_total{{db_instance="ui-3",role="{role}"}}', i / 2),
            (
                f'borealis_instance_is_writer{{db_instance="ui-3",role="{role}"}}',
                int(role == "writer"),
            ),
            ('borealis_blocks_read_total{db_instance="ui-1"}', 10 * i),
            ('borealis_wal_records_total{db_instance="ui-1"}', 4 * i),
            ('borealis_db_load_seconds_total{db_instance="ui-1",wait_event_type="CPU"}', 1.5 * i),
            ('borealis_replica_lag_seconds{db_instance="ui-2",role="reader"}', 0.25),
            ('demo_value{db_instance="a"}', 1 + i % 5),
            ('demo_value{db_instance="b"}', 100),
        ):
            samples.setdefault(series.split("{")[0], []).append(f"{series} {value} {at}")
    # OpenMetrics wants each family's samples together, after its TYPE line.
    families = {
        "borealis_blocks_read": "borealis_blocks_read_total",
        "borealis_wal_records": "borealis_wal_records_total",
        "borealis_db_load_seconds": "borealis_db_load_seconds_total",
        "borealis_replica_lag_seconds": "borealis_replica_lag_seconds",
        "demo_value": "demo_value",
        "borealis_replica_lag_bytes": "borealis_replica_lag_bytes",
        "borealis_disk_io_weighted_seconds": "borealis_disk_io_weighted_seconds_total",
        "borealis_instance_is_writer": "borealis_instance_is_writer",
    }
    out = []
    for type_line, (_, metric) in zip(lines, families.items(), strict=True):
        out += [type_line, *samples[metric]]
    return "\n".join([*out, "# EOF", ""])


@pytest.fixture(scope="module")
def prometheus(shared_tmp: Path) -> Iterator[str]:
    root = shared_tmp / "ui-prometheus"
    root.mkdir()
    data = root / "data"
    source = root / "series.om"
    source.write_text(openmetrics(int(time.time()) - 3))
    subprocess.run(
        [require_binary("promtool"), "tsdb", "create-blocks-from", "openmetrics", source, data],
        check=True,
        capture_output=True,
    )
    config = root / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 15s\n")
    url = f"http://127.0.0.1:{PROMETHEUS_PORT}"
    with (root / "prometheus.log").open("wb") as log:
        process = subprocess.Popen(
            [
                require_binary("prometheus"),
                f"--config.file={config}",
                f"--storage.tsdb.path={data}",
                f"--web.listen-address=127.0.0.1:{PROMETHEUS_PORT}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(lambda: answers_200(f"{url}/-/ready"), 30, what="Prometheus")
        yield url
    finally:
        process.terminate()
        process.wait(30)


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - our own URL
        return str(response.read().decode())


@pytest.fixture(scope="module")
def collector(postgres: Postgres, shared_tmp: Path) -> Iterator[str]:
    state = shared_tmp / "ui-collector"
    state.mkdir()
    settings = replace(
        Settings(state_dir=state),
        collector=CollectorSettings(poll_interval_s=0.5, sample_interval_s=0.5),
    )
    settings = replace(settings, ports=replace(settings.ports, base=COLLECTOR_PORTS))
    store = EventStore(state / "events.db")
    now = datetime.now(UTC)
    store.add(make_event("RDS-EVENT-0073", "ui-cluster", now - timedelta(minutes=3), name="ui-2"))
    store.add(make_event("RDS-EVENT-0071", "ui-cluster", now - timedelta(minutes=2), name="ui-2"))
    store.add(make_event("RDS-EVENT-0006", "ui-1", now - timedelta(hours=3)))
    target = Target("ui-cluster", "ui-1", postgres.monitor_dsn, resource_id=RID, az="local-1a")
    running = Collector(settings, [target], store)
    running.start()
    url = f"http://127.0.0.1:{settings.ports.port('collector')}"
    try:
        wait_for(lambda: CollectorClient(url).targets()[0]["up"], 20, what="ui-1 up")
        yield url
    finally:
        running.stop()


def context(prometheus: str, collector: str, pi: str | None = None) -> UiContext:
    return UiContext(
        prometheus=PrometheusClient(prometheus),
        collector=CollectorClient(collector),
        refresh_ms=1000,
        window_s=300.0,
        pi=PiClient(pi) if pi else None,
    )


def annotations(figure: Any) -> list[str]:
    return [a.text for a in figure.layout.annotations]


def steady(values: Any, rate: float) -> bool:
    """A rate() line over the backfilled counter: `rate` in the middle, lower only near its
    two ends, where Prometheus extrapolates over a partial window."""
    ordered = sorted(float(v) for v in values)
    return ordered[len(ordered) // 2] == pytest.approx(rate) and all(
        0 < v <= rate * (1 + 1e-9) for v in ordered
    )


def texts(children: list[Any]) -> list[str]:
    return [child.children for child in children]


# --- dashboards/data.py ---------------------------------------------------------------------


def test_instant_query_returns_each_series_with_its_labels(prometheus: str) -> None:
    found = PrometheusClient(prometheus + "/").query("demo_value")
    by_instance = {s.labels["db_instance"]: s for s in found}
    assert set(by_instance) == {"a", "b"}
    assert by_instance["b"].values == (100.0,)
    assert by_instance["a"].labels == {"__name__": "demo_value", "db_instance": "a"}
    assert abs(by_instance["a"].times[0] - time.time()) < 60  # evaluated now
    assert PrometheusClient(prometheus).query('demo_value{db_instance="nope"}') == []


def test_range_query_returns_points_at_the_step(prometheus: str) -> None:
    [reads] = PrometheusClient(prometheus).query_range(
        "rate(borealis_blocks_read_total[10s])", 100, 5
    )
    assert reads.labels == {"db_instance": "ui-1"}
    assert len(reads.times) == len(reads.values) >= 10
    assert all(b - a == 5 for a, b in zip(reads.times, reads.times[1:], strict=False))
    assert steady(reads.values, 10.0), reads.values


def test_a_step_that_does_not_divide_the_range_still_ends_at_its_end(prometheus: str) -> None:
    end = round(time.time(), 3)
    [reads] = PrometheusClient(prometheus).query_range(
        "rate(borealis_blocks_read_total[10s])", 100, 7, end
    )
    assert reads.times[-1] == pytest.approx(end, abs=1e-3)  # the newest point, not 2 s before
    assert all(
        b - a == pytest.approx(7) for a, b in zip(reads.times, reads.times[1:], strict=False)
    )


@pytest.mark.parametrize(
    ("promql", "reason"),
    [
        ("rate(demo_value[", "1:17: parse error: missing unit character in duration"),
        ("demo_value + on(", "1:17: parse error: unclosed left parenthesis"),
    ],
)
def test_a_bad_query_is_refused_with_prometheus_reason(
    prometheus: str, promql: str, reason: str
) -> None:
    with pytest.raises(DataUnavailable) as caught:
        PrometheusClient(prometheus).query(promql)
    assert str(caught.value) == (
        f'Prometheus unavailable at {prometheus}: the query failed: invalid parameter "query": '
        + reason
    )
    with pytest.raises(DataUnavailable, match="parse error"):
        PrometheusClient(prometheus).query_range(promql, 60, 1)


@pytest.mark.parametrize(("seconds", "step"), [(0, 1), (60, 0), (-5, 1), (float("nan"), 1)])
def test_a_range_that_is_not_positive_is_a_programming_error(
    prometheus: str, seconds: float, step: float
) -> None:
    with pytest.raises(ValueError, match="seconds and step > 0"):
        PrometheusClient(prometheus).query_range("demo_value", seconds, step)


def test_a_dead_port_is_unavailable_with_the_reason() -> None:
    with pytest.raises(DataUnavailable) as caught:
        PrometheusClient(DEAD).query("up")
    assert str(caught.value) == f"Prometheus unavailable at {DEAD}: [Errno 111] Connection refused"
    assert (caught.value.source, caught.value.url) == ("Prometheus", DEAD)
    with pytest.raises(DataUnavailable, match=r"^the collector unavailable at .*refused$"):
        CollectorClient(DEAD).events(60)
    with pytest.raises(DataUnavailable, match=r"^the collector unavailable at .*refused$"):
        CollectorClient(DEAD).targets()
    with pytest.raises(DataUnavailable, match=r"^Performance Insights unavailable at .*refused$"):
        PiClient(DEAD).slices(RID, "db.sql_tokenized", "db.sql_tokenized.statement", 0, 60)


def test_an_answer_that_is_not_the_api_is_unavailable(prometheus: str) -> None:
    # The Prometheus UI's HTML, where the collector's JSON API was expected.
    with pytest.raises(DataUnavailable, match="HTTP 404"):
        CollectorClient(prometheus).targets()
    with pytest.raises(DataUnavailable, match="not JSON"):
        CollectorClient(prometheus + "/graph?").events(5)


def test_the_collector_client_reads_events_and_targets(collector: str) -> None:
    client = CollectorClient(collector)
    recent = client.events(10)
    assert [e["EventId"] for e in recent] == ["RDS-EVENT-0073", "RDS-EVENT-0071"]
    assert [e["EventId"] for e in client.events(600)] == [
        "RDS-EVENT-0006",
        "RDS-EVENT-0073",
        "RDS-EVENT-0071",
    ]
    [target] = client.targets()
    assert (target["db_instance"], target["resource_id"], target["up"]) == ("ui-1", RID, True)


# --- the page callbacks ----------------------------------------------------------------------


def test_io_page_draws_the_series_and_no_status(prometheus: str, collector: str) -> None:
    read, write, *_, status = io.figures_for(context(prometheus, collector))
    assert status == []
    assert [t.name for t in read.data] == ["ui-1"]
    assert steady(read.data[0].y, 10.0)
    assert steady(write.data[0].y, 4.0)
    assert annotations(read) == ["writer: ui-3"]  # the writer's shading, nothing unavailable


def test_io_page_shares_one_legend_with_one_colour_per_instance(
    prometheus: str, collector: str
) -> None:
    *graphs, status = io.figures_for(context(prometheus, collector))
    assert status == []
    shared = [
        g
        for (graph_id, _), g in zip(io.GRAPHS, graphs, strict=True)
        if graph_id not in io.OWN_LEGEND
    ]
    (volume,) = [
        g for (graph_id, _), g in zip(io.GRAPHS, graphs, strict=True) if graph_id in io.OWN_LEGEND
    ]
    assert all(g.layout.showlegend is False for g in shared)
    assert volume.layout.showlegend is None  # its own legend: reads and writes
    drawn = {(t.name, t.line.color) for g in shared for t in g.data}
    assert {name for name, _ in drawn} == {"ui-1", "ui-3"}
    assert len(drawn) == 2  # each instance in one colour on every graph, the two apart
    legend = [
        (item.children[1], item.children[0].style["background"])
        for item in io.shared_legend(tuple(graphs))
    ]
    assert legend == sorted(drawn)


def test_io_page_keeps_one_series_per_instance_across_a_failover_and_shades_the_writer(
    prometheus: str, collector: str
) -> None:
    *_, _volume, queue, status = io.figures_for(context(prometheus, collector))
    assert status == []
    assert [t.name for t in queue.data] == ["ui-3"]  # not once as reader, once as writer
    assert steady(queue.data[0].y, 0.5)
    (shade,) = [shape for shape in queue.layout.shapes if shape.type == "rect"]
    (sampled,) = PrometheusClient(prometheus).query_range('demo_value{db_instance="b"}', 900, 1)
    failover = sampled.times[0] + SPAN_S // 2
    assert abs(shade.x0 / 1000 - failover) <= 1  # Plotly's date axis in ms
    assert "writer: ui-3" in annotations(queue)
    assert queue.layout.xaxis.title.text == "time (UTC)"
    assert queue.layout.yaxis.rangemode == "tozero"


def test_a_flat_zero_line_gets_a_zero_to_one_axis(prometheus: str, collector: str) -> None:
    _lag, lag_bytes, *_ = replication.figures_for(context(prometheus, collector))
    assert set(lag_bytes.data[0].y) == {0.0}
    assert list(lag_bytes.layout.yaxis.range) == [0, 1]
    assert lag_bytes.layout.yaxis.title.text == "bytes"


def test_io_page_over_an_absolute_range_draws_that_range_alone(
    prometheus: str, collector: str
) -> None:
    (sampled,) = PrometheusClient(prometheus).query_range('demo_value{db_instance="b"}', 900, 1)
    start, end = sampled.times[0] + 30, sampled.times[0] + 90
    shown = timerange.resolve(timerange.absolute(start, end))
    read, write, *_, status = io.figures_for(context(prometheus, collector).showing(shown))
    assert status == []
    for figure in (read, write):
        times = [x / 1000 for x in figure.data[0].x]  # Plotly's date axis in ms
        assert start <= min(times) and max(times) <= end
        assert len(times) == 61  # a minute at the 1 s step (60 s / 250 points, floored at 1 s)
        assert list(figure.layout.xaxis.range) == shown.x_range()
    assert steady(read.data[0].y, 10.0)


def test_a_week_range_queries_at_a_coarse_step(prometheus: str, collector: str) -> None:
    shown = timerange.resolve(timerange.relative(7 * 86400))
    assert shown.step == 2420.0  # 250 points a series
    lag, *_, status = replication.figures_for(context(prometheus, collector).showing(shown))
    assert status == []
    # A gauge (seen for 5 min after its last sample): the two minutes of samples fall on one
    # or two of the week's points, not on 120.
    assert 1 <= len(lag.data[0].x) <= 2
    assert list(lag.layout.xaxis.range) == shown.x_range()


def test_io_page_says_prometheus_is_down_instead_of_empty_graphs(collector: str) -> None:
    read, write, *_, status = io.figures_for(context(DEAD, collector))
    message = f"Prometheus unavailable at {DEAD}: [Errno 111] Connection refused"
    assert texts(status) == [message]
    assert [status[0].className] == ["unavailable"]
    for figure in (read, write):
        assert figure.data == ()
        assert annotations(figure) == [message]


def test_replication_page_marks_failovers_from_the_collector(
    prometheus: str, collector: str
) -> None:
    lag, lag_bytes, *_, status = replication.figures_for(context(prometheus, collector))
    assert status == []
    assert [t.name for t in lag.data] == ["ui-2"]
    assert set(lag.data[0].y) == {250.0}
    assert [t.name for t in lag_bytes.data] == ["ui-2"]
    assert "failover" in " ".join(annotations(lag)).lower()


def test_replication_page_with_both_sources_down_names_both() -> None:
    lag, *_, status = replication.figures_for(context(DEAD, DEAD))
    assert texts(status) == [
        f"the collector unavailable at {DEAD}: [Errno 111] Connection refused "
        "(no failover markers)",
        f"Prometheus unavailable at {DEAD}: [Errno 111] Connection refused",
    ]
    assert annotations(lag) == [f"Prometheus unavailable at {DEAD}: [Errno 111] Connection refused"]


def test_overview_page_shows_cards_load_and_latest_events(prometheus: str, collector: str) -> None:
    cards, endpoints, numbers, alerts, load, rows, status = overview.refresh_overview(
        context(prometheus, collector)
    )
    assert status == []
    assert [n["Instance"] for n in numbers] == ["ui-1"]
    assert (endpoints, alerts) == ([], [])  # this context has no endpoints nor Alertmanager
    assert "ui-1" in json.dumps([c.to_plotly_json() for c in cards], default=str)
    assert [t.name for t in load.data] == ["CPU"]
    assert steady(load.data[0].y, 1.5)
    assert [r["EventId"] for r in rows] == ["RDS-EVENT-0071", "RDS-EVENT-0073"]  # newest first


def test_overview_page_follows_the_instance_filter(prometheus: str, collector: str) -> None:
    ui_2 = replace(context(prometheus, collector), instance="ui-2")
    cards, _, numbers, _, load, rows, status = overview.refresh_overview(ui_2)
    assert status == []
    # ui-1 is not chosen: still on the topology (dimmed), out of the per-instance parts.
    drawn = json.dumps([c.to_plotly_json() for c in cards], default=str)
    assert "ui-1" in drawn and "dimmed" in drawn
    assert numbers == []
    assert load.data == ()
    # The cluster's failovers stay; ui-1's restart (three hours ago) is out of range anyway.
    assert [r["EventId"] for r in rows] == ["RDS-EVENT-0071", "RDS-EVENT-0073"]
    ui_1 = replace(context(prometheus, collector), instance="ui-1")
    _, _, numbers, _, load, _, _ = overview.refresh_overview(ui_1)
    assert [n["Instance"] for n in numbers] == ["ui-1"]
    assert [t.name for t in load.data] == ["CPU"]


def test_overview_page_with_prometheus_down_keeps_the_collector_parts(collector: str) -> None:
    cards, _, _, _, load, rows, status = overview.refresh_overview(context(DEAD, collector))
    assert texts(status) == [f"Prometheus unavailable at {DEAD}: [Errno 111] Connection refused"]
    assert cards and rows
    assert load.data == ()
    assert annotations(load) == texts(status)


def test_overview_page_with_the_collector_down_says_so(prometheus: str) -> None:
    cards, _, _, _, _, rows, status = overview.refresh_overview(context(prometheus, DEAD))
    assert (cards, rows) == ([], [])
    assert texts(status) == [f"the collector unavailable at {DEAD}: [Errno 111] Connection refused"]


@pytest.mark.parametrize(
    ("window_s", "filters", "expected"),
    [
        (300, {}, ["RDS-EVENT-0071", "RDS-EVENT-0073"]),
        (36000, {}, ["RDS-EVENT-0071", "RDS-EVENT-0073", "RDS-EVENT-0006"]),
        (36000, {"source_type": "db-instance"}, ["RDS-EVENT-0006"]),
        (36000, {"category": "failover"}, ["RDS-EVENT-0071", "RDS-EVENT-0073"]),
        (36000, {"event_id": "RDS-EVENT-0073"}, ["RDS-EVENT-0073"]),
        (36000, {"text": "COMPLETED failover"}, ["RDS-EVENT-0071"]),
    ],
)
def test_events_page_rows_for_a_range_and_filters(
    prometheus: str,
    collector: str,
    window_s: float,
    filters: dict[str, str],
    expected: list[str],
) -> None:
    ctx = replace(context(prometheus, collector), window_s=window_s)
    every, rows, problems = events.rows_for(ctx, dict(filters))
    assert problems == []
    assert [r["EventId"] for r in rows] == expected
    assert len(every) == (3 if window_s > 3 * 3600 else 2)


@pytest.mark.parametrize(
    ("instance", "expected"),
    [
        ("ui-1", ["RDS-EVENT-0071", "RDS-EVENT-0073", "RDS-EVENT-0006"]),
        ("ui-2", ["RDS-EVENT-0071", "RDS-EVENT-0073"]),  # the cluster's events only
    ],
)
def test_events_page_follows_the_instance_filter(
    prometheus: str, collector: str, instance: str, expected: list[str]
) -> None:
    ctx = replace(context(prometheus, collector), window_s=36000, instance=instance)
    every, rows, problems = events.rows_for(ctx, {})
    assert problems == []
    assert [r["EventId"] for r in rows] == expected
    assert len(every) == len(expected)


def test_events_page_absolute_range_leaves_out_later_events(
    prometheus: str, collector: str
) -> None:
    # From four hours ago to an hour ago: the restart only, not the failover of minutes ago.
    now = time.time()
    ctx = context(prometheus, collector).showing(
        timerange.resolve(timerange.absolute(now - 4 * 3600, now - 3600))
    )
    _, rows, _ = events.rows_for(ctx, {})
    assert [r["EventId"] for r in rows] == ["RDS-EVENT-0006"]


def test_events_page_with_the_collector_down_says_so() -> None:
    every, rows, problems = events.rows_for(context(DEAD, DEAD), {})
    assert (every, rows) == ([], [])
    assert problems == [f"the collector unavailable at {DEAD}: [Errno 111] Connection refused"]


def test_pi_page_reads_the_collector_pi_api(
    prometheus: str, collector: str, postgres: Postgres
) -> None:
    pi = f"http://127.0.0.1:{COLLECTOR_PORTS + 92}"
    ctx = context(prometheus, collector, pi)
    assert performance_insights.instance_options(ctx) == [{"label": "ui-1 (writer)", "value": RID}]
    with postgres.connect() as conn:
        conn.execute("select pg_sleep(1.2)")

    def sleep_shown() -> tuple[Any, list[dict[str, Any]], str]:
        # Other samples (the session's own CPU) may be stored before the sleep's.
        done = performance_insights.refresh_pi(ctx, RID, "db.wait_event")
        names = [t.name for t in done[0].data]
        assert "Timeout:PgSleep" in names, names
        return done

    figure, rows, status = wait_for(sleep_shown, 20, what="the pg_sleep in the PI API's DB load")
    assert status == ""
    assert figure.layout.title.text == "DB load by waits (average active sessions)"
    assert isinstance(rows, list)


def test_pi_page_bad_parameters_and_dead_sources(prometheus: str, collector: str) -> None:
    pi = f"http://127.0.0.1:{COLLECTOR_PORTS + 92}"
    ctx = context(prometheus, collector, pi)
    figure, rows, status = performance_insights.refresh_pi(ctx, RID, "db.nonsense")
    assert (rows, figure.data) == ([], ())
    assert status.startswith("unknown dimension 'db.nonsense' (one of db.wait_event, ")
    _, _, status = performance_insights.refresh_pi(ctx, "db-NOSUCHINSTANCE", "db.user")
    assert status.startswith(f"Performance Insights unavailable at {pi}: GetResourceMetrics: ")
    assert "db-NOSUCHINSTANCE" in status
    _, _, status = performance_insights.refresh_pi(ctx, None, "db.user")
    assert status == "no instance to show"
    dead = context(prometheus, DEAD, DEAD)
    assert performance_insights.instance_options(dead) == []
    figure, _, status = performance_insights.refresh_pi(dead, None, "db.user")
    assert status == (
        f"no instance to show: the collector unavailable at {DEAD}: [Errno 111] Connection refused"
    )
    assert annotations(figure) == [status]
    _, _, status = performance_insights.refresh_pi(dead, RID, "db.user")
    assert status == (
        f"Performance Insights unavailable at {DEAD}: GetResourceMetrics: "
        "[Errno 111] Connection refused"
    )


def test_unavailable_figures_say_why_in_red() -> None:
    figure = figures.time_series_figure(
        [], title="t", unit="u", legend="{x}", unavailable="Prometheus unavailable at x: y"
    )
    [note] = figure.layout.annotations
    assert (note.text, note.font.color) == ("Prometheus unavailable at x: y", "#d62728")
