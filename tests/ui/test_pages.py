"""The UI renders live data in a real browser."""

from __future__ import annotations

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from tests.conftest import Stack, wait_for
from tests.ui.conftest import choose, screenshot

pytestmark = pytest.mark.ui


def open_page(browser: webdriver.Chrome, stack: Stack, path: str) -> None:
    browser.get(stack.status()["services"]["ui"] + path)


def severe_console_errors(browser: webdriver.Chrome) -> list[str]:
    return [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def test_overview_shows_every_instance_by_az(browser: webdriver.Chrome, stack: Stack) -> None:
    status = stack.status()
    open_page(browser, stack, "/")

    def cards() -> list[tuple[str, str]]:
        # One atomic read: the page re-renders the cards on every refresh.
        return [
            tuple(c)
            for c in browser.execute_script(
                "return Array.from(document.querySelectorAll('#topology .card'))"
                ".map(c => [c.className, c.innerText])"
            )
        ]

    def shows_topology() -> bool:
        current = cards()
        text = " ".join(t for _, t in current)
        writer_cards = [t for c, t in current if "role-writer" in c]
        return (
            len(current) >= 2
            and all(i["id"] in text for i in status["instances"])
            and any(status["writer"] in t for t in writer_cards)
        )

    wait_for(shows_topology, 30, what="every instance, the writer highlighted")
    segment_ids = {s["id"] for s in status["segments"]}

    def segments_shown() -> set[str]:
        texts = browser.execute_script(
            "return Array.from(document.querySelectorAll('#topology .card.segment'))"
            ".map(c => c.innerText)"
        )
        return {t.split()[0] for t in texts}

    wait_for(lambda: segments_shown() == segment_ids, 30, what=f"the segments {segment_ids}")

    def numbers() -> list[str]:
        return list(
            browser.execute_script(
                "return Array.from(document.querySelectorAll('#overview-numbers td'))"
                ".map(c => c.innerText)"
            )
        )

    # One row of key numbers per instance, in the table with units in its headers.
    wait_for(lambda: all(i["id"] in numbers() for i in status["instances"]), 30, what="key numbers")
    headers = browser.find_element(By.CSS_SELECTOR, "#overview-numbers").text
    assert "CPU (%)" in headers
    assert "Replica lag (ms)" in headers
    wait_for(
        lambda: (
            status["writer"] in browser.find_element(By.CSS_SELECTOR, "#overview-endpoints").text
        ),
        30,
        what="the writer endpoint pointing at the writer",
    )
    assert "reader endpoint" in browser.find_element(By.CSS_SELECTOR, "#overview-endpoints").text
    WebDriverWait(browser, 30).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, "#load-graph .main-svg"))
    )
    screenshot(browser, "overview")
    assert severe_console_errors(browser) == []


def test_replication_page_plots_lag_per_reader(browser: webdriver.Chrome, stack: Stack) -> None:
    readers = [i["id"] for i in stack.status()["instances"] if i["role"] == "reader"]
    open_page(browser, stack, "/replication")
    WebDriverWait(browser, 30).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, "#lag-graph .main-svg"))
    )

    def legend() -> str:
        return " ".join(
            e.text for e in browser.find_elements(By.CSS_SELECTOR, "#lag-graph .legendtext")
        )

    wait_for(lambda: all(r in legend() for r in readers), 30, what=f"legend with {readers}")

    def stages() -> str:
        return " ".join(
            e.text for e in browser.find_elements(By.CSS_SELECTOR, "#stage-lag-graph .legendtext")
        )

    # Ship and apply per reader, from the same query definitions Grafana's panel uses.
    wait_for(
        lambda: all(f"{r} {stage}" in stages() for r in readers for stage in ("ship", "apply")),
        30,
        what="ship and apply lag per reader",
    )
    screenshot(browser, "replication")
    assert severe_console_errors(browser) == []


def test_io_page_plots_iops_per_instance(browser: webdriver.Chrome, stack: Stack) -> None:
    open_page(browser, stack, "/io")
    graphs = ("#read-iops-graph", "#write-iops-graph", "#read-latency-graph", "#volume-iops-graph")
    for graph in graphs:
        WebDriverWait(browser, 30).until(
            ec.presence_of_element_located((By.CSS_SELECTOR, f"{graph} .main-svg"))
        )
    # One legend for the per-instance graphs: every instance once, each in its own colour.
    instances = {i["id"] for i in stack.status()["instances"]}

    def legend() -> dict[str, str]:
        return {
            item.text: item.find_element(By.CSS_SELECTOR, ".swatch").value_of_css_property(
                "background-color"
            )
            for item in browser.find_elements(By.CSS_SELECTOR, "#io-legend .legend-item")
        }

    wait_for(lambda: set(legend()) >= instances, 30, what="every instance in the shared legend")
    assert len(set(legend().values())) == len(legend())
    assert not browser.find_elements(By.CSS_SELECTOR, "#read-iops-graph .legendtext")
    # ... and a drawn line per instance on the graphs that share it.
    wait_for(
        lambda: (
            len(
                [
                    line
                    for line in browser.find_elements(
                        By.CSS_SELECTOR, "#read-iops-graph .trace .js-line"
                    )
                    if (line.get_attribute("d") or "M") != "M"
                ]
            )
            >= len(instances)
        ),
        30,
        what="a line per instance on the read IOPS graph",
    )

    def volume() -> str:
        found = browser.find_elements(By.CSS_SELECTOR, "#volume-iops-graph .legendtext")
        return " ".join(e.text for e in found)

    # Both queries of the panel: the volume's reads and writes.
    wait_for(lambda: "read " in volume() and "write " in volume(), 30, what="volume reads, writes")
    screenshot(browser, "io")


