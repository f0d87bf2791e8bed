"""Real jsonlog lines (PostgreSQL 15.18 with pgaudit 1.7, captured on this machine) and
helpers to build more."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from collector.logs.classify import Classified, classify
from collector.logs.records import LogLine, parse_line

PG15_LOG = Path(__file__).parent / "data" / "jsonlog-pg15.json"
SECRETS = ("Hunter2-secret", "Rotated-secret", "Bad-Syntax-secret", "secret-row-value")


def pg15_lines() -> list[bytes]:
    return PG15_LOG.read_bytes().splitlines()


def raw(**fields: Any) -> bytes:
    base: dict[str, Any] = {
        "timestamp": "2026-11-27 11:50:41.663 UTC",
        "user": "alice",
        "dbname": "app",
        "pid": 4242,
        "remote_host": "10.0.0.7",
        "session_id": "6b096e91.609c",
        "error_severity": "LOG",
        "message": "",
        "backend_type": "client backend",
    }
    base.update(fields)
    return json.dumps({k: v for k, v in base.items() if v is not None}).encode()


def line(**fields: Any) -> LogLine:
    parsed = parse_line(raw(**fields))
    assert parsed is not None
    return parsed


def item(**fields: Any) -> Classified:
    return classify(line(**fields))


def auth_failure_line(user: str = "alice", host: str = "10.0.0.7") -> bytes:
    return raw(
        user=user,
        remote_host=host,
        error_severity="FATAL",
        state_code="28P01",
        message=f'password authentication failed for user "{user}"',
        detail='Connection matched pg_hba.conf line 88: "host all all 0.0.0.0/0 scram-sha-256"',
    )
