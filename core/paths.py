"""Where everything lives: the state directory (root's) and the data root (PostgreSQL's).

Borealis' own files stay in the state directory (``.borealis`` in the checkout by default),
which may sit anywhere, a mode-0700 home directory included. Everything the unprivileged
PostgreSQL OS user must reach (data directories, storage segments, sockets, its password
file, its logs) lives under the *data root*, by default
``/var/lib/borealis/<cluster_id>-<hash of the state directory>``: two checkouts never share
one. The data root is recorded in the state directory when first used (``pg-root``), so
``down``, ``status`` and the next ``up`` find it again whatever the settings say by then.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from core.errors import ConfigError

DEFAULT_DATA_PARENT = Path("/var/lib/borealis")
RECORD_NAME = "pg-root"
OWNER_MARK = ".borealis-state-dir"  # in the data root: which state directory it belongs to


def default_pg_root(state_dir: Path, cluster_id: str) -> Path:
    digest = hashlib.sha256(str(state_dir.resolve()).encode()).hexdigest()[:10]
    return DEFAULT_DATA_PARENT / f"{cluster_id}-{digest}"


def resolve_pg_root(state_dir: Path, cluster_id: str, configured: Path | None) -> Path:
    """The data root of the stack in `state_dir`: recorded, else configured, else default."""
    record = state_dir / RECORD_NAME
    try:
        recorded = record.read_text().strip() if record.is_file() else ""
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {record}: {exc}") from None
    if recorded:
        if not Path(recorded).is_absolute():
            raise ConfigError(
                f"{record} must hold the absolute path of the data root, not {recorded!r}; "
                "write the right path into it (or remove it to use the configured pg_root)"
            )
        return Path(recorded)
    if (state_dir / "pg").is_dir():
        return state_dir / "pg"  # a state directory from before the data root existed
    if configured is not None:
        return configured.absolute()
    return default_pg_root(state_dir, cluster_id)


@dataclass(frozen=True)
class StatePaths:
    root: Path
    # None: `<root>/pg-root` if recorded, else `<root>/pg` (tools reading a state directory
    # without settings); a stack always passes the resolved one (`for_settings`).
    pg_root: Path | None = None

    @classmethod
    def for_settings(cls, state_dir: Path, cluster_id: str, pg_root: Path | None) -> StatePaths:
        return cls(state_dir, resolve_pg_root(state_dir, cluster_id, pg_root))

    @property
    def pg_root_record(self) -> Path:
        return self.root / RECORD_NAME

    @property
    def pg_owner_mark(self) -> Path:
        return self.pg / OWNER_MARK

    # Owned by root.
    @property
    def topology(self) -> Path:
        return self.root / "topology.json"

    @property
    def secrets(self) -> Path:
        return self.root / "secrets.json"

    @property
    def events_db(self) -> Path:
        return self.root / "events.db"

    @property
    def pi_db(self) -> Path:
        """Performance Insights samples, top SQL statistics and counters (the collector's)."""
        return self.root / "pi.db"

    @property
    def trail_db(self) -> Path:
        return self.root / "trail.db"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def control_socket(self) -> Path:
        return self.run / "control.sock"

    @property
    def supervisor_pid(self) -> Path:
        return self.run / "supervisor.pid"

    @property
    def log_positions(self) -> Path:
        """Where the collector remembers how far it has read each instance's log."""
        return self.root / "collector" / "log-positions"

    @property
    def tls_ca_key(self) -> Path:
        """The cluster CA's private key: root's only; PostgreSQL never needs it."""
        return self.root / "tls-ca.key"

    @property
    def prometheus(self) -> Path:
        return self.root / "prometheus"

    # Owned by the PostgreSQL OS user, under the data root.
    @property
    def pg(self) -> Path:
        if self.pg_root is not None:
            return self.pg_root
        record = self.pg_root_record
        if record.is_file():
            recorded = record.read_text().strip()
            if recorded:
                return Path(recorded)
        return self.root / "pg"

    @property
    def pgpass(self) -> Path:
        return self.pg / "pgpass"

    @property
    def tls_dir(self) -> Path:
        """The CA certificate and each instance's server certificate and key (0600)."""
        return self.pg / "tls"

    @property
    def tls_ca_cert(self) -> Path:
        """What clients verify the instances against (sslrootcert, sslmode=verify-full)."""
        return self.tls_dir / "ca.crt"

    def tls_client_options(self) -> dict[str, str]:
        """libpq options that verify an instance against the cluster CA (sslmode=verify-full);
        none for a stack whose certificates are not made yet (they are at its next `up`)."""
        ca = self.tls_ca_cert
        if not ca.is_file():
            return {}
        return {"sslmode": "verify-full", "sslrootcert": str(ca)}

    @property
    def pg_socket_dir(self) -> Path:
        return self.pg / "sock"

    def data_dir(self, instance_id: str) -> Path:
        return self.pg / "data" / instance_id

    def segment_dir(self, segment_id: str) -> Path:
        return self.pg / "segments" / segment_id

    def pg_log_dir(self, instance_id: str) -> Path:
        return self.pg / "log" / instance_id

    def service_log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def pid_file(self, name: str) -> Path:
        return self.run / f"{name}.pid"
