"""The shared bar's pure parts: the range and the instance in the URL, the instance filter's
options and PromQL matchers, the link into the page's Grafana dashboard."""

from __future__ import annotations

import re
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from dash import no_update

from core.errors import ConfigError
from core.settings import Settings
from core.settings_sections import UiSettings
from dashboards import ids, instancebar, timerange
from dashboards.context import UiContext
from dashboards.data import DataUnavailable
from dashboards.queries import READ_IOPS


def test_a_range_goes_to_the_url_and_back() -> None:
    for stored in (timerange.relative(3600), timerange.relative(900), timerange.relative(604800)):
        query = timerange.to_query(stored)
        assert timerange.from_query(query) == stored
    assert timerange.to_query(timerange.relative(900)) == {"range": "15m"}
    absolute = timerange.absolute(1_700_000_000.25, 1_700_003_600.5, 3600)
    assert timerange.to_query(absolute) == {"from": "1700000000250", "to": "1700003600500"}
    back = timerange.from_query({"from": "1700000000250", "to": "1700003600500"})
    assert timerange.same_range(back, absolute)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"range": "soon"},
        {"range": "30d"},
        {"range": "0m"},
        {"from": "5", "to": "1"},
        {"from": "x", "to": "y"},
    ],
)
def test_a_url_without_a_readable_range_changes_nothing(params: dict[str, str]) -> None:
    assert timerange.from_query(params) is None


def test_the_url_sets_the_range_and_instance_and_changes_write_it_back() -> None:
    stored = timerange.relative(900)
    # A shared link: its range and instance are taken.
    search, new_range, new_instance = instancebar.url_state(
        ids.RANGE_URL, "?range=1h&instance=db-2&sql=D1", stored, ""
    )
    assert (search, new_range, new_instance) == (no_update, timerange.relative(3600), "db-2")
    # The same range and instance as shown: nothing to do.
    assert instancebar.url_state(None, "?range=15m", stored, "") == (no_update,) * 3
    # A new range or instance is written, other parameters (the PI page's) kept.
    search, *_ = instancebar.url_state(
        ids.TIME_RANGE, "?sql=D1&range=15m", timerange.relative(3600), "db-3"
    )
    assert dict(urllib.parse.parse_qsl(search.lstrip("?"))) == {
        "sql": "D1",
        "range": "1h",
        "instance": "db-3",
    }


class Targets:
    def __init__(self, targets: list[dict[str, Any]] | None) -> None:
        self.found = targets

    def targets(self) -> list[dict[str, Any]]:
        if self.found is None:
            raise DataUnavailable("the collector", "http://x", "down")
        return self.found


def ctx_with(targets: list[dict[str, Any]] | None) -> UiContext:
    return UiContext(prometheus=None, collector=Targets(targets), refresh_ms=1000)  # type: ignore[arg-type]


def test_the_instance_filter_lists_every_instance_writer_first() -> None:
    found = [
        {"db_instance": "i-2", "role": "reader"},
        {"db_instance": "i-1", "role": "writer"},
    ]
    assert [o["value"] for o in instancebar.instance_options(ctx_with(found))] == [
        "",
        "i-1",
        "i-2",
    ]
    assert instancebar.instance_options(ctx_with(None)) == [{"label": "All instances", "value": ""}]


def test_the_filter_narrows_the_pages_queries_to_one_instance() -> None:
    ctx = ctx_with([]).showing(timerange.resolve(None), "i-2")
    [(expr, _)] = READ_IOPS.dash_queries_for(ctx.matchers)
    assert 'db_instance="i-2"' in expr
    every = ctx_with([]).showing(timerange.resolve(None), "")
    assert every.matchers == "" and READ_IOPS.dash_queries_for("") == READ_IOPS.dash_queries


def test_each_page_links_to_its_grafana_dashboard_over_the_range() -> None:
    stored = timerange.absolute(1_700_000_000, 1_700_003_600)
    link = instancebar.grafana_link("http://127.0.0.1:3000/", "/io", stored, "i-1")
    assert link == (
        "http://127.0.0.1:3000/d/borealis-io?from=1700000000000&to=1700003600000&var-instance=i-1"
    )
    relative = instancebar.grafana_link("http://g", "/", timerange.relative(3600), "", 2000.0)
    assert relative == "http://g/d/borealis-overview?from=-1600000&to=2000000"
    assert instancebar.grafana_link(None, "/io", stored, "") is None
    assert instancebar.grafana_link("http://g", "/nowhere", stored, "") is None


def test_every_linked_dashboard_exists() -> None:
    boards = Path(__file__).parents[2] / "deploy" / "grafana" / "dashboards"
    shipped = {p.stem for p in boards.glob("*.json")}
    assert set(instancebar.GRAFANA_UIDS.values()) <= shipped


def test_grafana_url_must_be_http() -> None:
    with pytest.raises(
        ConfigError, match=re.escape("ui.grafana_url 'grafana:3000' must be an http")
    ):
        Settings(ui=UiSettings(grafana_url="grafana:3000")).validate()
    assert Settings(ui=UiSettings(grafana_url="http://127.0.0.1:3000")).validate()
