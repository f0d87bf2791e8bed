"""The Performance Insights page's views, called as functions, against a real collector (in
this process, watching the integration PostgreSQL) and its real PI API: the shared range,
top SQL with load share, drill-downs into a digest and a wait event, two periods compared."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from collector.service import Collector
from collector.targets import Target
from core.events import EventStore
from core.settings import CollectorSettings, Settings
from dashboards.context import UiContext
from dashboards.data import CollectorClient, PrometheusClient
from dashboards.pages.performance_insights import compare, drill, main_view, state
from dashboards.pi_data import PiClient
from tests.conftest import INTEGRATION_PORTS, wait_for
from tests.integration.conftest import Postgres

pytestmark = pytest.mark.integration

COLLECTOR_PORTS = INTEGRATION_PORTS + 860  # the collector at +91, its PI API at +92
DEAD = "http://127.0.0.1:1"
RID = "db-UIPI"
# A statement of this file's own: pg_stat_statements keeps the first text it saw for a query
# id, and other files sleep with `select pg_sleep(n)` (`... as x` included, the same id).
SLEEP = "select ?, pg_sleep(?)"


@pytest.fixture(scope="module")
def pi(postgres: Postgres, shared_tmp: Path) -> Iterator[str]:
    state_dir = shared_tmp / "ui-pi-collector"
    state_dir.mkdir()
    settings = replace(
        Settings(state_dir=state_dir),
        collector=CollectorSettings(
            poll_interval_s=0.5, sample_interval_s=0.5, stats_interval_s=2.0
        ),
    )
    settings = replace(settings, ports=replace(settings.ports, base=COLLECTOR_PORTS))
    target = Target("ui-pi", "ui-pi-1", postgres.monitor_dsn, resource_id=RID, az="local-1a")
    running = Collector(settings, [target], EventStore(state_dir / "events.db"))
    running.start()
    collector = f"http://127.0.0.1:{settings.ports.port('collector')}"
    try:
        wait_for(lambda: CollectorClient(collector).targets()[0]["up"], 20, what="ui-pi-1 up")
        yield f"http://127.0.0.1:{settings.ports.port('pi')}"
    finally:
        running.stop()


def context(pi: str, window_s: float = 300.0) -> UiContext:
    return UiContext(
        prometheus=PrometheusClient(DEAD),
        collector=CollectorClient(DEAD),
        refresh_ms=1000,
        window_s=window_s,
        pi=PiClient(pi),
    )


def sleeping_digest(ctx: UiContext, postgres: Postgres) -> dict[str, Any]:
    """Sleep in PostgreSQL until PI's top SQL lists the sleep with its statistics."""

    def found() -> dict[str, Any] | None:
        with postgres.connect() as conn:
            conn.execute("select 'ui-pi', pg_sleep(1.2)")
        rows = main_view(ctx, RID, "db.wait_event").top_sql
        row = next((r for r in rows if r["Statement"] == SLEEP), None)
        return row if row and row["Calls/s"] != "-" else None

    return wait_for(found, 60, what="the sleep in top SQL with statistics")


def test_the_main_view_follows_an_absolute_range_with_load_share(
    pi: str, postgres: Postgres
) -> None:
    ctx = context(pi)
    row = sleeping_digest(ctx, postgres)
    share = float(row["Load share"].removesuffix(" %"))
    assert 0 < share <= 100
    assert float(row["ms/call"]) >= 1000  # pg_sleep(1.2): over a second a call
    view = main_view(ctx, RID, "db.wait_event")
    assert "Timeout:PgSleep" in [r["Wait event"] for r in view.top_waits]
    assert view.figure.layout.xaxis.range is not None  # drawn over the shared range
    # An absolute range an hour before anything ran: empty, and said so.
    now = time.time()
    past = replace(context(pi), end_s=now - 3600, window_s=600.0)
    empty = main_view(past, RID, "db.wait_event")
    assert (empty.top_sql, empty.status) == ([], "")
    assert [t for t in empty.figure.data if any(t.y)] == []


def test_a_digest_drill_down_shows_its_waits_statistics_and_text(
    pi: str, postgres: Postgres
) -> None:
    ctx = context(pi)
    digest_id = sleeping_digest(ctx, postgres)["id"]
    found = drill.drill(ctx, RID, digest_id, None)
    assert found.shown and found.status == ""
    assert "pg_sleep" in found.text
    assert "Timeout:PgSleep" in [t.name for t in found.graph.data]
    assert "ms/call" in [t.name for t in found.stats.data]
    assert found.table == []


def test_a_wait_event_drill_down_lists_the_sql_spending_it(pi: str, postgres: Postgres) -> None:
    ctx = context(pi)
    sleeping_digest(ctx, postgres)
    found = drill.drill(ctx, RID, None, "Timeout:PgSleep")
    assert found.stats is None
    assert [r["Statement"] for r in found.table][:1] == [SLEEP]
    assert found.table[0]["Load share"] == "100.0 %"  # only the sleep waits on PgSleep
    assert [t.name for t in found.graph.data] == [SLEEP]
    assert drill.drill(ctx, RID, None, None).shown is False


def test_two_periods_compared_show_the_movers(pi: str, postgres: Postgres) -> None:
    ctx = context(pi)
    sleeping_digest(ctx, postgres)
    found = compare.compare(ctx, RID, state.PiState(compare="1d"))
    assert found.shown and found.status == ""
    movers = {r["Slice"]: r for r in found.movers}
    assert movers["Timeout:PgSleep"]["Change"] == "new"  # nothing ran a day ago
    assert float(movers["Timeout:PgSleep"]["Change (AAS)"]) > 0
    assert found.figure_a.layout.yaxis.range == found.figure_b.layout.yaxis.range
    missing = compare.compare(ctx, RID, state.PiState(compare="abs"))
    assert missing.status == "Period B: give a start and an end, the start first"
    dead = compare.compare(context(DEAD), RID, state.PiState(compare="1w"))
    assert dead.status.startswith(f"Performance Insights unavailable at {DEAD}: ")
