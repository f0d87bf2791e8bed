"""What the PI page shows, kept in its URL's query string so that a link shares it: the
dimension (`group`), a drilled digest (`sql`) or wait event (`wait`) and the
comparison (`compare`: `1d`, `1w` or `abs` with `bfrom`/`bto` in ms). Other parameters (the
shared bar's `range`, `from`, `to`, `instance`) are kept as they are. Pure functions; no I/O."""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass

DEFAULT_GROUP = "db.wait_event"
# Period B: (value, label, seconds before period A; None: the absolute inputs).
COMPARE_CHOICES: tuple[tuple[str, str, float | None], ...] = (
    ("off", "No comparison", None),
    ("1d", "Same window, one day earlier", 86400.0),
    ("1w", "Same window, one week earlier", 7 * 86400.0),
    ("abs", "Period B (UTC):", None),
)
OWN = ("group", "sql", "wait", "compare", "bfrom", "bto")


@dataclass(frozen=True)
class PiState:
    group: str = DEFAULT_GROUP
    sql: str | None = None  # a digest id (db.sql_tokenized.id)
    wait: str | None = None  # a wait event name (db.wait_event.name)
    compare: str = "off"
    b_from_ms: int | None = None
    b_to_ms: int | None = None


def params(search: str | None) -> dict[str, str]:
    """The query string's parameters (the last value of each)."""
    return dict(urllib.parse.parse_qsl((search or "").lstrip("?")))


def parse(search: str | None) -> PiState:
    """The page's state in `search`; anything unreadable is left at its default."""
    found = params(search)
    compare = found.get("compare", "off")
    if compare not in (value for value, _, _ in COMPARE_CHOICES):
        compare = "off"
    return PiState(
        group=found.get("group") or DEFAULT_GROUP,
        sql=found.get("sql") or None,
        wait=found.get("wait") or None if not found.get("sql") else None,
        compare=compare,
        b_from_ms=_int(found.get("bfrom")),
        b_to_ms=_int(found.get("bto")),
    )


def search_for(state: PiState, search: str | None = None) -> str:
    """`search` with the page's parameters set from `state` (defaults left out) and every
    other parameter kept."""
    kept = {k: v for k, v in params(search).items() if k not in OWN}
    own: dict[str, str | int | None] = {
        "group": state.group if state.group != DEFAULT_GROUP else None,
        "sql": state.sql,
        "wait": state.wait if not state.sql else None,
        "compare": state.compare if state.compare != "off" else None,
        "bfrom": state.b_from_ms if state.compare == "abs" else None,
        "bto": state.b_to_ms if state.compare == "abs" else None,
    }
    kept.update({k: str(v) for k, v in own.items() if v is not None})
    return "?" + urllib.parse.urlencode(kept) if kept else ""


def period_b(state: PiState, start: float, end: float) -> tuple[float, float] | None:
    """Period B for period A = (start, end): the same window a day or a week earlier, or the
    absolute range; None when there is no comparison (or no valid absolute range)."""
    shift = next((s for value, _, s in COMPARE_CHOICES if value == state.compare), None)
    if shift is not None:
        return start - shift, end - shift
    b_from, b_to = state.b_from_ms, state.b_to_ms
    if state.compare == "abs" and b_from is not None and b_to is not None and b_from < b_to:
        return b_from / 1000, b_to / 1000
    return None


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text else None
    except ValueError:
        return None
