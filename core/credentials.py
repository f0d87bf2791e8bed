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
from dataclasses import asdict, dataclass, field
from pathlib import Path

from core.jsonfile import load_json_file

SUPERUSER = "postgres"
REPLICATION_USER = "replicator"
MONITOR_USER = "borealis_monitor"
APP_USER = "borealis_app"
APP_DATABASE = "app"


@dataclass(frozen=True)
class Credentials:
    superuser: str = field(repr=False)
    replicator: str = field(repr=False)
    monitor: str = field(repr=False)
    app: str = field(repr=False)

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
        """Write the passwords, readable by root only (also when the file already existed)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            os.fchmod(handle.fileno(), 0o600)
            json.dump(asdict(self), handle, indent=2)

    @classmethod
    def load(cls, path: Path) -> Credentials:
        credentials = load_json_file(
            path,
            cls,
            "secrets file",
            "restore it from a backup (the cluster's roles use these passwords), or remove "
            f"the state directory {path.parent} and its data root to create a new cluster",
        )
        if path.stat().st_mode & 0o077 and path.stat().st_uid == os.getuid():
            os.chmod(path, 0o600)  # someone opened it up: passwords are root's only
        return credentials

    def pgpass_text(self) -> str:
        """A libpq password file for the PostgreSQL OS user (replication and pg_rewind)."""
        return (
            f"127.0.0.1:*:*:{REPLICATION_USER}:{self.replicator}\n"
            f"127.0.0.1:*:*:{SUPERUSER}:{self.superuser}\n"
        )
