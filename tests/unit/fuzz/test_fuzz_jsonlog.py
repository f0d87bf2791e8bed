"""jsonlog lines fuzzed through a real tailer (follower, classifier, counters, event sink and
its SQLite store): every line is either counted as malformed and skipped or classified and
counted; nothing raises, the tailer stays healthy and its read position moves past it."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from collector.logs.event_sink import LogEventSink
from collector.logs.follow import LogFollower
from collector.logs.limiter import EventLimiter
from collector.logs.records import parse_line
from collector.logs.tailer import LogTailer
from collector.targets import Target
from core.events import EventStore
from tests.unit.fuzz import fuzz

TARGET = Target("fuzz", "fuzz-instance-1", "host=127.0.0.1")
KEYS = [
    "timestamp", "user", "dbname", "pid", "remote_host", "session_id", "error_severity",
    "state_code", "message", "detail", "statement", "application_name", "backend_type", "ps",
    "query_id",
]  # fmt: skip
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=5,
)
ANY_DIGITS = st.text(st.characters(categories=["Nd", "No"]), min_size=1, max_size=12)
TIMESTAMPS = st.one_of(
    st.text(max_size=40),
    st.tuples(ANY_DIGITS, st.sampled_from(["UTC", "GMT", "+02", "-05:30", "CET", ""])).map(
        lambda p: f"2026-11-27 11:45:54.{p[0]} {p[1]}".strip()
    ),
    st.tuples(ANY_DIGITS, ANY_DIGITS).map(lambda p: f"2026-11-27 11:45:54 +{p[0]}:{p[1]}"),
)
MESSAGES = st.one_of(
    st.text(max_size=60),
    st.text(max_size=60).map(lambda s: "AUDIT: " + s),
    st.lists(st.text(max_size=12), min_size=7, max_size=10).map(
        lambda fields: "AUDIT: SESSION," + ",".join(json.dumps(f) for f in fields)
    ),
    st.tuples(ANY_DIGITS, ANY_DIGITS).map(
        lambda p: f"disconnection: session time: {p[0]}:00:{p[1]} user=a database=b"
    ),
    st.sampled_from(["connection received: host=x", "connection authorized: user=a"]),
    st.text(max_size=20).map(lambda u: f'password authentication failed for user "{u}"'),
    st.text(max_size=40).map(lambda s: "statement: " + s),
)
SEVERITIES = st.one_of(
    st.sampled_from(["LOG", "FATAL", "ERROR", "PANIC", "DEBUG1", "WARNING"]), st.text(max_size=8)
)


@st.composite
def records(draw: st.DrawFn) -> bytes:
    record: dict[str, Any] = draw(st.dictionaries(st.sampled_from(KEYS), JSON_VALUES, max_size=5))
    record["message"] = draw(MESSAGES)
    record["error_severity"] = draw(SEVERITIES)
    record["timestamp"] = draw(TIMESTAMPS)
    if draw(st.booleans()):
        record["state_code"] = draw(st.sampled_from(["28P01", "28000", "23505", "XX000"]))
    return json.dumps(record, ensure_ascii=draw(st.booleans())).encode()


LINES = st.one_of(
    records(),
    st.binary(min_size=1, max_size=200),
    JSON_VALUES.map(lambda v: json.dumps(v).encode()),
).map(lambda line: line.replace(b"\n", b" "))


@pytest.fixture
def tailer() -> Iterator[tuple[LogTailer, Path]]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "log").mkdir()
        path = root / "log" / "postgresql-20261127.json"
        path.touch()
        sink = LogEventSink(TARGET, EventStore(root / "events.db"), EventLimiter(5, 60.0))
        tail = LogTailer(TARGET, LogFollower(root / "log", root / "pos.json"), events=sink)
        tail.tick()
        yield tail, path


def _counted(tail: LogTailer) -> int:
    counts = tail.counters.snapshot()
    return counts.malformed + sum(counts.lines.values())


@fuzz(200)
@given(lines=st.lists(LINES, min_size=1, max_size=8))
@example(
    lines=[
        b'{"error_severity": "LOG", "message": "x", "timestamp": '
        b'"2026-11-27 11:45:54.\xc2\xb2 UTC"}'  # bug: int("²") raised in the tailer
    ]
)
@example(
    lines=[
        b'{"error_severity": "LOG", "message": "disconnection: session time: '
        + b"9" * 5000
        + b':00:00.1"}'  # bug: int() refused 5000 digits, the tailer stopped at the line
    ]
)
def test_every_line_is_counted_and_none_stops_the_tailer(
    tailer: tuple[LogTailer, Path], lines: list[bytes]
) -> None:
    tail, path = tailer
    before, errors = _counted(tail), tail.errors_total
    with open(path, "ab") as handle:
        handle.write(b"".join(line + b"\n" for line in lines))
    tail.tick()
    assert tail.healthy
    assert tail.errors_total == errors
    assert _counted(tail) - before == sum(1 for line in lines if line.strip())
    tail.tick()  # the position moved past them: nothing is read twice
    assert _counted(tail) - before == sum(1 for line in lines if line.strip())


@fuzz(300)
@given(st.binary(max_size=300))
def test_parse_line_takes_any_bytes(raw: bytes) -> None:
    parse_line(raw)
