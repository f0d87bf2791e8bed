"""Capture the UI pages of a running stack for the README: python scripts/screenshots.py URL."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from dashboards.headless import CHROMEDRIVER, chromium_options

PAGES = {
    "overview": "/",
    "replication": "/replication",
    "io": "/io",
    "performance-insights": "/performance-insights",
    "events": "/events",
}
OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


def main(base_url: str) -> None:
    options = chromium_options(tempfile.mkdtemp(prefix="borealis-shots-"))
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    OUT.mkdir(parents=True, exist_ok=True)
    try:
        for name, path in PAGES.items():
            driver.get(base_url.rstrip("/") + path)
            time.sleep(6)  # two refreshes: graphs drawn with data
            driver.save_screenshot(str(OUT / f"{name}.png"))
            print(OUT / f"{name}.png")
    finally:
        driver.quit()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:25460")
