"""The time range every page shows: picked (last 5 min .. 7 days, or two absolute moments) or
zoomed into by dragging on a graph. Pure functions over the range store's JSON; no I/O."""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeGuard

# (seconds, label) for the picker; ABSOLUTE selects the two datetime inputs instead.
RELATIVE_CHOICES: tuple[tuple[int, str], ...] = (
    (300, "5 min"),
    (900, "15 min"),
    (3600, "1 h"),
    (3 * 3600, "3 h"),
    (12 * 3600, "12 h"),
    (24 * 3600, "24 h"),
    (7 * 86400, "7 days"),
)
ABSOLUTE = "absolute"
DEFAULT_LAST_S = 900
# A range query aims at about this many points per series (Grafana's maxDataPoints idea):
# the pages' graphs span the window, about 1,300 px wide at 1400 px, so one point every
# ~5 px, as fine as a line can show; never finer than the 1 s scrape interval. 450 cost the
# I/O page (8 graphs x 16 instances) a second of building and drawing (bench.ui).
TARGET_POINTS = 250
SCRAPE_S = 1.0
INPUT_FORMAT = "%Y-%m-%d %H:%M"  # what the two inputs take (or with a T), read as UTC


@dataclass(frozen=True)
class TimeRange:
    start: float  # unix seconds
    end: float
    key: str  # stable while the user keeps the same choice (for Plotly's uirevision)

    @property
    def seconds(self) -> float:
        return self.end - self.start

    @property
    def step(self) -> float:
        return step_for(self.seconds)

    def x_range(self) -> list[str]:
        """The x-axis range as Plotly takes it (ISO times in UTC)."""
        return [_iso(self.start), _iso(self.end)]


def step_for(seconds: float) -> float:
    """Whole seconds, so that `seconds` holds about TARGET_POINTS points (at least the scrape
    interval)."""
    return max(SCRAPE_S, float(math.ceil(seconds / TARGET_POINTS)))


def relative(last_s: float) -> dict[str, Any]:
    """The store's value for a relative range."""
    return {"last_s": last_s}


def absolute(start: float, end: float, last_s: float = DEFAULT_LAST_S) -> dict[str, Any]:
    """The store's value for an absolute range; `last_s` is the relative range a reset
    returns to."""
    return {"start": start, "end": end, "last_s": last_s}


def resolve(stored: dict[str, Any] | None, now: float | None = None) -> TimeRange:
    """The range a store value means now. Nothing stored, or something unreadable, is the
    default relative range."""
    now = time.time() if now is None else now
    stored = stored or {}
    start, end = stored.get("start"), stored.get("end")
    if _number(start) and _number(end) and float(start) < float(end):
        return TimeRange(float(start), float(end), f"abs:{start}:{end}")
    last_s = stored.get("last_s")
    last = float(last_s) if _number(last_s) and float(last_s) > 0 else float(DEFAULT_LAST_S)
    return TimeRange(now - last, now, f"last:{last:g}")


def from_inputs(start_text: str | None, end_text: str | None) -> tuple[float, float]:
    """The two date-and-time inputs (UTC) as unix seconds; ValueError says what is wrong."""
    if not start_text or not end_text:
        raise ValueError("give both a start and an end")
    start, end = (_parse(text) for text in (start_text, end_text))
    if start >= end:
        raise ValueError("the start must be before the end")
    return start, end


def from_relayout(relayout: dict[str, Any] | None) -> tuple[float, float] | None:
    """The x-range a drag-to-zoom chose, from a graph's relayoutData; None when the event is
    something else (autosize, legend click, a y-only zoom, a double-click autorange)."""
    if not relayout:
        return None
    lower, upper = relayout.get("xaxis.range[0]"), relayout.get("xaxis.range[1]")
    if lower is None and isinstance(relayout.get("xaxis.range"), list | tuple):
        pair = relayout["xaxis.range"]
        if len(pair) == 2:
            lower, upper = pair
    if lower is None or upper is None:
        return None
    try:
        start, end = _parse(str(lower)), _parse(str(upper))
    except ValueError:
        return None
    return (start, end) if start < end else None


def _parse(text: str) -> float:
    """Plotly's and the input's date strings ('2026-12-03 08:41:02.5', '2026-12-03T08:41'),
    read as UTC."""
    try:
        moment = datetime.fromisoformat(text.strip().replace(" ", "T").replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not a date and time (YYYY-MM-DD HH:MM)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _iso(when: float) -> str:
    return datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def input_text(when: float) -> str:
    return datetime.fromtimestamp(when, UTC).strftime(INPUT_FORMAT)


def _number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


# --- the range in the URL: ?range=1h, or ?from=<ms>&to=<ms> as Grafana's links -------------
DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")
UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
MAX_LAST_S = 7 * 86400


def duration_text(seconds: float) -> str:
    """`1h`, `15m`, `7d`: the largest unit that divides `seconds`."""
    for unit in ("w", "d", "h", "m"):
        if seconds % UNIT_S[unit] == 0:
            return f"{int(seconds // UNIT_S[unit])}{unit}"
    return f"{seconds:g}s"


def to_query(stored: dict[str, Any] | None) -> dict[str, str]:
    """The URL parameters for a stored range: `range` for a relative one, `from`/`to` in
    milliseconds for an absolute one."""
    shown = resolve(stored)
    if shown.key.startswith("last:"):
        return {"range": duration_text(round(shown.seconds))}
    return {"from": str(round(shown.start * 1000)), "to": str(round(shown.end * 1000))}


def from_query(params: dict[str, str]) -> dict[str, Any] | None:
    """The store value the URL's parameters ask for; None when they hold no readable range
    (`range` up to 7 days, or `from` before `to` in ms)."""
    start, end = params.get("from"), params.get("to")
    if start and end:
        try:
            lower, upper = float(start) / 1000, float(end) / 1000
        except ValueError:
            return None
        if _number(lower) and _number(upper) and 0 <= lower < upper:
            return absolute(lower, upper)
        return None
    found = DURATION.match(params.get("range", "").strip())
    if found is None:
        return None
    seconds = float(found.group(1)) * UNIT_S[found.group(2)]
    return relative(seconds) if 0 < seconds <= MAX_LAST_S else None


def same_range(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    """Whether two stored ranges show the same thing (to the millisecond)."""
    return to_query(a) == to_query(b)
