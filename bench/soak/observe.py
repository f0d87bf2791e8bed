"""What the soak watches while it runs: the services' memory (RSS, per process incarnation) and
the alerts Alertmanager holds (polled, so alerts inhibited by another one count too)."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path


def rss_kib(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def read_pid(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None


@dataclass(frozen=True)
class MemorySample:
    at: float  # time.monotonic()
    pid: int
    rss_kib: int


WARM_UP_S = 120.0  # a fresh process fills its caches first: growth then is no leak


def slope_mib_per_min(samples: list[MemorySample], skip_s: float = 0.0) -> float | None:
    """Least-squares slope of RSS over time, one intercept per process (a restarted service
    starts small again: its restart is no leak, its growth afterwards may be), leaving out each
    process's first `skip_s` seconds. None without two samples of one process."""
    by_pid: dict[int, list[MemorySample]] = {}
    first_seen: dict[int, float] = {}
    for sample in samples:
        first_seen.setdefault(sample.pid, sample.at)
        if sample.at - first_seen[sample.pid] >= skip_s:
            by_pid.setdefault(sample.pid, []).append(sample)
    covariance = variance = 0.0
    for group in by_pid.values():
        if len(group) < 2:
            continue
        mean_t = sum(s.at for s in group) / len(group)
        mean_m = sum(s.rss_kib for s in group) / len(group)
        covariance += sum((s.at - mean_t) * (s.rss_kib - mean_m) for s in group)
        variance += sum((s.at - mean_t) ** 2 for s in group)
    if variance == 0:
        return None
    return covariance / variance * 60 / 1024


class MemorySampler:
    """RSS of the supervisor and the collector (re-read from its pid file: it gets restarted)
    every `every_s` seconds."""

    def __init__(self, supervisor_pid: int, collector_pid_file: Path, every_s: float) -> None:
        self.supervisor_pid = supervisor_pid
        self.collector_pid_file = collector_pid_file
        self.every_s = every_s
        self.samples: dict[str, list[MemorySample]] = {"supervisor": [], "collector": []}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        while True:
            pids = {
                "supervisor": self.supervisor_pid,
                "collector": read_pid(self.collector_pid_file),
            }
            for name, pid in pids.items():
                kib = rss_kib(pid) if pid is not None else None
                if pid is not None and kib is not None:
                    self.samples[name].append(MemorySample(time.monotonic(), pid, kib))
            if self._stop.wait(self.every_s):
                return

    def summary(self) -> dict[str, dict[str, float | int | None]]:
        out: dict[str, dict[str, float | int | None]] = {}
        for name, samples in self.samples.items():
            out[name] = {
                "samples": len(samples),
                "incarnations": len({s.pid for s in samples}),
                "first_mib": round(samples[0].rss_kib / 1024, 1) if samples else None,
                "last_mib": round(samples[-1].rss_kib / 1024, 1) if samples else None,
                "max_mib": round(max(s.rss_kib for s in samples) / 1024, 1) if samples else None,
                "slope_mib_per_min": _round(slope_mib_per_min(samples)),
                "steady_slope_mib_per_min": _round(slope_mib_per_min(samples, WARM_UP_S)),
            }
        return out


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


@dataclass
class SeenAlert:
    name: str
    labels: dict[str, str]
    first_seen: float  # time.time() of the first poll that listed it
    last_seen: float
    states: set[str] = field(default_factory=set)  # active, suppressed


class AlertWatcher:
    """Polls Alertmanager's /api/v2/alerts: every alert it held during the run, with the
    first and last poll that listed it (active or suppressed by an inhibition)."""

    def __init__(self, url: str, every_s: float = 1.0) -> None:
        self.url = url.rstrip("/") + "/api/v2/alerts"
        self.every_s = every_s
        self.alerts: dict[str, SeenAlert] = {}  # by fingerprint and start
        self.failed_polls = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="alerts", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            try:
                with urllib.request.urlopen(self.url, timeout=5) as response:  # noqa: S310
                    body = json.load(response)
            except (urllib.error.URLError, OSError, ValueError):
                self.failed_polls += 1
                continue
            now = time.time()
            with self._lock:
                for alert in body:
                    labels = {str(k): str(v) for k, v in alert.get("labels", {}).items()}
                    key = f"{alert.get('fingerprint')}@{alert.get('startsAt')}"
                    seen = self.alerts.get(key)
                    if seen is None:
                        name = labels.get("alertname", "")
                        seen = self.alerts[key] = SeenAlert(name, labels, now, now)
                    seen.last_seen = now
                    seen.states.add(str(alert.get("status", {}).get("state", "")))

    def snapshot(self) -> list[SeenAlert]:
        with self._lock:
            return list(self.alerts.values())
