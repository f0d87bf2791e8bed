"""Headless Chromium options shared by the UI tests and the screenshot script.

The flags keep Debian's Chromium from reaching for the network (this machine has none) and
from needing a display, a sandbox or /dev/shm.
"""

from __future__ import annotations

from selenium.webdriver.chrome.options import Options

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1280,1000",
)


def chromium_options(profile_dir: str) -> Options:
    options = Options()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={profile_dir}"):
        options.add_argument(flag)
    return options
