"""The Performance Insights page in a real browser: load by wait and top SQL from the PI API."""

from __future__ import annotations

import threading

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from tests.conftest import Stack, wait_for

pytestmark = pytest.mark.ui


def test_pi_page_stacks_load_by_wait_with_the_vcpu_line_and_lists_top_sql(
    browser: webdriver.Chrome, stack: Stack
) -> None:
    writer = stack.writer()
    sleeper = threading.Thread(target=stack.sql, args=(writer["port"], "select pg_sleep(5)"))
    sleeper.start()
    browser.get(stack.status()["services"]["ui"] + "/performance-insights")

    def text_of(selector: str) -> str:
        return " ".join(e.text for e in browser.find_elements(By.CSS_SELECTOR, selector))

    wait_for(
        lambda: "Timeout:PgSleep" in text_of("#pi-load-graph .legendtext"),
        40,
        what="the sleeping session's wait in the DB load legend",
    )
    assert "Max vCPU" in text_of("#pi-load-graph .annotation-text")
    wait_for(
        lambda: "select pg_sleep(?)" in text_of("#pi-top-sql"),
        30,
        what="the sleeping statement in Top SQL",
    )
    sleeper.join()
    errors = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
