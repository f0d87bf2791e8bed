"""What a new cluster's writer gets once, right after initdb: the Borealis roles (replication,
a `pg_monitor`-only monitoring role, the application's), the application database and the
extensions the collector reads."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import sql

from core.credentials import APP_DATABASE, APP_USER, MONITOR_USER, REPLICATION_USER, Credentials

EXTENSIONS = ("pg_stat_statements", "pg_wait_sampling", "pgaudit")

# ClusterController.connect: a superuser session to the instance on `port`.
Connect = Callable[..., contextlib.AbstractContextManager[psycopg.Connection[Any]]]


def has_pgaudit(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute("select 1 from pg_settings where name = 'pgaudit.log'").fetchone()
    return row is not None


def bootstrap_writer(connect: Connect, port: int, credentials: Credentials) -> None:
    """Create the roles, the application database and, in both databases, every extension of
    EXTENSIONS this PostgreSQL has."""
    with connect(port, timeout=5) as conn:
        # Keep the passwords below out of pgaudit's ROLE records.
        if has_pgaudit(conn):
            conn.execute("set pgaudit.log = 'none'")
        for user, extra in (
            (REPLICATION_USER, sql.SQL("replication")),
            (MONITOR_USER, sql.SQL("")),
            (APP_USER, sql.SQL("")),
        ):
            conn.execute(
                sql.SQL("create role {} with login {} password {}").format(
                    sql.Identifier(user), extra, sql.Literal(credentials.password(user))
                )
            )
        conn.execute(sql.SQL("grant pg_monitor to {}").format(sql.Identifier(MONITOR_USER)))
        conn.execute(
            sql.SQL("create database {} owner {}").format(
                sql.Identifier(APP_DATABASE), sql.Identifier(APP_USER)
            )
        )
        available = {row[0] for row in conn.execute("select name from pg_available_extensions")}
    for dbname in ("postgres", APP_DATABASE):
        with connect(port, timeout=5, dbname=dbname) as conn:
            for ext in EXTENSIONS:
                if ext in available:
                    conn.execute(
                        sql.SQL("create extension if not exists {}").format(sql.Identifier(ext))
                    )
