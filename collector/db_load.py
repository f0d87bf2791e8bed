"""DB load as Performance Insights counts it: active-session-seconds, summed per wait event
and, with a cap on distinct values, per SQL digest, user, database, application, host and
session type. `rate()` of these counters over any window is the average number of active
sessions (AAS) in it."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from collector.activity import ActiveSession, Sample
from collector.topk import CappedCounters


class LoadAccumulator:
    """Active-session-seconds since the collector started: per wait event, and per digest,
    user, database, application, host and session type with a cap on distinct values."""

    def __init__(self, max_digests: int = 50, max_values: int = 20) -> None:
        self._lock = threading.Lock()
        self.by_wait: dict[tuple[str, str], float] = {}
        self.samples = 0
        self.sampled_seconds = 0.0
        self.by_sql = CappedCounters(max_digests)
        self.by_dimension = {
            "user": CappedCounters(max_values),
            "database": CappedCounters(max_values),
            "application": CappedCounters(max_values),
            "host": CappedCounters(max_values),
            "session_type": CappedCounters(max_values),
        }

    def add(self, sample: Sample) -> None:
        self.add_all((sample,))

    def add_all(self, samples: Sequence[Sample]) -> None:
        """Samples of one round trip: summed first, so the capped counters (and their
        decay) are updated once per round trip rather than once per sample."""
        now = time.monotonic()
        # A session in the same state from tick to tick is the same object (sessions_of):
        # sum its weight first, then spread it over the dimensions once.
        weights: dict[int, tuple[ActiveSession, float]] = {}
        for sample in samples:
            for session in sample.sessions:
                known = weights.get(id(session))
                value = sample.weight * session.share
                weights[id(session)] = (session, value + (known[1] if known else 0.0))
        by_wait: dict[tuple[str, str], float] = {}
        by_sql: dict[str, float] = {}
        by_dimension: dict[str, dict[str, float]] = {name: {} for name in self.by_dimension}
        for session, value in weights.values():
            key = (session.wait_event_type, session.wait_event)
            by_wait[key] = by_wait.get(key, 0.0) + value
            by_sql[session.digest_id] = by_sql.get(session.digest_id, 0.0) + value
            for name, sums in by_dimension.items():
                dimension = getattr(session, name)
                sums[dimension] = sums.get(dimension, 0.0) + value
        with self._lock:
            self.samples += len(samples)
            self.sampled_seconds += sum(sample.weight for sample in samples)
            for key, value in by_wait.items():
                self.by_wait[key] = self.by_wait.get(key, 0.0) + value
        if not by_sql:
            return
        self.by_sql.add_many(by_sql, now)
        for name, counters in self.by_dimension.items():
            counters.add_many(by_dimension[name], now)

    def snapshot(self) -> tuple[dict[tuple[str, str], float], int, float]:
        with self._lock:
            return dict(self.by_wait), self.samples, self.sampled_seconds
