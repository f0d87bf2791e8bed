"""Short-lived, autocommit SQL connections for the cluster manager."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import psycopg

from core.credentials import SUPERUSER, Credentials
from core.errors import BorealisError

MANAGER_APPLICATION = "borealis-manager"


class InstanceUnreachable(BorealisError):
    """An instance did not answer in time, or refused the connection."""


def session_options(statement_timeout_ms: int = 0) -> str:
    """Startup options of the manager's sessions. Its own control operations (ALTER SYSTEM to
    repoint a reader, slots, promotion) are recorded in the control-plane trail, not in the
    database's pgaudit log, as AWS's own operations stay out of an Aurora user's audit log."""
    options = "-c pgaudit.log=none"
    if statement_timeout_ms:
        options += f" -c statement_timeout={statement_timeout_ms}"
    return options


def dsn(
    port: int,
    credentials: Credentials,
    user: str = SUPERUSER,
    dbname: str = "postgres",
    tls: Mapping[str, str] | None = None,
) -> str:
    """`tls`: libpq's ssl options (``StatePaths.tls_client_options``: verify-full)."""
    return psycopg.conninfo.make_conninfo(
        host="127.0.0.1",
        port=port,
        user=user,
        password=credentials.password(user),
        dbname=dbname,
        **(tls or {}),
    )


@contextmanager
def connect(
    port: int,
    credentials: Credentials,
    *,
    timeout: float = 2.0,
    statement_timeout_ms: int = 0,
    dbname: str = "postgres",
    tls: Mapping[str, str] | None = None,
) -> Iterator[psycopg.Connection[Any]]:
    options = session_options(statement_timeout_ms)
    try:
        conn = psycopg.connect(
            dsn(port, credentials, dbname=dbname, tls=tls),
            autocommit=True,
            connect_timeout=max(1, round(timeout)),
            application_name=MANAGER_APPLICATION,
            options=options,
        )
    except psycopg.Error as exc:
        raise InstanceUnreachable(f"port {port}: {str(exc).strip().splitlines()[0]}") from None
    try:
        yield conn
    except psycopg.Error as exc:
        raise InstanceUnreachable(f"port {port}: {str(exc).strip().splitlines()[0]}") from None
    finally:
        conn.close()


def query_one(port: int, credentials: Credentials, sql: str, params: Any = None, **kw: Any) -> Any:
    with connect(port, credentials, **kw) as conn:
        row = conn.execute(sql, params).fetchone()
    return row
