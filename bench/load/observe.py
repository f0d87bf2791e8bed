"""Reading the collector under load: its /metrics (series, scrape time, self-metrics) sampled
over a window, and the figures that say whether it kept its cadence and counted its drops."""

from __future__ import annotations

import statistics
import threading
import time
import urllib.request
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

Labels = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Scrape:
    at: float  # time.monotonic()
    seconds: float
    series: int
    values: dict[tuple[str, Labels], float]  # sample name and labels -> value

    def total(self, name: str, **match: str) -> float:
        return sum(
            v
            for (n, labels), v in self.values.items()
            if n == name and all(dict(labels).get(k) == want for k, want in match.items())
        )

    def per_instance(self, name: str) -> dict[str, float]:
        out: dict[str, float] = {}
        for (n, labels), v in self.values.items():
            if n == name:
                instance = dict(labels).get("db_instance", "")
                out[instance] = out.get(instance, 0.0) + v
        return out


def scrape(url: str) -> Scrape:
    started = time.perf_counter()
    with urllib.request.urlopen(f"{url}/metrics", timeout=30) as response:  # noqa: S310
        text = response.read().decode()
    seconds = time.perf_counter() - started
    values: dict[tuple[str, Labels], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = float(sample.value)
    return Scrape(time.monotonic(), seconds, len(values), values)


@dataclass
class Watch:
    """Scrapes the collector every `every_s` seconds while a phase runs."""

    url: str
    every_s: float = 1.0
    scrapes: list[Scrape] = field(default_factory=list)
    failed: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Watch:
        self._thread = threading.Thread(target=self._run, name="watch", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(60)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.scrapes.append(scrape(self.url))
            except (OSError, ValueError):
                self.failed += 1
            self._stop.wait(self.every_s)

    def summary(self) -> dict[str, object]:
        if len(self.scrapes) < 2:
            return {"scrapes": len(self.scrapes), "failed": self.failed}
        first, last = self.scrapes[0], self.scrapes[-1]
        span = last.at - first.at
        polls = {
            k: (last.per_instance("borealis_polls_total").get(k, 0) - v) / span
            for k, v in first.per_instance("borealis_polls_total").items()
        }
        ages = [
            max(s.per_instance("borealis_poll_age_seconds").values() or [0]) for s in self.scrapes
        ]
        sampler = [
            max(s.per_instance("borealis_sampler_duration_seconds").values() or [0])
            for s in self.scrapes
        ]
        seconds = [s.seconds for s in self.scrapes]
        age_by_instance: dict[str, float] = {}
        for s in self.scrapes:
            for k, v in s.per_instance("borealis_poll_age_seconds").items():
                age_by_instance[k] = max(age_by_instance.get(k, 0.0), v)

        slowest: dict[str, float] = {}  # source -> its slowest poll seen (any instance)
        for s in self.scrapes:
            for (n, labels), v in s.values.items():
                if n == "borealis_source_duration_seconds":
                    source = dict(labels).get("source", "")
                    slowest[source] = max(slowest.get(source, 0.0), v)

        def delta(name: str, **match: str) -> float:
            return last.total(name, **match) - first.total(name, **match)

        return {
            "scrapes": len(self.scrapes),
            "failed": self.failed,
            "window_s": round(span, 1),
            "series_max": max(s.series for s in self.scrapes),
            "scrape_s_median": round(statistics.median(seconds), 3),
            "scrape_s_max": round(max(seconds), 3),
            "polls_per_s": {k: round(v, 2) for k, v in sorted(polls.items())},
            "poll_age_s_max": round(max(ages), 2),
            "poll_age_s_max_by_instance": {
                k: round(v, 2) for k, v in sorted(age_by_instance.items())
            },
            "sampler_round_trip_s_max": round(max(sampler), 3),
            "poll_errors": delta("borealis_poll_errors_total"),
            "sampler_errors": delta("borealis_sampler_errors_total"),
            "log_lines": delta("borealis_log_lines_total"),
            "log_malformed": delta("borealis_log_malformed_lines_total"),
            "log_events_suppressed": delta("borealis_log_events_suppressed_total"),
            "log_tail_errors": delta("borealis_log_tail_errors_total"),
            "proc_reads_deferred": delta("borealis_process_reads_deferred_total"),
            "slowest_sources": sorted(
                ((k, round(v, 3)) for k, v in slowest.items()), key=lambda kv: -kv[1]
            )[:4],
        }


def families_by_series(s: Scrape, top: int = 8) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for name, _ in s.values:
        counts[name] = counts.get(name, 0) + 1
    return sorted(counts.items(), key=lambda kv: -kv[1])[:top]
