"""The shared time range in a real browser: pick a range, drag-to-zoom on one graph and see
every graph of the page follow, reset back to the picked range; no console errors.

`borealis ui` runs alone against a real Prometheus on a promtool-backfilled TSDB (the
integration tier's series); the collector is a dead port (the I/O page does not need it)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

from dashboards.pages import io
from tests.binaries import require_binary
from tests.conftest import PORT_BASE, wait_for
from tests.integration.test_ui_data import openmetrics
from tests.ui.conftest import DEAD_PORT, ui_alone
from tests.ui.test_pages import severe_console_errors
from testsupport.waiting import answers_200

pytestmark = pytest.mark.ui

UI_PORTS = PORT_BASE + 4200  # the UI at +60
PROMETHEUS_PORT = PORT_BASE + 4300
GRAPHS = [graph_id for graph_id, _ in io.GRAPHS]


@pytest.fixture(scope="module")
def prometheus(shared_tmp: Path) -> Iterator[str]:
    root = shared_tmp / "range-prometheus"
    root.mkdir()
    source = root / "series.om"
    source.write_text(openmetrics(int(time.time()) - 3))
    data = root / "data"
    promtool = require_binary("promtool")
    subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", source, data],
        check=True,
        capture_output=True,
    )
    config = root / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 15s\n")
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
    url = f"http://127.0.0.1:{PROMETHEUS_PORT}"
    try:
        wait_for(lambda: answers_200(f"{url}/-/ready"), 30, what="Prometheus")
        yield url
    finally:
        process.terminate()
        process.wait(30)


@pytest.fixture(scope="module")
def ui(browser: webdriver.Chrome, shared_tmp: Path, prometheus: str) -> Iterator[str]:
    sources = {"prometheus": PROMETHEUS_PORT, "collector": DEAD_PORT, "pi": DEAD_PORT}
    with ui_alone(browser, shared_tmp / "range-ui", UI_PORTS, sources) as url:
        yield url


def x_spans(browser: webdriver.Chrome) -> dict[str, float | None]:
    """Each graph's drawn x-range, in seconds (None: not drawn yet)."""
    spans = browser.execute_script(
        """
        return Object.fromEntries(arguments[0].map(id => {
            const plot = document.querySelector('#' + id + ' .js-plotly-plot');
            const range = plot && plot._fullLayout && plot._fullLayout.xaxis.range;
            if (!range) return [id, null];
            const parse = t => Date.parse(String(t).replace(' ', 'T') + 'Z');
            return [id, (parse(range[1]) - parse(range[0])) / 1000];
        }));
        """,
        GRAPHS,
    )
    return {k: (None if v is None else float(v)) for k, v in spans.items()}


def every_graph_spans(browser: webdriver.Chrome, test: Callable[[float], bool]) -> bool:
    """Every graph drawn, all over one x-range, whose span passes `test`."""
    spans = set(x_spans(browser).values())
    if len(spans) != 1:
        return False
    (span,) = spans
    return span is not None and test(span)


def test_pick_zoom_and_reset_move_every_graph(browser: webdriver.Chrome, ui: str) -> None:
    browser.get(ui + "/io")
    browser.execute_script("window.sessionStorage.clear()")
    browser.get(ui + "/io")
    wait_for(lambda: every_graph_spans(browser, lambda s: s == 900), 30, what="15 min shown")

    browser.find_element(By.XPATH, "//label[normalize-space()='1 h']").click()
    wait_for(lambda: every_graph_spans(browser, lambda s: s == 3600), 30, what="1 h on every graph")

    # Drag across the middle of the first graph: an x zoom.
    drag = browser.find_element(By.CSS_SELECTOR, f"#{GRAPHS[0]} .nsewdrag")
    width = drag.size["width"]
    ActionChains(browser).move_to_element_with_offset(
        drag, -width // 4, 0
    ).click_and_hold().move_by_offset(width // 2, 0).release().perform()
    wait_for(
        lambda: every_graph_spans(browser, lambda s: 1000 < s < 2600),
        30,
        what="the zoomed range on every graph",
    )
    shown = browser.find_element(By.ID, "range-shown").text
    assert shown.startswith("Showing ") and shown.endswith(" UTC")

    browser.find_element(By.ID, "range-reset").click()
    wait_for(lambda: every_graph_spans(browser, lambda s: s == 3600), 30, what="back to 1 h")
    assert browser.find_element(By.ID, "range-shown").text == ""
    # Navigation keeps the range: the replication page opens at 1 h too.
    browser.find_element(By.LINK_TEXT, "Replication").click()
    wait_for(
        lambda: (
            browser.execute_script(
                "const p = document.querySelector('#lag-graph .js-plotly-plot');"
                "const r = p && p._fullLayout && p._fullLayout.xaxis.range;"
                "return r ? (Date.parse(r[1].replace(' ', 'T') + 'Z')"
                " - Date.parse(r[0].replace(' ', 'T') + 'Z')) / 1000 : null;"
            )
            == 3600
        ),
        30,
        what="1 h on the replication page",
    )
    assert severe_console_errors(browser) == []
