"""No SQL literal and never a password leaves the collector (unless literals are turned on,
and passwords not even then)."""

import pytest

from collector.logs import redact
from collector.logs.classify import classify
from collector.logs.otel_sink import attributes
from collector.logs.records import parse_line
from tests.unit.logfixtures import SECRETS, item, pg15_lines


def everything_exported(include_literals: bool) -> str:
    """Every text the OTel sink and the event sink could take from the real log."""
    out = []
    for raw in pg15_lines():
        parsed = parse_line(raw)
        assert parsed is not None
        got = classify(parsed)
        out.append(redact.message(got, include_literals))
        out.append(redact.detail(got, include_literals))
        out.append(repr(attributes(got, include_literals)))
        if got.audit:
            out.append(redact.short_sql(got.audit.statement, include_literals))
    return "\n".join(out)


def test_no_literal_and_no_password_from_a_real_log() -> None:
    text = everything_exported(include_literals=False)
    for secret in (*SECRETS, "lit-value", "abc-literal", "row-one"):
        assert secret not in text
    assert "create view v1 as select id, ? as z from t where v = ?" in text
    assert "create role bob password ? BADSYNTAX" in text


def test_with_literals_on_statements_keep_them_but_passwords_go() -> None:
    text = everything_exported(include_literals=True)
    assert "lit-value" in text and "secret-row-value" in text
    for secret in ("Hunter2-secret", "Rotated-secret", "Bad-Syntax-secret"):
        assert secret not in text
    assert "create role bob password <REDACTED> BADSYNTAX" in text


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE ROLE x LOGIN PASSWORD 'pw-1'",
        "alter user x with encrypted password 'pw-1' valid until 'infinity'",
        "ALTER ROLE x PASSWORD E'pw\\'-1'",
        "ALTER ROLE x PASSWORD $$pw-1$$",
        "ALTER ROLE x PASSWORD $q$pw-1$q$",
        'ALTER ROLE x PASSWORD "pw-1"',
        "CREATE USER MAPPING FOR x SERVER s OPTIONS (user 'u', password 'pw-1')",
        "SELECT dblink_connect('host=h user=u password=pw-1 dbname=d')",
        "ALTER ROLE x PASSWORD 'SCRAM-SHA-256$4096:pw-1'",
    ],
)
@pytest.mark.parametrize("include_literals", [False, True])
def test_passwords_never_leave(statement: str, include_literals: bool) -> None:
    assert "pw" not in redact.sql(statement, include_literals).replace("password", "")
    audit = item(message=f"AUDIT: SESSION,1,1,ROLE,ALTER ROLE,,,{redact._csv_field(statement)},x")
    assert "pw-1" not in redact.message(audit, include_literals)


def test_statements_in_messages_are_reduced() -> None:
    logged = item(message="statement: update t set v = 'secret-value' where id = 42")
    assert redact.message(logged, False) == "statement: update t set v = ? where id = ?"
    slow = item(message="duration: 1012.5 ms  execute S_1: select * from t where v = 'x'")
    assert (
        redact.message(slow, False)
        == "duration: 1012.5 ms  execute S_1: select * from t where v = ?"
    )


def test_error_messages_lose_quoted_values_and_details() -> None:
    err = item(
        error_severity="ERROR",
        state_code="22P02",
        message='invalid input syntax for type integer: "abc-literal"',
        detail="Key (email)=(x@example.com) already exists.",
    )
    assert redact.message(err, False) == 'invalid input syntax for type integer: "?"'
    assert redact.detail(err, False) == ""
    assert redact.detail(err, True) == "Key (email)=(x@example.com) already exists."


def test_pgaudit_parameters_are_withheld() -> None:
    audit = item(message="AUDIT: SESSION,1,1,WRITE,INSERT,TABLE,t,insert into t values ($1),secret")
    assert redact.message(audit, False).endswith("insert into t values (?),<not logged>")
