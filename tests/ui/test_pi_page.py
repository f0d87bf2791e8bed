"""The Performance Insights page in a real browser against the live stack: load by wait and top
SQL from the PI API, the dimension switched, a drill-down into a digest kept in the URL, two
periods compared; no console errors."""

from __future__ import annotations

import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement

from core.settings_sections import UiSettings
from tests.conftest import Stack, wait_for
from tests.ui.conftest import choose, screenshot
from tests.ui.test_pages import severe_console_errors

pytestmark = pytest.mark.ui

SLEEP = "select pg_sleep(?)"


def text_of(browser: webdriver.Chrome, selector: str) -> str:
    return " ".join(e.text for e in browser.find_elements(By.CSS_SELECTOR, selector))


@pytest.fixture
def sleeping(stack: Stack) -> Iterator[None]:
    """A session sleeping on the writer (Timeout:PgSleep, `select pg_sleep(?)`)."""
    writer = stack.writer()
    sleeper = threading.Thread(target=stack.sql, args=(writer["port"], "select pg_sleep(5)"))
    sleeper.start()
    yield
    sleeper.join()


def open_pi(browser: webdriver.Chrome, stack: Stack, query: str = "") -> None:
    browser.get(stack.status()["services"]["ui"] + "/performance-insights" + query)


def test_pi_page_stacks_load_by_wait_with_the_vcpu_line_and_lists_top_sql(
    browser: webdriver.Chrome, stack: Stack, sleeping: None
) -> None:
    open_pi(browser, stack)
    wait_for(
        lambda: "Timeout:PgSleep" in text_of(browser, "#pi-load-graph .legendtext"),
        40,
        what="the sleeping session's wait in the DB load legend",
    )
    assert "Max vCPU" in text_of(browser, "#pi-load-graph .annotation-text")
    wait_for(
        lambda: SLEEP in text_of(browser, "#pi-top-sql"),
        30,
        what="the sleeping statement in Top SQL",
    )
    assert "%" in text_of(browser, "#pi-top-sql")  # its share of the DB load
    assert "Timeout:PgSleep" in text_of(browser, "#pi-top-waits")
    screenshot(browser, "performance-insights")
    assert severe_console_errors(browser) == []


def test_switching_the_dimension_changes_the_legend(
    browser: webdriver.Chrome, stack: Stack, sleeping: None
) -> None:
    open_pi(browser, stack, "?range=15m")
    wait_for(
        lambda: "Timeout:PgSleep" in text_of(browser, "#pi-load-graph .legendtext"),
        40,
        what="waits in the legend",
    )
    choose(browser, "pi-dimension", "Slice by SQL")
    wait_for(
        lambda: (
            SLEEP in text_of(browser, "#pi-load-graph .legendtext")
            and "Timeout:PgSleep" not in text_of(browser, "#pi-load-graph .legendtext")
        ),
        30,
        what="statements in place of waits in the legend",
    )
    assert "DB load by sql" in text_of(browser, "#pi-load-graph .gtitle")
    assert "group=db.sql_tokenized" in browser.current_url
    choose(browser, "pi-dimension", "Slice by Wait types")
    wait_for(
        lambda: "Timeout" in text_of(browser, "#pi-load-graph .legendtext").split(),
        30,
        what="wait types in the legend",
    )
    assert severe_console_errors(browser) == []


def test_drill_into_a_digest_and_share_it_by_its_url(
    browser: webdriver.Chrome, stack: Stack, sleeping: None
) -> None:
    open_pi(browser, stack)
    cell = wait_for(
        lambda: next(
            (
                c
                for c in browser.find_elements(By.CSS_SELECTOR, "#pi-top-sql td")
                if c.text == SLEEP
            ),
            None,
        ),
        40,
        what="the sleep in Top SQL",
    )
    cell.click()

    def drilled() -> bool:
        return (
            browser.find_element(By.ID, "pi-drill").is_displayed()
            and "pg_sleep" in browser.find_element(By.ID, "pi-drill-text").text
            and "Timeout:PgSleep" in text_of(browser, "#pi-drill-graph .legendtext")
        )

    wait_for(drilled, 40, what="the digest's drill-down: its text and its waits")
    params = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(browser.current_url).query))
    assert params.get("sql")
    # The link, opened afresh, shows the same drill-down.
    shared = browser.current_url
    browser.get("about:blank")
    browser.get(shared)
    wait_for(drilled, 40, what="the drill-down from the shared link")
    browser.find_element(By.ID, "pi-drill-close").click()
    wait_for(
        lambda: not browser.find_element(By.ID, "pi-drill").is_displayed(),
        20,
        what="the drill-down closed",
    )
    assert "sql=" not in browser.current_url
    assert severe_console_errors(browser) == []


