"""The collector's own connections: autocommit (stats views freeze inside a transaction),
recognisable by application_name, with timeouts; driver errors become `SourceError`."""

from __future__ import annotations

from typing import Any

import psycopg

from core.errors import BorealisError

APPLICATION_NAME = "borealis-collector"
# Sessions the sampler leaves out: our own, never the user's (nor the workload's).
OWN_APPLICATIONS = ("borealis-collector", "borealis-manager")


class SourceError(BorealisError):
    """A query against a monitored instance failed."""


def connect(
    dsn: str, *, connect_timeout: float, statement_timeout_ms: int, application: str = ""
) -> psycopg.Connection[Any]:
    try:
        return psycopg.connect(
            dsn,
            autocommit=True,
            connect_timeout=max(1, round(connect_timeout)),
            application_name=application or APPLICATION_NAME,
            options=f"-c statement_timeout={statement_timeout_ms} -c lock_timeout=500",
            # Every collector query repeats every poll or sample: prepare it at once. Planning
            # the pg_stat_activity view costs the server five times what running it does.
            prepare_threshold=0,
        )
    except psycopg.Error as exc:
        raise SourceError(first_line(exc)) from None


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
