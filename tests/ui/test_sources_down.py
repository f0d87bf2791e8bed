"""A UI whose Prometheus and collector are down says so on every page, in a real browser.

`borealis ui` runs alone here, pointed at ports nobody listens on: no stack is needed, and
the shared stack's Prometheus keeps running for the other tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from tests.conftest import PORT_BASE, wait_for
from tests.ui.conftest import DEAD_PORT, ui_alone

pytestmark = pytest.mark.ui

UI_ALONE_PORTS = PORT_BASE + 4000  # the UI at +60
REFUSED = f"unavailable at http://127.0.0.1:{DEAD_PORT}: [Errno 111] Connection refused"


@pytest.fixture(scope="module")
def lonely_ui(browser: webdriver.Chrome, shared_tmp: Path) -> Iterator[str]:
    dead = ("prometheus", "collector", "pi", "alertmanager", "cloudwatch", "webhook")
    with ui_alone(
        browser, shared_tmp / "ui-alone", UI_ALONE_PORTS, dict.fromkeys(dead, DEAD_PORT)
    ) as url:
        yield url


def status_lines(browser: webdriver.Chrome, selector: str) -> list[str]:
    """The visible red lines, read in one go (the page re-renders them on every refresh)."""
    return [
        str(text)
        for text in browser.execute_script(
            "return Array.from(document.querySelectorAll(arguments[0]))"
            ".filter(e => e.getClientRects().length > 0).map(e => e.innerText)",
            f"{selector} .unavailable",
        )
    ]


def graph_notes(browser: webdriver.Chrome, graph: str) -> list[str]:
    return [e.text for e in browser.find_elements(By.CSS_SELECTOR, f"{graph} .annotation-text")]


PAGES = (  # path, its status line, a graph on it, what the status line says
    ("/io", "#io-status", "#read-iops-graph", ["Prometheus " + REFUSED]),
    (
        "/replication",
        "#replication-status",
        "#lag-graph",
        ["the collector " + REFUSED + " (no failover markers)", "Prometheus " + REFUSED],
    ),
    (
        "/",
        "#overview-status",
        "#load-graph",
        ["the collector " + REFUSED, "Prometheus " + REFUSED, "Alertmanager " + REFUSED],
    ),
    (
        "/events",
        "#events-status",
        "#events-timeline",
        ["the collector " + REFUSED, "Prometheus " + REFUSED],
    ),
    (
        "/alerts",
        "#alerts-status",
        None,
        ["Alertmanager " + REFUSED, "the CloudWatch API " + REFUSED, "the webhook " + REFUSED],
    ),
)


@pytest.mark.parametrize("page", PAGES, ids=[p[0] for p in PAGES])
def test_a_page_says_which_source_is_down(
    browser: webdriver.Chrome, lonely_ui: str, page: tuple[str, str, str | None, list[str]]
) -> None:
    path, status, graph, expected = page
    browser.get(lonely_ui + path)
    wait_for(lambda: status_lines(browser, status) == expected, 30, what=f"{expected} shown")
    if graph is not None:
        # The graph says it too, in place of empty axes.
        wait_for(
            lambda: graph_notes(browser, graph) == ["Prometheus " + REFUSED],
            30,
            what="the graph's own note",
        )


def test_performance_insights_says_the_collector_is_down(
    browser: webdriver.Chrome, lonely_ui: str
) -> None:
    browser.get(lonely_ui + "/performance-insights")
    wait_for(
        lambda: status_lines(browser, "") == ["no instance to show: the collector " + REFUSED],
        30,
        what="the PI status line",
    )
