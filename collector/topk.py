"""Counters with a cap on distinct label values: the top N by recent load, plus "other".

Every series stays a true counter: a key's load goes to its own series while the key holds
one of the N slots, and to "other" otherwise (never moved after the fact). Free slots are
taken at once; every `rebalance_s` the slots go to the N keys with the most recent load
(exponentially decayed), so a new heavy digest gets a series within a minute while an old
one gives its slot up (its series ends, and its later load counts as "other").
"""

from __future__ import annotations

import math
import threading

from collector.pi_catalog import OTHER


class CappedCounters:
    def __init__(self, cap: int, *, rebalance_s: float = 60.0, half_life_s: float = 300.0) -> None:
        self.cap = cap
        self.rebalance_s = rebalance_s
        self.half_life_s = half_life_s
        self._lock = threading.Lock()
        self._totals: dict[str, float] = {}
        self._other = 0.0
        self._recent: dict[str, tuple[float, float]] = {}  # key -> (decayed value, at)
        self._next_rebalance: float | None = None

    def _decayed(self, key: str, now: float) -> float:
        value, at = self._recent.get(key, (0.0, now))
        return value * math.pow(0.5, (now - at) / self.half_life_s)

    def add(self, key: str, value: float, now: float) -> None:
        self.add_many({key: value}, now)

    def add_many(self, values: dict[str, float], now: float) -> None:
        with self._lock:
            for key, value in values.items():
                self._recent[key] = (self._decayed(key, now) + value, now)
                if key in self._totals:
                    self._totals[key] += value
                elif len(self._totals) < self.cap:
                    self._totals[key] = value
                else:
                    self._other += value
            if self._next_rebalance is None:
                self._next_rebalance = now + self.rebalance_s
            elif now >= self._next_rebalance:
                self._rebalance(now)
                self._next_rebalance = now + self.rebalance_s

    def _rebalance(self, now: float) -> None:
        ranked = sorted(self._recent, key=lambda k: self._decayed(k, now), reverse=True)
        keep = set(ranked[: self.cap])
        for key in list(self._totals):
            if key not in keep:
                del self._totals[key]  # its series ends; later load is "other"
        for key in ranked[: self.cap]:
            if key not in self._totals:
                self._totals[key] = 0.0
        # Remember only a bounded tail of candidates.
        for key in ranked[4 * self.cap :]:
            del self._recent[key]

    def snapshot(self) -> tuple[dict[str, float], float]:
        """(series per key, the "other" series)."""
        with self._lock:
            return dict(self._totals), self._other

    def keys(self) -> list[str]:
        with self._lock:
            return list(self._totals)


__all__ = ["OTHER", "CappedCounters"]
