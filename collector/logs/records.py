"""One jsonlog line as a frozen record; anything that is not a JSON object with a message is
malformed (counted and skipped by the tailer, never an exception)."""

from __future__ import annotations

import functools
import json
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

MAX_LINE_BYTES = 1 << 20  # longer lines are counted as malformed and skipped

_OFFSET = re.compile(r"^([+-])(\d{2}):?(\d{2})?$", re.ASCII)
_FRACTION = re.compile(r"\.(\d{1,9})", re.ASCII)


@dataclass(frozen=True)
class LogLine:
    """The jsonlog keys the collector uses; absent keys are empty strings or 0."""

    time: float  # Unix time of the line (the collector's clock when the zone is unknown)
    severity: str  # error_severity: LOG, ERROR, FATAL, PANIC, DEBUG1, ...
    message: str
    state_code: str = ""
    user: str = ""
    database: str = ""
    pid: int = 0
    remote_host: str = ""
    session_id: str = ""
    application_name: str = ""
    backend_type: str = ""
    command_tag: str = ""  # `ps`: the top-level command the backend was running
    detail: str = ""
    statement: str = ""
    query_id: int = 0


def parse_timestamp(text: str, fallback: float) -> float:
    """`2026-11-27 11:45:54.376 UTC` (log_timezone) as Unix time.

    Named zones other than UTC/GMT are ambiguous, so they fall back to `fallback`."""
    stamp, _, zone = text.partition(" ")[2].partition(" ")
    seconds = _epoch_second(text[:10], stamp[:8], zone)
    if seconds is None:
        return fallback
    fraction = stamp[8:]
    if fraction:
        digits = _FRACTION.fullmatch(fraction)  # not str.isdigit: `²` is a digit to it
        if digits is None:
            return fallback
        seconds += int(digits[1]) / 10 ** len(digits[1])
    return seconds


@functools.lru_cache(maxsize=256)
def _epoch_second(day: str, clock: str, zone: str) -> float | None:
    """Cached per second: strptime would be half the cost of reading a line."""
    try:
        when = datetime.strptime(f"{day} {clock}", "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    if zone in ("UTC", "GMT", "Z", ""):
        return when.replace(tzinfo=UTC).timestamp()
    found = _OFFSET.match(zone)
    if found is None:
        return None
    sign = -1 if found.group(1) == "-" else 1
    offset = timedelta(hours=int(found.group(2)), minutes=int(found.group(3) or 0))
    return when.replace(tzinfo=timezone(sign * offset)).timestamp()


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    return value if isinstance(value, str) else ""


def _int(data: dict[str, Any], key: str) -> int:
    value = data.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def parse_line(raw: bytes, now: float | None = None) -> LogLine | None:
    """A LogLine, or None when the line is malformed."""
    if len(raw) > MAX_LINE_BYTES:
        return None
    try:
        data = json.loads(raw.decode("utf-8", errors="replace"))
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    message, severity = data.get("message"), data.get("error_severity")
    if not isinstance(message, str) or not isinstance(severity, str) or not severity:
        return None
    fallback = time.time() if now is None else now
    return LogLine(
        time=parse_timestamp(_text(data, "timestamp"), fallback),
        severity=severity,
        message=message,
        state_code=_text(data, "state_code"),
        user=_text(data, "user"),
        database=_text(data, "dbname"),
        pid=_int(data, "pid"),
        remote_host=_text(data, "remote_host"),
        session_id=_text(data, "session_id"),
        application_name=_text(data, "application_name"),
        backend_type=_text(data, "backend_type"),
        command_tag=_text(data, "ps"),
        detail=_text(data, "detail"),
        statement=_text(data, "statement"),
        query_id=_int(data, "query_id"),
    )
