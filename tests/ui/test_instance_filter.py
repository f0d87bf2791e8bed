"""The shared instance filter on the Overview and Events pages, in a real browser against the
live stack: the per-instance parts keep the chosen instance, the cluster-wide parts stay."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from tests.conftest import Stack, wait_for
from tests.ui.conftest import choose
from tests.ui.test_pages import open_page, severe_console_errors

pytestmark = pytest.mark.ui

ALL = "All instances"
# The table's columns (dashboards/pages/events.py COLUMNS): Date, EventId, Type, Source, ...
TYPE, SOURCE = 2, 3


def table_rows(browser: webdriver.Chrome, table: str) -> list[list[str]]:
    """The table's body rows, cell texts, in one atomic read (pages redraw on every refresh)."""
    return [
        list(r)
        for r in browser.execute_script(
            f"return Array.from(document.querySelectorAll('#{table} tr')).slice(1)"
            ".map(r => Array.from(r.querySelectorAll('td')).map(c => c.innerText))"
        )
    ]


def only_theirs_and_the_clusters(rows: list[list[str]], instance: str) -> bool:
    return bool(rows) and all(
        r[TYPE] == "db-cluster" or r[SOURCE] == instance for r in rows if len(r) > SOURCE
    )


def filter_on(browser: webdriver.Chrome, label: str) -> None:
    """Pick `label` in the instance filter, once Dash has drawn the bar (nothing to do when
    it shows `label` already: a click on the chosen option leaves the list open)."""
    found = wait_for(lambda: browser.find_elements(By.ID, "instance-filter"), 30, what="the filter")
    if found[0].text.strip() != label:
        choose(browser, "instance-filter", label)
    wait_for(
        lambda: browser.find_element(By.ID, "instance-filter").text.strip() == label,
        10,
        what=f"{label!r} chosen",
    )


@pytest.fixture
def reader(browser: webdriver.Chrome, stack: Stack) -> Iterator[dict[str, str]]:
    """A reader to filter on; the filter back to every instance afterwards (it persists for
    the browser session)."""
    wait_for(stack.all_available, 60, what="a healthy cluster")
    chosen = next(i for i in stack.status()["instances"] if i["role"] == "reader")
    yield chosen
    if browser.find_elements(By.ID, "instance-filter"):
        filter_on(browser, ALL)


def test_the_overview_highlights_the_chosen_instance_and_keeps_the_cluster(
    browser: webdriver.Chrome, stack: Stack, reader: dict[str, str]
) -> None:
    status = stack.status()
    open_page(browser, stack, "/")
    filter_on(browser, ALL)
    wait_for(
        lambda: len(table_rows(browser, "overview-numbers")) == len(status["instances"]),
        30,
        what="a row of key numbers per instance",
    )
    filter_on(browser, f"{reader['id']} (reader)")
    wait_for(
        lambda: [r[0] for r in table_rows(browser, "overview-numbers")] == [reader["id"]],
        30,
        what=f"only {reader['id']}'s key numbers",
    )
    assert f"instance={reader['id']}" in browser.current_url

    def cards() -> dict[str, str]:
        """Instance card's name -> its classes."""
        return {
            text.split()[0]: classes
            for classes, text in browser.execute_script(
                "return Array.from(document.querySelectorAll('#topology .card:not(.segment)'))"
                ".map(c => [c.className, c.innerText])"
            )
        }

    def highlighted() -> bool:
        shown = cards()
        return set(shown) == {i["id"] for i in status["instances"]} and all(
            ("chosen" if name == reader["id"] else "dimmed") in classes.split()
            for name, classes in shown.items()
        )

    wait_for(highlighted, 30, what=f"every instance on the topology, {reader['id']} highlighted")
    # The cluster-wide parts stay whole: the six segments and the endpoints.
    segments = browser.execute_script(
        "return Array.from(document.querySelectorAll('#topology .card.segment'))"
        ".map(c => c.innerText.split(/\\s/)[0])"
    )
    assert set(segments) == {s["id"] for s in status["segments"]}
    endpoints = browser.find_element(By.ID, "overview-endpoints").text
    assert status["writer"] in endpoints and "reader endpoint" in endpoints
    wait_for(
        lambda: only_theirs_and_the_clusters(table_rows(browser, "overview-events"), reader["id"]),
        30,
        what=f"latest events of {reader['id']} and of the cluster only",
    )
    assert severe_console_errors(browser) == []


def test_the_events_page_keeps_the_chosen_instances_events_and_the_clusters(
    browser: webdriver.Chrome, stack: Stack, reader: dict[str, str]
) -> None:
    status = stack.status()
    open_page(browser, stack, "/events")
    filter_on(browser, ALL)
    # Last 7 days: every instance's creation is in the range.
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#events-table td"), 30)
    browser.find_element(By.CSS_SELECTOR, "input[name='range-picker'][value='604800']").click()

    def in_range() -> int:
        found = re.search(r"of (\d+) events", browser.find_element(By.ID, "events-count").text)
        return int(found.group(1)) if found else 0

    def ticks() -> set[str]:
        return {e.text for e in browser.find_elements(By.CSS_SELECTOR, "#events-timeline .ytick")}

    every_instance = {i["id"] for i in status["instances"]}
    wait_for(lambda: ticks() >= every_instance, 30, what="a timeline row per instance")
    wait_for(lambda: "range=1w" in browser.current_url, 30, what="the range of 7 days")
    wait_for(
        lambda: not browser.find_elements(By.CSS_SELECTOR, "[data-dash-is-loading='true']"),
        30,
        what="the events of 7 days drawn",
    )
    before = wait_for(in_range, 30, what="events in the range")
    try:
        filter_on(browser, f"{reader['id']} (reader)")
        wait_for(
            lambda: (
                only_theirs_and_the_clusters(table_rows(browser, "events-table"), reader["id"])
                and 0 < in_range() < before
            ),
            30,
            what=f"only {reader['id']}'s and the cluster's events",
        )
        wait_for(lambda: ticks() == {reader["id"]}, 30, what=f"the timeline of {reader['id']}")
    finally:
        browser.find_element(By.CSS_SELECTOR, "input[name='range-picker'][value='900']").click()
    assert severe_console_errors(browser) == []
