"""A real headless Chromium driven by Selenium, against the real stack's UI."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from dashboards.headless import CHROMEDRIVER, CHROMIUM, chromium_options
from tests.conftest import child_env, wait_for

SCREENSHOTS_ENV = "BOREALIS_TEST_SCREENSHOTS"
SCREENSHOT_SIZE = (1400, 1000)

# True once Dash has no callback pending and every Plotly graph on the page has drawn.
FULLY_DRAWN_JS = """
if (document.querySelector('._dash-loading, [data-dash-is-loading="true"]')) return false;
const graphs = Array.from(document.querySelectorAll('.js-plotly-plot'));
return graphs.every(g => g._fullLayout !== undefined && g.querySelector('.main-svg') !== null);
"""


@pytest.fixture(scope="session")
def browser() -> Iterator[webdriver.Chrome]:
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.fail("chromium and chromium-driver are not installed: run `make install-test`")
    profile = tempfile.mkdtemp(prefix="borealis-chromium-")
    options = chromium_options(profile)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    if os.environ.get(SCREENSHOTS_ENV):
        driver.set_window_size(*SCREENSHOT_SIZE)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def screenshot(browser: webdriver.Chrome, name: str) -> None:
    """With BOREALIS_TEST_SCREENSHOTS=<dir> set (`make screenshots`), save the page as
    <dir>/<name>.png once it is fully drawn; without it, do nothing. (BOREALIS_TEST_*: the
    settings loader of the stack's `borealis` children refuses other BOREALIS_* names.)"""
    directory = os.environ.get(SCREENSHOTS_ENV)
    if not directory:
        return
    wait_for(lambda: browser.execute_script(FULLY_DRAWN_JS), 30, what=f"{name} fully drawn")
    browser.execute_script("window.scrollTo(0, 0)")  # the page's head, not the last click
    Path(directory).mkdir(parents=True, exist_ok=True)
    path = Path(directory) / f"{name}.png"
    assert browser.save_screenshot(str(path)), f"no screenshot saved to {path}"


DEAD_PORT = 1  # privileged: nobody listens there


def choose(browser: webdriver.Chrome, dropdown: str, label: str) -> None:
    """Pick `label` in the Dash dropdown `dropdown`: open it, then click the option.

    The click is the DOM's, after scrolling the option to the middle of its list: a pointer
    click lands on the list's search box when the option sits under it (Dash 3 draws the
    search box over the top of the scrolled list).
    """
    browser.find_element(By.ID, dropdown).click()
    option = wait_for(
        lambda: next(
            (
                o
                for o in browser.find_elements(By.CSS_SELECTOR, "[role='option']")
                if o.text == label
            ),
            None,
        ),
        10,
        what=f"{label!r} among the choices of {dropdown}",
    )
    browser.execute_script(
        "arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();", option
    )


def healthy(url: str) -> bool:
    with urllib.request.urlopen(url + "/healthz", timeout=2) as response:  # noqa: S310
        return bool(response.status == 200)


@contextlib.contextmanager
def ui_alone(
    browser: webdriver.Chrome, state: Path, port_base: int, ports: dict[str, int]
) -> Iterator[str]:
    """`borealis ui` alone on `port_base` (the UI at +60), its sources at `ports` (e.g.
    {"prometheus": 9090, "collector": DEAD_PORT}); yields its URL."""
    state.mkdir()
    env = child_env(
        {
            "BOREALIS_PORTS__BASE": str(port_base),
            **{f"BOREALIS_PORTS__{name.upper()}": str(port) for name, port in ports.items()},
        }
    )
    with (state / "ui.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "borealis", "ui", "--state-dir", str(state)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port_base + 60}"
    try:
        wait_for(lambda: healthy(url), 30, what=f"the UI alone ({state.name})")
        yield url
    finally:
        # Leave its pages first: their refresh timer would log refused requests into the
        # session's browser log, read by later tests.
        browser.get("about:blank")
        browser.get_log("browser")
        process.terminate()
        process.wait(30)
