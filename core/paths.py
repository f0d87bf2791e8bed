"""Where everything lives inside a state directory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class StatePaths:
    root: Path

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
    def prometheus(self) -> Path:
        return self.root / "prometheus"

    # Owned by the PostgreSQL OS user.
    @property
    def pg(self) -> Path:
        return self.root / "pg"

    @property
    def pgpass(self) -> Path:
        return self.pg / "pgpass"

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
