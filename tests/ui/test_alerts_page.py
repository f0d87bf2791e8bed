"""The Alerts page in a real browser against the live stack: the alarm editor creates, changes
and deletes an alarm through the CloudWatch API (checked with boto3), shows a refusal in the
API's own words, and silences are created and expired through Alertmanager."""

from __future__ import annotations

import json
import urllib.request
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from dashboards.app import PAGES
from tests.conftest import Stack, cloudwatch_client, wait_for
from tests.ui.conftest import screenshot
from tests.ui.test_pages import choose, open_page, severe_console_errors

pytestmark = pytest.mark.ui


def cloudwatch(stack: Stack) -> Any:
    return cloudwatch_client(stack.status()["services"]["cloudwatch"], "x")


def type_into(browser: webdriver.Chrome, component_id: str, text: str) -> None:
    """Replace the input's text the way a user does (Selenium's clear() bypasses React, which
    then keeps the old value)."""
    field = browser.find_element(By.CSS_SELECTOR, f"#{component_id}")
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(Keys.DELETE)
    if text:
        field.send_keys(text)


def message(browser: webdriver.Chrome, component_id: str) -> str:
    return str(browser.find_element(By.CSS_SELECTOR, f"#{component_id}").text)


def rows(browser: webdriver.Chrome, table: str) -> list[list[str]]:
    return [
        list(r)
        for r in browser.execute_script(
            f"return Array.from(document.querySelectorAll('#{table} tr')).slice(1)"
            ".map(r => Array.from(r.querySelectorAll('td')).map(c => c.innerText))"
        )
    ]


def select_row(browser: webdriver.Chrome, table: str, text: str) -> None:
    """Tick the row's radio button in a selectable DataTable."""
    for row in browser.find_elements(By.CSS_SELECTOR, f"#{table} tr"):
        if text in row.text:
            row.find_element(By.CSS_SELECTOR, "input[type='radio']").click()
            return
    raise AssertionError(f"no row with {text} in #{table}")


def test_every_page_loads_without_console_errors(browser: webdriver.Chrome, stack: Stack) -> None:
    ui = stack.status()["services"]["ui"]
    browser.get(ui + "/")
    # Paused, each page's callbacks run once and finish: "drawn" is then a state to wait for
    # (a page refreshing every 2 s on a busy machine may never be idle).
    # Dash draws the layout after the page loads: wait for the checkbox, do not assume it.
    pause = wait_for(
        lambda: browser.find_element(By.CSS_SELECTOR, "input[name='refresh-pause']"),
        30,
        what="the auto-refresh pause checkbox",
    )
    if not pause.is_selected():
        pause.click()
    for page in PAGES:
        browser.get(ui + page.PATH)
        wait_for(
            lambda: browser.find_elements(By.CSS_SELECTOR, "#page h2"), 30, what=f"{page.PATH}"
        )
        wait_for(
            lambda: not browser.find_elements(By.CSS_SELECTOR, "[data-dash-is-loading='true']"),
            30,
            what=f"{page.PATH} drawn",
        )
        assert severe_console_errors(browser) == [], page.PATH
    pause = wait_for(
        lambda: browser.find_element(By.CSS_SELECTOR, "input[name='refresh-pause']"),
        30,
        what="the auto-refresh pause checkbox",
    )
    if pause.is_selected():
        pause.click()