def test_two_periods_side_by_side_with_top_movers(
    browser: webdriver.Chrome, stack: Stack, sleeping: None
) -> None:
    open_pi(browser, stack, "?range=15m")
    wait_for(
        lambda: "Timeout:PgSleep" in text_of(browser, "#pi-top-waits"),
        40,
        what="the sleep in the top waits",
    )
    choose(browser, "pi-compare", "Same window, one day earlier")
    wait_for(
        lambda: (
            browser.find_element(By.ID, "pi-compare-area").is_displayed()
            and "Timeout:PgSleep" in text_of(browser, "#pi-movers")
        ),
        40,
        what="the comparison with the sleep among the movers",
    )
    assert "Period A" in text_of(browser, "#pi-compare-a .gtitle")
    assert "Period B" in text_of(browser, "#pi-compare-b .gtitle")
    assert "new" in text_of(browser, "#pi-movers")  # nothing slept a day ago
    assert "compare=1d" in browser.current_url
    assert severe_console_errors(browser) == []


# Counts the UI's callback requests that redraw the drill-down's graph (Dash posts each to
# /_dash-update-component, naming its outputs in the body).
COUNT_DRILL_REQUESTS_JS = """
if (!window.__drillRequests) {
  window.__drillRequests = {count: 0};
  const original = window.fetch;
  window.fetch = function (resource, init) {
    const url = String(resource && resource.url ? resource.url : resource);
    const body = init && typeof init.body === 'string' ? init.body : '';
    if (url.includes('_dash-update-component') && body.includes('pi-drill-graph.figure')) {
      window.__drillRequests.count += 1;
    }
    return original.apply(this, arguments);
  };
}
"""
DRILL_X_END_JS = """
const plot = document.querySelector('#pi-drill-graph .js-plotly-plot');
return plot && plot._fullLayout ? String(plot._fullLayout.xaxis.range[1]) : null;
"""


def open_wait_drill(browser: webdriver.Chrome, stack: Stack) -> None:
    open_pi(browser, stack, "?range=15m&wait=Timeout%3APgSleep")


def open_digest_drill(browser: webdriver.Chrome, stack: Stack) -> None:
    open_pi(browser, stack, "?range=15m")

    def sleep_cell() -> WebElement | None:
        cells = browser.find_elements(By.CSS_SELECTOR, "#pi-top-sql td")
        return next((c for c in cells if c.text == SLEEP), None)

    cell = wait_for(sleep_cell, 40, what="the sleep in Top SQL")
    assert cell is not None
    cell.click()


def pause_box(browser: webdriver.Chrome) -> WebElement:
    return wait_for(
        lambda: browser.find_element(By.CSS_SELECTOR, "input[name='refresh-pause']"),
        30,
        what="the auto-refresh pause checkbox",
    )


@pytest.mark.parametrize("opener", [open_wait_drill, open_digest_drill], ids=["wait", "digest"])
def test_an_open_drill_down_follows_auto_refresh_and_stops_when_paused(
    browser: webdriver.Chrome,
    stack: Stack,
    sleeping: None,
    opener: Callable[[webdriver.Chrome, Stack], None],
) -> None:
    opener(browser, stack)
    wait_for(
        lambda: (
            browser.find_element(By.ID, "pi-drill").is_displayed()
            and browser.execute_script(DRILL_X_END_JS)
        ),
        40,
        what="the drill-down drawn",
    )
    browser.execute_script(COUNT_DRILL_REQUESTS_JS)
    first_end = browser.execute_script(DRILL_X_END_JS)
    # Nothing is clicked: only the refresh timer can redraw it, over a range that moved on.
    wait_for(
        lambda: browser.execute_script("return window.__drillRequests.count") >= 2,
        30,
        what="the drill-down redrawn by the refresh timer",
    )
    wait_for(
        lambda: browser.execute_script(DRILL_X_END_JS) != first_end,
        30,
        what="the drill-down's time axis moved on with the relative range",
    )
    pause = pause_box(browser)
    try:
        pause.click()
        wait_for(
            lambda: not browser.find_elements(By.CSS_SELECTOR, "[data-dash-is-loading='true']"),
            30,
            what="the last redraw done",
        )
        paused_at = browser.execute_script("return window.__drillRequests.count")
        paused_end = browser.execute_script(DRILL_X_END_JS)
        # Paused: no redraw over several refresh periods (a negative check needs a window).
        hold = 4 * UiSettings().refresh_ms / 1000
        deadline = time.monotonic() + hold
        while time.monotonic() < deadline:
            assert browser.execute_script("return window.__drillRequests.count") == paused_at
            assert browser.execute_script(DRILL_X_END_JS) == paused_end
            time.sleep(0.25)
    finally:
        if pause_box(browser).is_selected():
            pause_box(browser).click()
    assert severe_console_errors(browser) == []
