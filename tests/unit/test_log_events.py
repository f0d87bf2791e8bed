"""From log lines to events a user sees in `borealis events`, with flood control."""

from pathlib import Path

from collector.logs.event_sink import LogEventSink
from collector.logs.follow import LogFollower
from collector.logs.limiter import EventLimiter
from collector.logs.tailer import LogTailer
from collector.targets import Target
from core.events import EventStore
from tests.unit.logfixtures import SECRETS, auth_failure_line, pg15_lines, raw

TARGET = Target("demo", "demo-instance-1", "host=127.0.0.1")


def tailer_for(tmp_path: Path, burst: int = 10, window_s: float = 60.0) -> tuple[LogTailer, Path]:
    log = tmp_path / "log"
    log.mkdir(exist_ok=True)
    path = log / "postgresql-20261127.json"
    path.touch()
    store = EventStore(tmp_path / "events.db")
    sink = LogEventSink(TARGET, store, EventLimiter(burst, window_s))
    tailer = LogTailer(TARGET, LogFollower(log, tmp_path / "pos.json"), events=sink)
    tailer.tick()  # first run: from the end of the (empty) file
    return tailer, path


def append(path: Path, *lines: bytes) -> None:
    with open(path, "ab") as handle:
        handle.write(b"".join(line + b"\n" for line in lines))


def events(tmp_path: Path) -> list[tuple[str, str]]:
    return [(e.event_id, e.message) for e in EventStore(tmp_path / "events.db").list()]


def test_a_real_log_gives_the_events_a_dba_wants(tmp_path: Path) -> None:
    tailer, path = tailer_for(tmp_path)
    append(path, *pg15_lines())
    tailer.tick()
    got = events(tmp_path)
    ids = [event_id for event_id, _ in got]
    assert ids.count("BOREALIS-EVENT-0101") == 3  # three failed logins
    assert ids.count("BOREALIS-EVENT-0111") == 3  # extension, table (one event), view
    assert ids.count("BOREALIS-EVENT-0121") == 3  # create role, grant, alter role
    assert ids.count("BOREALIS-EVENT-0131") == 1  # database "nodb" does not exist
    messages = dict(reversed(got))
    assert messages["BOREALIS-EVENT-0101"] == (
        "Authentication failed for user alice from 127.0.0.1 to database postgres: wrong password."
    )
    table = next(m for i, m in got if i == "BOREALIS-EVENT-0111" and "public.t " in m)
    assert table.startswith(
        "DDL by postgres in database postgres: CREATE TABLE public.t (and 3 related records)."
    )
    role = next(m for i, m in got if i == "BOREALIS-EVENT-0121" and "CREATE ROLE" in m)
    assert role == (
        "Role or privilege change by postgres in database postgres: CREATE ROLE alice. "
        "Statement: create role alice login password <REDACTED>"
    )
    text = repr(got)
    assert not any(secret in text for secret in SECRETS)
    assert "lit-value" not in text  # the view's literal


def test_counters_follow_the_log(tmp_path: Path) -> None:
    tailer, path = tailer_for(tmp_path)
    append(path, *pg15_lines(), b"garbage", b'{"message": 1}')
    tailer.tick()
    counts = tailer.counters.snapshot()
    assert counts.received == 9
    assert counts.authorized == 6
    assert counts.disconnections == 5
    assert counts.auth_failures == {"password": 1, "pg_hba": 1, "unknown_role": 1}
    assert counts.audit[("DDL", "CREATE TABLE")] == 1
    assert counts.audit[("ROLE", "CREATE ROLE")] == 1
    assert counts.malformed == 2
    assert counts.errors[("ERROR", "23")] == 1  # the duplicate key
    assert tailer.healthy


def test_a_brute_force_attempt_cannot_flood_the_store(tmp_path: Path) -> None:
    tailer, path = tailer_for(tmp_path, burst=5, window_s=60)
    append(path, *(auth_failure_line(user=f"user{i % 3}") for i in range(200)))
    tailer.tick()
    assert [i for i, _ in events(tmp_path)] == ["BOREALIS-EVENT-0101"] * 5
    assert tailer.counters.snapshot().auth_failures["password"] == 200
    assert tailer.events_suppressed == {"BOREALIS-EVENT-0101": 195}
    # When the window closes, one event sums up the rest.
    assert tailer.events is not None
    tailer.events.tick(now=10**10)
    last_id, last_message = events(tmp_path)[-1]
    assert last_id == "BOREALIS-EVENT-0102"
    assert last_message.startswith("195 more authentication failures in 60 s")
    assert "users: user" in last_message and "hosts: 10.0.0.7" in last_message


