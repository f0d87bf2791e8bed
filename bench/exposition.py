"""python -m bench.exposition [URL] [--rounds N]

What rendering /metrics costs, four ways, on the families of a real collector: our renderers
(collector.exposition: `render` for text 0.0.4, `render_openmetrics` for OpenMetrics 1.0.0, which
Prometheus 2.42 asks for) and prometheus_client's own `generate_latest` for each format. It fetches
/metrics once from a running collector (by default a stack's on 127.0.0.1:25491), rebuilds the
families with prometheus_client's parser, checks each pair of renderings parses to the same
samples, and prints median and p95 per rendering in one thread of this process.
"""

from __future__ import annotations

import argparse
import statistics
import time
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics.exposition import generate_latest as openmetrics_latest
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families

from collector.exposition import render, render_openmetrics


class Families:
    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterable[Metric]:
        return self.families


def timed(render_once: Callable[[], bytes], rounds: int) -> tuple[float, float, int]:
    """(median ms, p95 ms, bytes)."""
    size = len(render_once())  # warm caches, as a long-running collector has them
    took = []
    for _ in range(rounds):
        started = time.perf_counter()
        render_once()
        took.append((time.perf_counter() - started) * 1000)
    took.sort()
    return statistics.median(took), took[int(len(took) * 0.95) - 1], size


def samples(text: bytes, parse: Callable[[str], Iterable[Metric]]) -> list[tuple[Any, ...]]:
    return sorted(
        (s.name, sorted(s.labels.items()), repr(s.value))
        for f in parse(text.decode())
        for s in f.samples
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.exposition", description=__doc__)
    parser.add_argument("url", nargs="?", default="http://127.0.0.1:25491/metrics")
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args(argv)
    with urllib.request.urlopen(args.url, timeout=30) as response:  # noqa: S310
        text = response.read().decode()
    registry = Families(list(text_string_to_metric_families(text)))
    series = sum(len(f.samples) for f in registry.families)
    text = text_string_to_metric_families
    assert samples(render(registry), text) == samples(generate_latest(registry), text)
    om = openmetrics_families
    assert samples(render_openmetrics(registry), om) == samples(openmetrics_latest(registry), om)
    print(f"{len(registry.families)} families, {series} samples from {args.url}")
    for name, once in (
        ("collector.exposition.render", lambda: render(registry)),
        ("generate_latest (text 0.0.4)", lambda: generate_latest(registry)),
        ("collector.exposition.render_openmetrics", lambda: render_openmetrics(registry)),
        ("openmetrics generate_latest", lambda: openmetrics_latest(registry)),
    ):
        median, p95, size = timed(once, args.rounds)
        print(f"| {name} | {median:.2f} ms | {p95:.2f} ms | {size / 1024:.0f} KiB |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
