"""What a log line means to a DBA: connections, authentication failures, pgaudit records,
errors. Pure functions over `LogLine`; every label value they return comes from a fixed set.
"""

from __future__ import annotations

import csv
import enum
import re
from dataclasses import dataclass

from collector.logs.records import LogLine


class LineKind(enum.StrEnum):
    CONNECTION_RECEIVED = "connection_received"
    CONNECTION_AUTHORIZED = "connection_authorized"
    DISCONNECTION = "disconnection"
    AUTHENTICATION_FAILURE = "authentication_failure"
    AUDIT = "audit"
    ERROR = "error"
    FATAL = "fatal"
    PANIC = "panic"
    OTHER = "other"


class AuthFailure(enum.StrEnum):
    PASSWORD = "password"  # noqa: S105 - a reason label: wrong password (28P01)
    UNKNOWN_ROLE = "unknown_role"  # the role does not exist
    PG_HBA = "pg_hba"  # rejected by, or no entry in, pg_hba.conf
    OTHER = "other"  # peer, ident, certificate, ... failed


SEVERITIES = ("DEBUG", "LOG", "INFO", "NOTICE", "WARNING", "ERROR", "FATAL", "PANIC")
AUDIT_CLASSES = frozenset({"READ", "WRITE", "FUNCTION", "ROLE", "DDL", "MISC", "MISC_SET"})
OTHER = "OTHER"
_COMMAND = re.compile(r"^[A-Z][A-Z ]{0,47}$")  # PostgreSQL command tags: CREATE TABLE, GRANT, ...
# ASCII digits, a bounded count: int() refuses 4,300 digits, and `²` is a digit to \d.
_SESSION_TIME = re.compile(r"session time: (\d{1,9}):(\d{2}):(\d{2}(?:\.\d{1,9})?)", re.ASCII)
_SQLSTATE = re.compile(r"^[0-9A-Z]{5}$")
_QUIET = frozenset({"DEBUG", "LOG", "INFO", "NOTICE", "WARNING"})  # levels pgaudit may log at


@dataclass(frozen=True)
class AuditRecord:
    """pgaudit's `AUDIT: <type>,<stmt id>,<substmt id>,<class>,<command>,<object type>,
    <object name>,<statement>,<parameter>` (CSV quoting), from `message`."""

    audit_type: str  # SESSION or OBJECT
    statement_id: str
    substatement_id: str
    audit_class: str  # bounded: one of AUDIT_CLASSES or OTHER
    command: str  # bounded: a command tag or OTHER
    object_type: str
    object_name: str
    statement: str  # raw SQL: never leaves the collector unredacted
    parameter: str


@dataclass(frozen=True)
class Classified:
    line: LogLine
    kind: LineKind
    severity: str  # bounded: one of SEVERITIES or OTHER
    auth_failure: AuthFailure | None = None
    audit: AuditRecord | None = None
    session_seconds: float | None = None

    @property
    def sqlstate_class(self) -> str:
        code = self.line.state_code
        return code[:2] if _SQLSTATE.match(code) else "unknown"


class MalformedAudit(ValueError):
    """An `AUDIT:` message that is not pgaudit's CSV record."""


def severity_label(severity: str) -> str:
    if severity.startswith("DEBUG"):
        return "DEBUG"
    return severity if severity in SEVERITIES else OTHER


def parse_audit(message: str) -> AuditRecord:
    payload = message.removeprefix("AUDIT: ")
    try:
        fields = next(csv.reader([payload], strict=True))
    except (csv.Error, StopIteration):
        raise MalformedAudit("not CSV") from None
    if len(fields) < 8 or fields[0] not in ("SESSION", "OBJECT"):
        raise MalformedAudit(f"{len(fields)} fields")
    audit_class = fields[3] if fields[3] in AUDIT_CLASSES else OTHER
    command = fields[4] if _COMMAND.match(fields[4]) else OTHER
    return AuditRecord(
        audit_type=fields[0],
        statement_id=fields[1],
        substatement_id=fields[2],
        audit_class=audit_class,
        command=command,
        object_type=fields[5],
        object_name=fields[6],
        statement=fields[7],
        parameter=",".join(fields[8:]),
    )


def auth_failure(line: LogLine) -> AuthFailure | None:
    """Why a FATAL line is an authentication failure, or None when it is not one."""
    if line.severity != "FATAL":
        return None
    message = line.message
    if "pg_hba.conf" in message:  # "pg_hba.conf rejects connection", "no pg_hba.conf entry"
        return AuthFailure.PG_HBA
    if line.state_code == "28P01" or "password authentication failed" in message:
        if "does not exist" in line.detail:  # detail: Role "x" does not exist.
            return AuthFailure.UNKNOWN_ROLE
        return AuthFailure.PASSWORD
    if line.state_code == "28000":
        if message.startswith("role ") and message.endswith("does not exist"):
            return AuthFailure.UNKNOWN_ROLE
        return AuthFailure.OTHER
    if "authentication failed" in message:
        return AuthFailure.OTHER
    return None


def session_seconds(message: str) -> float | None:
    """`disconnection: session time: 0:00:01.740 user=...` -> 1.74."""
    found = _SESSION_TIME.search(message)
    if found is None:
        return None
    hours, minutes, seconds = found.groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def classify(line: LogLine) -> Classified:
    """Raises MalformedAudit for an `AUDIT:` line that pgaudit did not write."""
    severity = severity_label(line.severity)
    message = line.message
    if severity in _QUIET:
        if message.startswith("AUDIT: "):
            return Classified(line, LineKind.AUDIT, severity, audit=parse_audit(message))
        if message.startswith("connection received:"):
            return Classified(line, LineKind.CONNECTION_RECEIVED, severity)
        if message.startswith(("connection authorized:", "replication connection authorized:")):
            return Classified(line, LineKind.CONNECTION_AUTHORIZED, severity)
        if message.startswith("disconnection:"):
            return Classified(
                line, LineKind.DISCONNECTION, severity, session_seconds=session_seconds(message)
            )
        return Classified(line, LineKind.OTHER, severity)
    if severity == "FATAL":
        reason = auth_failure(line)
        if reason is not None:
            return Classified(line, LineKind.AUTHENTICATION_FAILURE, severity, auth_failure=reason)
        return Classified(line, LineKind.FATAL, severity)
    if severity == "PANIC":
        return Classified(line, LineKind.PANIC, severity)
    if severity == "ERROR":
        return Classified(line, LineKind.ERROR, severity)
    return Classified(line, LineKind.OTHER, severity)
