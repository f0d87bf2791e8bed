from collections import Counter
from datetime import UTC, datetime

import pytest

from collector.logs.classify import (
    AuthFailure,
    LineKind,
    MalformedAudit,
    classify,
    parse_audit,
    severity_label,
)
from collector.logs.records import MAX_LINE_BYTES, parse_line, parse_timestamp
from tests.unit.logfixtures import item, line, pg15_lines


def test_a_real_pg15_log_classifies_into_what_happened() -> None:
    parsed = [parse_line(raw) for raw in pg15_lines()]
    assert all(p is not None for p in parsed)
    kinds = Counter(classify(p).kind for p in parsed if p is not None)
    # 9 psql sessions; 3 failed authentication, one was refused for a missing database.
    assert kinds[LineKind.CONNECTION_RECEIVED] == 9
    assert kinds[LineKind.CONNECTION_AUTHORIZED] == 6
    assert kinds[LineKind.DISCONNECTION] == 5
    assert kinds[LineKind.AUTHENTICATION_FAILURE] == 3
    assert kinds[LineKind.FATAL] == 1  # database "nodb" does not exist
    assert kinds[LineKind.ERROR] == 3
    # pgaudit: extension, serial table (4 records), role, grant, view, alter role.
    assert kinds[LineKind.AUDIT] == 9


def test_authentication_failures_say_why() -> None:
    reasons = [
        classify(p).auth_failure
        for p in (parse_line(raw) for raw in pg15_lines())
        if p is not None and classify(p).kind is LineKind.AUTHENTICATION_FAILURE
    ]
    assert reasons == [AuthFailure.PASSWORD, AuthFailure.PG_HBA, AuthFailure.UNKNOWN_ROLE]
    no_entry = item(
        error_severity="FATAL",
        state_code="28000",
        message='no pg_hba.conf entry for host "10.1.1.1", user "x", database "y", SSL off',
    )
    assert no_entry.auth_failure is AuthFailure.PG_HBA
    peer = item(
        error_severity="FATAL", state_code="28000", message='Peer authentication failed for "x"'
    )
    assert peer.auth_failure is AuthFailure.OTHER
    missing = item(error_severity="FATAL", state_code="28000", message='role "x" does not exist')
    assert missing.auth_failure is AuthFailure.UNKNOWN_ROLE
    # An ERROR with the same words is not a failed login.
    assert item(error_severity="ERROR", state_code="28P01", message="x").kind is LineKind.ERROR


def test_disconnection_carries_the_session_time() -> None:
    got = item(message="disconnection: session time: 1:02:03.250 user=a database=b host=127.0.0.1")
    assert got.kind is LineKind.DISCONNECTION
    assert got.session_seconds == pytest.approx(3723.25)


def test_pgaudit_records_are_parsed_with_csv_quoting() -> None:
    record = parse_audit(
        'AUDIT: SESSION,6,1,DDL,CREATE VIEW,VIEW,public.v1,"create view v1 as\n'
        "select id, 'x,y' as z from t\",<not logged>"
    )
    assert record.audit_class == "DDL"
    assert record.command == "CREATE VIEW"
    assert record.object_type == "VIEW"
    assert record.object_name == "public.v1"
    assert record.statement == "create view v1 as\nselect id, 'x,y' as z from t"
    assert record.parameter == "<not logged>"


def test_pgaudit_label_values_stay_bounded() -> None:
    odd = parse_audit("AUDIT: OBJECT,1,1,NEWCLASS,drop everything now;,TABLE,t,x,<none>")
    assert (odd.audit_class, odd.command) == ("OTHER", "OTHER")


@pytest.mark.parametrize(
    "message", ["AUDIT: hello", "AUDIT: SESSION,1,1", 'AUDIT: SESSION,1,1,DDL,"unterminated']
)
def test_an_audit_message_pgaudit_did_not_write_is_malformed(message: str) -> None:
    with pytest.raises(MalformedAudit):
        classify(line(message=message))


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[1, 2]",
        b'{"error_severity": "LOG"}',
        b'{"message": "x"}',
        b'{"message": 1, "error_severity": "LOG"}',
        b'{"message": "x", "error_severity": "LOG"',
        b"x" * (MAX_LINE_BYTES + 1),
    ],
)
def test_malformed_lines_are_none_not_exceptions(raw: bytes) -> None:
    assert parse_line(raw) is None


def test_non_utf8_bytes_do_not_make_a_line_malformed() -> None:
    parsed = parse_line(b'{"message": "caf\xe9", "error_severity": "LOG"}')
    assert parsed is not None and parsed.message.startswith("caf")


def test_timestamps_in_utc_and_numeric_zones() -> None:
    utc = parse_timestamp("2026-11-27 11:50:41.663 UTC", 0.0)
    assert utc == pytest.approx(datetime(2026, 11, 27, 11, 50, 41, 663000, UTC).timestamp())
    assert parse_timestamp("2026-11-27 13:50:41.663 +02", 0.0) == pytest.approx(utc)
    assert parse_timestamp("2026-11-27 11:50:41.663 CET", 7.0) == 7.0  # ambiguous: fallback
    assert parse_timestamp("2026-11-27 11:50:41 UTC", 0.0) == pytest.approx(utc - 0.663)
    assert parse_timestamp("2026-11-27 11:50:41.6x3 UTC", 7.0) == 7.0
    assert parse_timestamp("garbage", 7.0) == 7.0


def test_severities_map_to_a_fixed_set() -> None:
    assert severity_label("DEBUG3") == "DEBUG"
    assert severity_label("STATEMENT") == "OTHER"
    assert severity_label("PANIC") == "PANIC"