def test_events_page_highlights_a_requested_failover(
    browser: webdriver.Chrome, stack: Stack
) -> None:
    wait_for(stack.all_available, 60, what="a healthy cluster")
    target = next(i for i in stack.status()["instances"] if i["role"] == "reader")["id"]
    done = stack.cli("failover", "--target", target, timeout=120)
    assert done.returncode == 0, done.stderr
    assert target in done.stdout
    assert stack.writer()["id"] == target

    open_page(browser, stack, "/events")
    message = f"Completed failover to DB instance: {target}."

    def failover_row_style() -> tuple[str, str] | None:
        for row in browser.find_elements(By.CSS_SELECTOR, "#events-table tr"):
            if message in row.text:
                cell = row.find_elements(By.CSS_SELECTOR, "td")[0]
                return (
                    cell.value_of_css_property("font-weight"),
                    cell.value_of_css_property("background-color"),
                )
        return None

    weight, background = wait_for(failover_row_style, 30, what="the failover in the table")
    assert weight in ("700", "bold")
    assert "253, 226, 225" in background
    screenshot(browser, "events")
    assert severe_console_errors(browser) == []


def test_events_filters_narrow_the_table_and_the_timeline_shows_roles(
    browser: webdriver.Chrome, stack: Stack
) -> None:
    status = stack.status()
    # Last 7 days: every event since the stack started.
    open_page(browser, stack, "/events")
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#events-table td"), 30)
    browser.find_element(By.CSS_SELECTOR, "input[name='range-picker'][value='604800']").click()

    def rows() -> list[list[str]]:
        return [
            list(r)
            for r in browser.execute_script(
                "return Array.from(document.querySelectorAll('#events-table tr'))"
                ".slice(1).map(r => Array.from(r.querySelectorAll('td')).map(c => c.innerText))"
            )
        ]

    every = wait_for(lambda: len(rows()) >= 2 and rows(), 30, what="events in the table")
    # The table shows the newest page: on a stack that has lived through drills the creation
    # events (0170, 0005) may be further back; the ID filter below finds them wherever.
    assert {r[1] for r in every} - {"RDS-EVENT-0005"}, every  # more than one kind listed

    choose(browser, "events-id", "RDS-EVENT-0005")
    wait_for(
        lambda: (found := rows()) and {r[1] for r in found} == {"RDS-EVENT-0005"},
        30,
        what="only RDS-EVENT-0005",
    )
    reader = next(i["id"] for i in status["instances"] if i["role"] == "reader")
    search = browser.find_element(By.CSS_SELECTOR, "#events-search")
    search.send_keys(reader, Keys.ENTER)
    wait_for(
        lambda: (
            (found := rows()) and all(r[3] == reader and r[1] == "RDS-EVENT-0005" for r in found)
        ),
        30,
        what=f"only {reader}'s creation",
    )
    assert "of" in browser.find_element(By.CSS_SELECTOR, "#events-count").text
    # The timeline: one row per instance, the writer's bar in the writer's colour.
    legend = wait_for(
        lambda: (
            {e.text for e in browser.find_elements(By.CSS_SELECTOR, "#events-timeline .legendtext")}
            >= {"writer", "reader"}
        ),
        30,
        what="writer and reader bars",
    )
    assert legend
    ticks = " ".join(
        e.text for e in browser.find_elements(By.CSS_SELECTOR, "#events-timeline .ytick")
    )
    assert all(i["id"] in ticks for i in status["instances"])
    # Back to "any" for the other tests of the session (the dropdowns persist per session).
    search.send_keys(Keys.CONTROL, "a")
    search.send_keys(Keys.DELETE, Keys.ENTER)
    choose(browser, "events-id", "(any)")
    browser.find_element(By.CSS_SELECTOR, "input[name='range-picker'][value='900']").click()
    wait_for(lambda: len(rows()) != 1, 30, what="the filters cleared")
    assert severe_console_errors(browser) == []
