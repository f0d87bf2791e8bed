"""Each UI page's time to a fully drawn page, in a real headless Chromium (on demand, not in
CI): `python -m bench.ui [--rounds 3] [--pages io,performance-insights] [--write-docs]`.

Data: a real Prometheus on a TSDB backfilled with promtool: 16 instances (one writer), the
series the pages plot, one sample every 2 s over the last hour and one a minute over the
seven days before (the UI's rates use a 10 s window, so older points hold no rate: the 7-day
graphs draw gauges and the last hour's rates only; 2 s over the whole week is 30 times the
samples, hours of promtool on this machine). Performance Insights: the real PI API over a
store written at the collector's own density (bench.ui_pi), and the collector's instance
list (/api/targets, every instance up, no events) from a stand-in. Alertmanager and the
CloudWatch API are not started: those parts show their "source unavailable" state (a
refused connection, answered at once).

A load is timed in the browser with performance.now() from navigation start until Dash has no
pending callback and every `.js-plotly-plot` has drawn (its `_fullLayout` and SVG), held for
300 ms. Each Prometheus query the callbacks make is timed by Prometheus' own query log.
Results go to docs/benchmarks.md between the `bench.ui` markers.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import tempfile
import time
import urllib.request
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from bench import ui_pi
from bench.docs import write_marked
from bench.failover import machine, uptime
from collector.pi_api import PiHttp
from core.httpapi import HttpServer
from dashboards.app import create_app
from dashboards.context import UiContext
from dashboards.data import CollectorClient, PrometheusClient
from dashboards.headless import CHROMEDRIVER, chromium_options
from dashboards.pi_data import PiClient

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- bench.ui:begin -->", "<!-- bench.ui:end -->"
INSTANCES = 16
SPAN_S = 7 * 86400
STEP_S = 60  # older samples: one a minute (a seven-day backfill at the stack's 1 s is too big)
RECENT_S, RECENT_STEP_S = 3600, 2  # the last hour: dense enough for the UI's rate(...[10s])
PAGES = {
    "overview": "/",
    "replication": "/replication",
    "io": "/io",
    "performance-insights": "/performance-insights",
    "events": "/events",
    "alerts": "/alerts",
}
WINDOWS = {"1 h": "3600", "7 d": "604800"}
TARGET_S = {"1 h": 1.5, "7 d": 3.0}
# Counters (per-second rate) and gauges the pages read, per instance.
COUNTERS = {
    "borealis_blocks_read_total": 40.0,
    "borealis_wal_writes_total": 20.0,
    "borealis_wal_bytes_total": 2e5,
    "borealis_wal_records_total": 50.0,
    "borealis_xact_commits_total": 30.0,
    "borealis_disk_io_weighted_seconds_total": 0.3,
    "borealis_block_read_seconds_total": 0.02,
    "borealis_wal_write_seconds_total": 0.01,
    "borealis_process_cpu_seconds_total": 0.4,
}
GAUGES = {
    "borealis_up": 1.0,
    "borealis_database_connections": 12.0,
    "borealis_process_cpus": 2.0,
    "borealis_replica_lag_seconds": 0.02,
    "borealis_replica_lag_bytes": 4096.0,
}
WAITS = ("CPU", "IO", "LWLock", "Lock", "Client")

FULLY_DRAWN_JS = """
const done = arguments[arguments.length - 1];
let since = null;
const drawn = () => {
  if (!document.querySelector('#page h2')) return false;
  if (document.querySelector('._dash-loading, [data-dash-is-loading="true"]')) return false;
  return Array.from(document.querySelectorAll('.js-plotly-plot'))
    .every(g => g._fullLayout !== undefined && g.querySelector('.main-svg') !== null);
};
const poll = () => {
  const now = performance.now();
  if (drawn()) {
    if (since === null) since = now;
    if (now - since >= 300) return done(since);
  } else {
    since = null;
  }
  setTimeout(poll, 10);
};
poll();
"""


def openmetrics(end: int) -> Iterator[str]:
    """The backfill, family by family (OpenMetrics wants each family's samples together)."""
    names = [f"bench-instance-{n}" for n in range(1, INSTANCES + 1)]
    times = [
        *range(end - SPAN_S, end - RECENT_S, STEP_S),
        *range(end - RECENT_S, end, RECENT_STEP_S),
    ]

    def role(name: str) -> str:
        return "writer" if name == names[0] else "reader"

    for metric, per_s in COUNTERS.items():
        yield f"# TYPE {metric.removesuffix('_total')} counter"
        for n, name in enumerate(names):
            labels = f'db_instance="{name}",role="{role(name)}"'
            rate = per_s * (1 + n / INSTANCES)
            yield from (f"{metric}{{{labels}}} {rate * (t - times[0]):.3f} {t}" for t in times)
    for metric, value in GAUGES.items():
        yield f"# TYPE {metric} gauge"
        for n, name in enumerate(names):
            labels = f'db_instance="{name}",role="{role(name)}"'
            yield from (
                f"{metric}{{{labels}}} {value * (1 + (t // 600 + n) % 7 / 10)} {t}" for t in times
            )
    yield "# TYPE borealis_instance_is_writer gauge"
    for name in names:
        labels = f'db_instance="{name}",role="{role(name)}"'
        yield from (
            f"borealis_instance_is_writer{{{labels}}} {int(role(name) == 'writer')} {t}"
            for t in times
        )
    yield "# TYPE borealis_db_load_seconds counter"
    for n, name in enumerate(names):
        for w, wait in enumerate(WAITS):
            labels = f'db_instance="{name}",role="{role(name)}",wait_event_type="{wait}"'
            rate = 0.1 * (w + 1) * (1 + n / INSTANCES)
            yield from (
                f"borealis_db_load_seconds_total{{{labels}}} {rate * (t - times[0]):.3f} {t}"
                for t in times
            )
    yield "# EOF"


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - our own URL
        return str(response.read().decode())


def wait_until(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"bench.ui: timed out waiting for {what}")


def start_prometheus(root: Path, port: int) -> tuple[subprocess.Popen[bytes], Path]:
    source, data, query_log = root / "series.om", root / "data", root / "queries.log"
    started = time.monotonic()
    with source.open("w") as out:
        for line in openmetrics(int(time.time()) - 30):
            out.write(line + "\n")
    subprocess.run(
        ["promtool", "tsdb", "create-blocks-from", "openmetrics", str(source), str(data)],
        check=True,
        capture_output=True,
    )
    source.unlink()
    print(f"backfilled in {time.monotonic() - started:.0f} s", flush=True)
    config = root / "prometheus.yml"
    config.write_text(f"global:\n  scrape_interval: 15s\n  query_log_file: {query_log}\n")
    log = (root / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [
            "prometheus",
            f"--config.file={config}",
            f"--storage.tsdb.path={data}",
            "--storage.tsdb.retention.time=30d",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: get(f"{url}/-/ready").startswith("Prometheus"), 120, "Prometheus")
    return process, query_log


def query_times(query_log: Path, since: int) -> list[tuple[str, float]]:
    """(query, seconds) of each query logged from byte `since` on."""
    found = []
    with query_log.open() as log:
        log.seek(since)
        for line in log:
            entry = json.loads(line)
            timings = entry.get("stats", {}).get("timings", {})
            found.append((entry["params"]["query"], float(timings.get("execTotalTime", 0.0))))
    return found


def start_pi(root: Path, port: int) -> tuple[PiHttp, HttpServer]:
    """The PI API on `port` over a freshly written store, the instance list on `port + 1`."""
    names = [f"bench-instance-{n}" for n in range(1, INSTANCES + 1)]
    started = time.monotonic()
    rows = ui_pi.seed(root / "pi.sqlite3", names, int(time.time()) - 30, SPAN_S, RECENT_S)
    print(f"PI store: {rows} load rows in {time.monotonic() - started:.0f} s", flush=True)
    return ui_pi.start(root / "pi.sqlite3", names, port, "bench")


def measure(rounds: int, port_base: int, pages: dict[str, str]) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="borealis-bench-ui-"))
    prometheus, query_log = start_prometheus(root, port_base)
    pi, targets = start_pi(root, port_base + 2)
    ctx = UiContext(
        prometheus=PrometheusClient(f"http://127.0.0.1:{port_base}"),
        collector=CollectorClient(targets.url),
        pi=PiClient(pi.url),
        refresh_ms=3_600_000,  # no auto-refresh during a load
    )
    http = HttpServer(create_app(ctx).server, port=port_base + 1, name="ui", threads=8)
    http.start()
    driver = webdriver.Chrome(
        service=Service(CHROMEDRIVER), options=chromium_options(str(root / "chromium"))
    )
    driver.set_window_size(1400, 1000)
    driver.set_script_timeout(60)
    results: dict[str, Any] = {}
    try:
        for window, seconds in WINDOWS.items():
            driver.get(http.url + "/")
            driver.execute_async_script(FULLY_DRAWN_JS)
            driver.find_element(
                By.CSS_SELECTOR, f"input[name='range-picker'][value='{seconds}']"
            ).click()
            for page, path in pages.items():
                loads, queries = [], defaultdict(list)
                for _ in range(rounds + 1):  # the first load warms caches: not counted
                    driver.get("about:blank")
                    mark = query_log.stat().st_size if query_log.exists() else 0
                    driver.get(http.url + path)
                    loads.append(float(driver.execute_async_script(FULLY_DRAWN_JS)) / 1000)
                    time.sleep(0.5)  # the query log is written as each query ends
                    for query, took in query_times(query_log, mark):
                        queries[query].append(took)
                ranked = sorted(
                    ((statistics.median(t), q) for q, t in queries.items()), reverse=True
                )
                results[f"{page} {window}"] = {
                    "median_s": statistics.median(loads[1:]),
                    "loads_s": loads[1:],
                    "queries": len(queries),
                    "top": ranked[:2],
                }
                print(page, window, results[f"{page} {window}"], flush=True)
    finally:
        driver.quit()
        http.stop()
        pi.stop()
        targets.stop()
        prometheus.terminate()
        prometheus.wait(30)
        shutil.rmtree(root, ignore_errors=True)
    return results


