"""Faster polling while something changes in a cluster.

When one instance's poll fails or its role changes, a failover may be under way: every poller
of that cluster then polls every `fast_interval_s` for `duration_s`, so the new writer shows
in /metrics a fraction of a second after its promotion instead of up to a poll interval later.
Quiet clusters pay nothing.
"""

from __future__ import annotations

import threading
import time


class ClusterAlert:
    def __init__(self, fast_interval_s: float = 0.2, duration_s: float = 10.0) -> None:
        self.fast_interval_s = fast_interval_s
        self.duration_s = duration_s
        self.raised_total = 0
        self._until = 0.0
        self._lock = threading.Lock()
        self._wakers: list[threading.Event] = []

    def subscribe(self) -> threading.Event:
        """An event set whenever the alert is raised (a poller waits on it)."""
        waker = threading.Event()
        with self._lock:
            self._wakers.append(waker)
        return waker

    def raise_alert(self) -> None:
        with self._lock:
            self._until = time.monotonic() + self.duration_s
            self.raised_total += 1
            wakers = list(self._wakers)
        for waker in wakers:
            waker.set()

    def interval(self, normal_s: float) -> float:
        if time.monotonic() < self._until:
            return min(normal_s, self.fast_interval_s)
        return normal_s
