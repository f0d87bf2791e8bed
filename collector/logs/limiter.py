"""Flood control for events: per key, at most `burst` events per window are listed one by one;
the rest are counted and summed up in one aggregate event when the window closes."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

MAX_NAMES = 3  # distinct users/hosts/codes named in an aggregate event


@dataclass
class _Window:
    started: float
    admitted: int = 0
    suppressed: int = 0
    names: dict[str, Counter[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Suppressed:
    key: str
    count: int
    seconds: float
    names: dict[str, tuple[str, ...]]  # e.g. {"users": ("alice", "bob")}, most frequent first


class EventLimiter:
    def __init__(self, burst: int, window_s: float) -> None:
        self.burst = burst
        self.window_s = window_s
        self._windows: dict[str, _Window] = {}
        self._closed: list[Suppressed] = []  # windows that ended inside admit()
        self.suppressed_total: Counter[str] = Counter()

    def admit(self, key: str, now: float, **names: str) -> bool:
        """True when the event may be listed; otherwise it is counted for the aggregate."""
        window = self._windows.get(key)
        if window is None or now - window.started >= self.window_s:
            if window is not None and window.suppressed:
                self._closed.append(self._summary(key, window, now))
            window = self._windows[key] = _Window(started=now)
        if window.admitted < self.burst:
            window.admitted += 1
            return True
        window.suppressed += 1
        self.suppressed_total[key] += 1
        for kind, value in names.items():
            window.names.setdefault(kind, Counter())[value or "-"] += 1
        return False

    def expired(self, now: float, *, everything: bool = False) -> list[Suppressed]:
        """Windows that closed with suppressed events (all of them when `everything`)."""
        done, self._closed = self._closed, []
        for key, window in list(self._windows.items()):
            if not everything and now - window.started < self.window_s:
                continue
            del self._windows[key]
            if window.suppressed:
                done.append(self._summary(key, window, now))
        return done

    def _summary(self, key: str, window: _Window, now: float) -> Suppressed:
        return Suppressed(
            key=key,
            count=window.suppressed,
            seconds=min(self.window_s, max(0.0, now - window.started)),
            names={
                kind: tuple(name for name, _ in counts.most_common(MAX_NAMES))
                for kind, counts in window.names.items()
            },
        )
