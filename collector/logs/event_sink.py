"""Log lines a DBA wants in an event list — authentication failures, DDL, role changes,
FATAL and PANIC — as Borealis events (`BOREALIS-EVENT-01xx`), rate limited per kind.

A statement that pgaudit logs as several records (CREATE TABLE with a serial column logs the
sequence, the table and its index) becomes one event. Connections and disconnections are
counters, not events.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime

from collector.db import OWN_APPLICATIONS
from collector.logs import redact
from collector.logs.classify import AuthFailure, Classified, LineKind
from collector.logs.limiter import EventLimiter, Suppressed
from collector.targets import Target
from core.events import EventStore, make_event

log = logging.getLogger(__name__)

AUTH_FAILED = "BOREALIS-EVENT-0101"
DDL = "BOREALIS-EVENT-0111"
ROLE = "BOREALIS-EVENT-0121"
FATAL = "BOREALIS-EVENT-0131"
PANIC = "BOREALIS-EVENT-0141"
AGGREGATE = {
    AUTH_FAILED: "BOREALIS-EVENT-0102",
    DDL: "BOREALIS-EVENT-0112",
    ROLE: "BOREALIS-EVENT-0122",
    FATAL: "BOREALIS-EVENT-0132",
    PANIC: "BOREALIS-EVENT-0142",
}
_AUDIT_EVENTS = {"DDL": DDL, "ROLE": ROLE}
_ROLE_NAME = re.compile(r"^\s*(?:create|alter|drop)\s+(?:role|user|group)\s+([^\s;]+)", re.I)
_REASONS = {AuthFailure.PASSWORD: "wrong password", AuthFailure.UNKNOWN_ROLE: "no such role"}


def _when(item: Classified) -> datetime:
    return datetime.fromtimestamp(item.line.time, UTC)


def _or_dash(value: str) -> str:
    return value or "-"


def _one_line(text: str, limit: int = redact.MAX_STATEMENT) -> str:
    """Event messages are one line: `borealis events` prints one event per line."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