def test_fatal_errors_of_own_sessions_restarts_and_wal_receivers_are_not_listed(
    tmp_path: Path,
) -> None:
    tailer, path = tailer_for(tmp_path)
    fatal = {
        "error_severity": "FATAL",
        "state_code": "57P01",
        "message": "terminating connection due to administrator command",
    }
    receiver = {
        "error_severity": "FATAL",
        "state_code": "08006",
        "message": "could not connect to the primary server: connection refused\n\tIs it up?",
    }
    too_many = {
        "error_severity": "FATAL",
        "state_code": "53300",
        "message": "sorry, too many clients already",
    }
    append(
        path,
        raw(**fatal, application_name="borealis-collector"),
        raw(**fatal, application_name="app-server"),  # every fast shutdown does this
        raw(**too_many, application_name="app-server"),
        raw(**receiver, backend_type="walreceiver", user=None, dbname=None),
        raw(**receiver, backend_type="startup", user=None, dbname=None),
    )
    tailer.tick()
    assert events(tmp_path) == [
        (
            "BOREALIS-EVENT-0131",
            "FATAL 53300 in a client backend session (user alice, database app): "
            "sorry, too many clients already",
        ),
        (
            "BOREALIS-EVENT-0131",
            "FATAL 08006 in a startup session (user -, database -): could not connect to the "
            "primary server: connection refused Is it up?",
        ),
    ]
    assert tailer.counters.snapshot().errors[("FATAL", "57")] == 2
    assert tailer.counters.snapshot().errors[("FATAL", "08")] == 2


def test_a_panic_is_an_event(tmp_path: Path) -> None:
    tailer, path = tailer_for(tmp_path)
    append(
        path,
        raw(
            error_severity="PANIC",
            state_code="XX000",
            message="could not locate a valid checkpoint record",
            backend_type="startup",
        ),
    )
    tailer.tick()
    assert events(tmp_path) == [
        (
            "BOREALIS-EVENT-0141",
            "PANIC XX000 in startup: could not locate a valid checkpoint record",
        )
    ]


def test_a_missing_log_directory_is_reported_not_raised(tmp_path: Path) -> None:
    tailer = LogTailer(TARGET, LogFollower(tmp_path / "nowhere", tmp_path / "pos.json"))
    tailer.tick()
    assert not tailer.healthy
    assert tailer.errors_total == 1


def test_windows_are_per_kind_and_none_is_forgotten() -> None:
    limiter = EventLimiter(burst=1, window_s=5.0)
    assert limiter.admit("a", 0.0)
    assert not limiter.admit("a", 1.0, users="x")
    assert limiter.admit("b", 1.0)
    assert limiter.admit("a", 5.0)  # a new window; the old one's suppressed event is kept
    assert not limiter.admit("a", 6.0, users="y")
    summaries = limiter.expired(6.0, everything=True)
    assert [(s.key, s.count, s.names) for s in summaries] == [
        ("a", 1, {"users": ("x",)}),
        ("a", 1, {"users": ("y",)}),
    ]


def test_a_client_chosen_user_name_cannot_break_the_event_list(tmp_path: Path) -> None:
    tailer, path = tailer_for(tmp_path)
    append(path, auth_failure_line(user="evil\n2026-01-01T00:00:00Z  RDS-EVENT-0071 fake"))
    tailer.tick()
    ((_, message),) = events(tmp_path)
    assert "\n" not in message


def test_a_batch_replayed_after_a_crash_is_listed_once(tmp_path: Path) -> None:
    """Killed after storing a batch's events and before saving the read position, the
    collector reads the batch again on restart; `borealis events` lists each event once."""
    tailer, path = tailer_for(tmp_path)
    saved = (tmp_path / "pos.json").read_text()  # the position before the batch
    append(path, *pg15_lines(), auth_failure_line(), auth_failure_line())
    tailer.tick()
    first = events(tmp_path)
    # Two identical lines (same time, same words) are two failed logins, not one.
    assert sum("from 10.0.0.7" in message for _, message in first) == 2
    (tmp_path / "pos.json").write_text(saved)  # as if the save never happened
    store = EventStore(tmp_path / "events.db")
    sink = LogEventSink(TARGET, store, EventLimiter(10, 60.0))
    restarted = LogTailer(TARGET, LogFollower(tmp_path / "log", tmp_path / "pos.json"), events=sink)
    restarted.tick()
    assert restarted.bytes_read == tailer.bytes_read == path.stat().st_size  # read again
    assert events(tmp_path) == first
    assert sink.emitted == 0