def section(results: dict[str, Any], when: str, load_before: str, rounds: int) -> str:
    info = machine()
    lines = [
        "## UI pages: time to a fully drawn page",
        "",
        f"Measured {when} on {info['nproc']} x {info['cpu']}, {info['memory_gib']} GiB, "
        f"Linux {info['kernel']}, with `python -m bench.ui --write-docs`. Load average "
        f"(1, 5, 15 min) before: {load_before}, after: {uptime()} (a shared machine: other "
        f"test suites ran alongside). {INSTANCES} instances (one writer), 7 days backfilled "
        "with promtool into a real Prometheus: a sample every 2 s over the last hour, every "
        "60 s before (the UI's `rate(...[10s])` has points only in the last hour, so the "
        "7-day graphs are lighter than a real stack's; 2 s over the whole week is 30 times "
        "the samples, hours of promtool here). Performance Insights: the real PI API over a "
        "store written at the collector's 1 s density (bench/ui_pi.py: about 3 active "
        "sessions a second over 6 wait events and 12 digests, 30 s statement statistics; "
        "the writer, which the page shows, over the whole 7 days, each reader the last "
        "hour); the collector's instance list from a stand-in (every instance up, no "
        "events); Alertmanager and the CloudWatch API not running (their parts show the "
        "unavailable state). Graphs hold at most 250 points a series. Median of "
        f"{rounds} loads (after one warm-up) in headless Chromium (1400x1000), from "
        "navigation start until no Dash callback is pending and every graph has drawn; "
        "query times from Prometheus' query log (`execTotalTime`, median of the loads).",
        "",
        "| Page | Window | Median (s) | Target | Queries | Slowest query (ms) |",
        "|---|---|---|---|---|---|",
    ]
    for key, row in results.items():
        page, window = key.rsplit(" ", 2)[0], " ".join(key.rsplit(" ", 2)[1:])
        verdict = "ok" if row["median_s"] < TARGET_S[window] else "**missed**"
        top = "; ".join(f"`{q[:70]}` {1000 * t:.0f}" for t, q in row["top"][:1]) or "-"
        lines.append(
            f"| {page} | {window} | {row['median_s']:.2f} | < {TARGET_S[window]} s {verdict} "
            f"| {row['queries']} | {top} |"
        )
    return "\n".join(lines)


def write_docs(text: str) -> None:
    write_marked(DOCS, BEGIN, END, text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ui", description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--port-base", type=int, default=24900)
    parser.add_argument("--pages", default=",".join(PAGES), help="comma-separated pages")
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args(argv)
    chosen = [p for p in args.pages.split(",") if p]
    unknown = [p for p in chosen if p not in PAGES]
    if unknown:
        parser.error(f"unknown page {', '.join(unknown)} (one of {', '.join(PAGES)})")
    if args.write_docs and set(chosen) != set(PAGES):
        parser.error("--write-docs measures every page (leave out --pages)")
    load_before = uptime()
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    results = measure(args.rounds, args.port_base, {p: PAGES[p] for p in chosen})
    text = section(results, when, load_before, args.rounds)
    print(text)
    if args.write_docs:
        write_docs(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
