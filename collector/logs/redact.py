"""What may leave the collector: SQL with its literals replaced by `?` (the PI digest
normaliser), never a password, and no row values from error details.

With `collector.logs.include_sql_literals` on, statements keep their literals, but passwords
are still removed. Applied to everything that goes into events, OpenTelemetry records and the
collector's own log.
"""

from __future__ import annotations

import re

from collector.digest import normalize
from collector.logs.classify import AuditRecord, Classified, LineKind

MAX_STATEMENT = 1000  # characters of a statement kept in an event message
REDACTED = "<REDACTED>"
_LITERAL = (
    r"[Ee]'(?:[^'\\]|\\.|'')*'"  # E'x\'y'
    r"|(?:[UuBbXxNn]&?)?'(?:[^']|'')*'"  # 'x', U&'x'
    r'|"(?:[^"]|"")*"'  # "x": an identifier, an error, but still someone's password
    r"|(?P<tag>\$[A-Za-z_0-9]*\$).*?(?P=tag)"  # $$x$$, $q$x$q$
)
# PASSWORD 'x', ENCRYPTED PASSWORD $$x$$, OPTIONS (password 'x'), conninfo password=x.
_PASSWORD = re.compile(rf"(\bpassword\s+)(?:{_LITERAL})", re.IGNORECASE | re.DOTALL)
_CONNINFO_PASSWORD = re.compile(r"(\bpassword\s*=\s*)(?:'(?:[^'\\]|\\.)*'|[^\s'\"]+)", re.I)
# Messages that carry a statement after a fixed head (log_statement, log_min_duration_*).
_SQL_MESSAGE = re.compile(
    r"^((?:duration: [\d.]+ ms\s+)?(?:statement|execute [^:]*|parse [^:]*|bind [^:]*): )(.*)$",
    re.DOTALL,
)
_QUOTED_LITERAL = re.compile(r"'(?:[^']|'')*'")
_TRAILING_VALUE = re.compile(r': "(?:[^"]|"")*"$')  # invalid input syntax for type x: "abc"


def scrub_passwords(text: str) -> str:
    text = _PASSWORD.sub(lambda m: m.group(1) + REDACTED, text)
    return _CONNINFO_PASSWORD.sub(lambda m: m.group(1) + REDACTED, text)


def sql(statement: str, include_literals: bool) -> str:
    """A statement fit to leave the collector."""
    text = statement if include_literals else normalize(statement)
    return scrub_passwords(text)


def short_sql(statement: str, include_literals: bool) -> str:
    text = sql(statement, include_literals)
    return text if len(text) <= MAX_STATEMENT else text[: MAX_STATEMENT - 3] + "..."


def audit_message(record: AuditRecord, include_literals: bool) -> str:
    """pgaudit's record rebuilt with the statement reduced and parameters withheld."""
    parameter = record.parameter
    if not include_literals and parameter not in ("<not logged>", "<none>", ""):
        parameter = "<not logged>"
    fields = [
        record.audit_type,
        record.statement_id,
        record.substatement_id,
        record.audit_class,
        record.command,
        record.object_type,
        record.object_name,
        sql(record.statement, include_literals),
        scrub_passwords(parameter),
    ]
    return "AUDIT: " + ",".join(_csv_field(f) for f in fields)


def _csv_field(value: str) -> str:
    if any(c in value for c in ',"\n\r'):
        return '"' + value.replace('"', '""') + '"'
    return value


def message(item: Classified, include_literals: bool) -> str:
    """The line's message, with any SQL in it reduced and quoted values masked."""
    if item.audit is not None:
        return audit_message(item.audit, include_literals)
    text = item.line.message
    found = _SQL_MESSAGE.match(text)
    if found:
        return found.group(1) + sql(found.group(2), include_literals)
    if not include_literals:
        text = _TRAILING_VALUE.sub(': "?"', _QUOTED_LITERAL.sub("'?'", text))
    return scrub_passwords(text)


def detail(item: Classified, include_literals: bool) -> str:
    """Details often carry row values (`Key (email)=(x) already exists.`): kept only for
    authentication failures (which pg_hba.conf line matched, which role is missing)."""
    if include_literals or item.kind is LineKind.AUTHENTICATION_FAILURE:
        return scrub_passwords(item.line.detail)
    return ""