def test_the_editor_creates_changes_and_deletes_an_alarm(
    browser: webdriver.Chrome, stack: Stack
) -> None:
    client = cloudwatch(stack)
    name = f"UiEditorCpu-{uuid.uuid4().hex[:6]}"
    writer = stack.writer()["id"]
    open_page(browser, stack, "/alerts")
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#alarm-editor-name"), 30)
    type_into(browser, "alarm-editor-name", name)
    choose(browser, "alarm-editor-namespace", "AWS/RDS")
    type_into(browser, "alarm-editor-metric", "CPUUtilization")
    type_into(browser, "alarm-editor-dimensions", f"DBInstanceIdentifier={writer}")
    choose(browser, "alarm-editor-statistic", "Average")
    type_into(browser, "alarm-editor-period", "7")  # not 1, 5, 10, 20, 30 or n x 60
    type_into(browser, "alarm-editor-evaluation-periods", "3")
    choose(browser, "alarm-editor-operator", "GreaterThanThreshold")
    type_into(browser, "alarm-editor-threshold", "95")

    # Refused: the page shows the API's own message, the one boto3 gets.
    with pytest.raises(ClientError) as refused:
        client.put_metric_alarm(
            AlarmName=name,
            Namespace="AWS/RDS",
            MetricName="CPUUtilization",
            Dimensions=[{"Name": "DBInstanceIdentifier", "Value": writer}],
            Statistic="Average",
            Period=7,
            EvaluationPeriods=3,
            ComparisonOperator="GreaterThanThreshold",
            Threshold=95,
        )
    api_message = refused.value.response["Error"]["Message"]
    browser.find_element(By.CSS_SELECTOR, "#alarm-editor-save").click()
    wait_for(lambda: api_message in message(browser, "alarm-editor-message"), 30, what="refusal")
    assert client.describe_alarms(AlarmNames=[name])["MetricAlarms"] == []

    # Created.
    type_into(browser, "alarm-editor-period", "60")
    browser.find_element(By.CSS_SELECTOR, "#alarm-editor-save").click()
    wait_for(lambda: "Saved alarm" in message(browser, "alarm-editor-message"), 30, what="saved")
    created = client.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    assert [(a["Threshold"], a["Period"], a["EvaluationPeriods"]) for a in created] == [
        (95.0, 60, 3)
    ]
    wait_for(lambda: any(r[1] == name for r in rows(browser, "alerts-alarms")), 30, what="listed")

    # Changed: select it (the editor loads it), lower the threshold, save.
    type_into(browser, "alarm-editor-name", "")
    select_row(browser, "alerts-alarms", name)
    wait_for(
        lambda: (
            browser.find_element(By.CSS_SELECTOR, "#alarm-editor-name").get_attribute("value")
            == name
        ),
        30,
        what="the alarm loaded into the editor",
    )
    assert (
        browser.find_element(By.CSS_SELECTOR, "#alarm-editor-threshold").get_attribute("value")
        == "95"
    )
    wait_for(
        lambda: "created" in " ".join(" ".join(r) for r in rows(browser, "alerts-history")),
        30,
        what="its history",
    )
    screenshot(browser, "alerts")
    type_into(browser, "alarm-editor-threshold", "50")
    browser.find_element(By.CSS_SELECTOR, "#alarm-editor-save").click()
    wait_for(
        lambda: (
            [a["Threshold"] for a in client.describe_alarms(AlarmNames=[name])["MetricAlarms"]]
            == [50.0]
        ),
        30,
        what="the threshold changed to 50",
    )

    # Deleted.
    browser.find_element(By.CSS_SELECTOR, "#alarm-editor-delete").click()
    wait_for(lambda: "Deleted alarm" in message(browser, "alarm-editor-message"), 30)
    assert client.describe_alarms(AlarmNames=[name])["MetricAlarms"] == []
    wait_for(lambda: all(r[1] != name for r in rows(browser, "alerts-alarms")), 30, what="unlisted")
    assert severe_console_errors(browser) == []


def silences(stack: Stack) -> list[dict[str, Any]]:
    url = stack.status()["services"]["alertmanager"] + "/api/v2/silences"
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - our own URL
        return list(json.load(response))


def test_a_silence_is_created_and_expired(browser: webdriver.Chrome, stack: Stack) -> None:
    alarm = f"UiSilenced-{uuid.uuid4().hex[:6]}"
    open_page(browser, stack, "/alerts")
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#silence-alarm"), 30)
    type_into(browser, "silence-alarm", alarm)
    type_into(browser, "silence-minutes", "30")
    type_into(browser, "silence-comment", "maintenance from the UI test")
    browser.find_element(By.CSS_SELECTOR, "#silence-create").click()
    wait_for(lambda: "Silenced" in message(browser, "silence-message"), 30, what="created")

    def states() -> list[str]:
        return [
            s["status"]["state"]
            for s in silences(stack)
            if any(m["value"] == alarm and m["name"] == "alertname" for m in s["matchers"])
        ]

    assert states() == ["active"]
    wait_for(
        lambda: any(f"alertname={alarm}" in r for r in rows(browser, "silences-table")),
        30,
        what="the silence listed",
    )
    select_row(browser, "silences-table", f"alertname={alarm}")
    browser.find_element(By.CSS_SELECTOR, "#silence-expire").click()
    wait_for(lambda: "Expired silence" in message(browser, "silence-message"), 30, what="expired")
    assert states() == ["expired"]
    assert severe_console_errors(browser) == []
