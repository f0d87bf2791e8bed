"""Generated passwords for the cluster's roles, kept in the state directory (mode 0600).

Roles, least privilege first:
- ``borealis_monitor``: only ``pg_monitor``; the collector's role.
- ``borealis_app``: owns the ``app`` database; the workload's role.
- ``replicator``: ``REPLICATION`` only; readers and storage segments.
- ``postgres``: superuser; the cluster manager's role (promote, slots, rewind).
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

SUPERUSER = "postgres"
REPLICATION_USER = "replicator"
MONITOR_USER = "borealis_monitor"
APP_USER = "borealis_app"
APP_DATABASE = "app"


@dataclass(frozen=True)
class Credentials:
    superuser: str
    replicator: str
    monitor: str
    app: str

    @classmethod
    def generate(cls) -> Credentials:
        return cls(*(secrets.token_urlsafe(24) for _ in range(4)))

    def password(self, user: str) -> str:
        return {
            SUPERUSER: self.superuser,
            REPLICATION_USER: self.replicator,
            MONITOR_USER: self.monitor,
            APP_USER: self.app,
        }[user]

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(asdict(self), handle, indent=2)

    @classmethod
    def load(cls, path: Path) -> Credentials:
        return cls(**json.loads(path.read_text()))

    def pgpass_text(self) -> str:
        """A libpq password file for the PostgreSQL OS user (replication and pg_rewind)."""
        return (
            f"127.0.0.1:*:*:{REPLICATION_USER}:{self.replicator}\n"
            f"127.0.0.1:*:*:{SUPERUSER}:{self.superuser}\n"
        )