class LogEventSink:
    """One per instance, fed by that instance's tailer thread only."""

    def __init__(
        self,
        target: Target,
        store: EventStore,
        limiter: EventLimiter,
        *,
        include_sql_literals: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.target = target
        self.clock = clock  # the limiter's windows run on the collector's clock
        self.store = store
        self.limiter = limiter
        self.include_literals = include_sql_literals
        self.emitted = 0
        self._statements: dict[tuple[str, str, str], list[Classified]] = {}
        self._statement_origins: dict[tuple[str, str, str], str] = {}

    def consume(self, item: Classified, origin: str = "") -> None:
        """One classified line; `origin` is the line's place in its file (see
        `Batch.origins`), which lets the store tell a replayed line's event from a new one."""
        if item.kind is LineKind.AUTHENTICATION_FAILURE:
            self._auth_failure(item, origin)
        elif item.kind is LineKind.AUDIT and item.audit is not None:
            event_id = _AUDIT_EVENTS.get(item.audit.audit_class)
            if event_id is not None:
                key = (item.line.session_id, item.audit.statement_id, event_id)
                self._statements.setdefault(key, []).append(item)
                self._statement_origins.setdefault(key, origin)
        elif item.kind is LineKind.FATAL:
            # Not listed (still counted and exported): Borealis' own sessions; the WAL
            # receiver, which retries every wal_retrieve_retry_interval while its primary is
            # away (replication stops are the detectors' RDS-EVENT-0045/0057); and SQLSTATE
            # class 57, operator intervention ("the database system is starting up",
            # "terminating connection due to administrator command"), which every restart
            # and shutdown causes and which the instance's own events already report.
            own = item.line.application_name in OWN_APPLICATIONS
            restart = (item.line.state_code or "").startswith("57")
            if not own and not restart and item.line.backend_type != "walreceiver":
                self._fatal(item, origin)
        elif item.kind is LineKind.PANIC:
            self._add(
                PANIC,
                item,
                origin=origin,
                sqlstate=_or_dash(item.line.state_code),
                backend=_or_dash(item.line.backend_type),
                message=_one_line(redact.message(item, self.include_literals)),
            )

    def end_batch(self) -> None:
        """Emit the statements collected from the batch just read."""
        statements, self._statements = self._statements, {}
        origins, self._statement_origins = self._statement_origins, {}
        for key, items in statements.items():
            self._statement(key[2], items, origins.get(key, ""))

    def tick(self, now: float) -> None:
        for suppressed in self.limiter.expired(now):
            self._aggregate(suppressed)

    def close(self, now: float) -> None:
        self.end_batch()
        for suppressed in self.limiter.expired(now, everything=True):
            self._aggregate(suppressed)

    # --- kinds ----------------------------------------------------------------------------

    def _auth_failure(self, item: Classified, origin: str) -> None:
        line = item.line
        reason = _REASONS.get(item.auth_failure or AuthFailure.OTHER) or _one_line(
            redact.message(item, self.include_literals)
        )
        host = line.remote_host or "[local]"
        if self.limiter.admit(AUTH_FAILED, self.clock(), users=line.user, hosts=host):
            self._add(
                AUTH_FAILED,
                item,
                admitted=True,
                origin=origin,
                user=_or_dash(line.user),
                host=host,
                database=_or_dash(line.database),
                reason=reason.rstrip("."),
            )

    def _statement(self, event_id: str, items: list[Classified], origin: str) -> None:
        # The record for the command the session ran (CREATE TABLE, not its sequence).
        primary = next(
            (i for i in items if i.audit and i.audit.command == i.line.command_tag), items[0]
        )
        audit = primary.audit
        if audit is None:
            return
        statement = next(
            (
                i.audit.statement
                for i in items
                if i.audit and i.audit.statement not in ("<previously logged>", "")
            ),
            audit.statement,
        )
        what = audit.command + (f" {audit.object_name}" if audit.object_name else "")
        if not audit.object_name:
            named = _ROLE_NAME.match(statement)  # pgaudit leaves ROLE records' object empty
            if named and audit.command.endswith(("ROLE", "USER", "GROUP")):
                what += f" {named.group(1)}"
        if len(items) > 1:
            what += f" (and {len(items) - 1} related records)"
        line = primary.line
        if self.limiter.admit(event_id, self.clock(), users=line.user):
            self._add(
                event_id,
                primary,
                admitted=True,
                origin=origin,
                user=_or_dash(line.user),
                database=_or_dash(line.database),
                what=what,
                statement=_one_line(redact.short_sql(statement, self.include_literals)),
            )

    def _fatal(self, item: Classified, origin: str) -> None:
        line = item.line
        if self.limiter.admit(FATAL, self.clock(), codes=line.state_code):
            self._add(
                FATAL,
                item,
                admitted=True,
                origin=origin,
                sqlstate=_or_dash(line.state_code),
                backend=_or_dash(line.backend_type),
                user=_or_dash(line.user),
                database=_or_dash(line.database),
                message=_one_line(redact.message(item, self.include_literals)),
            )

    # --- storing --------------------------------------------------------------------------

    def _add(
        self,
        event_id: str,
        item: Classified,
        *,
        admitted: bool = False,
        origin: str = "",
        **params: str,
    ) -> None:
        if not admitted and not self.limiter.admit(event_id, self.clock()):
            return
        # Every value on one line: user names come from clients and may hold anything.
        flat = {key: _one_line(value) for key, value in params.items()}
        event = make_event(event_id, self.target.db_instance, _when(item), origin=origin, **flat)
        if self.store.add(event):
            self.emitted += 1

    def _aggregate(self, suppressed: Suppressed) -> None:
        aggregate = AGGREGATE.get(suppressed.key)
        if aggregate is None:
            return
        names = {kind: ", ".join(values) or "-" for kind, values in suppressed.names.items()}
        params = {
            "count": str(suppressed.count),
            "seconds": f"{suppressed.seconds:.0f}",
            "users": names.get("users", "-"),
            "hosts": names.get("hosts", "-"),
            "codes": names.get("codes", "-"),
        }
        now = datetime.now(UTC)
        self.store.add(make_event(aggregate, self.target.db_instance, now, **params))
        self.emitted += 1
