"""One typed settings object, built once in `main()`.

Precedence, lowest first: defaults, the YAML file (``--config``, ``BOREALIS_CONFIG`` or
``<state-dir>/borealis.yaml``), ``BOREALIS_*`` environment variables, command-line flags.
Nested keys map to environment names with a double underscore:
``ports.prometheus`` is ``BOREALIS_PORTS__PROMETHEUS``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import ConfigError
from core.paths import StatePaths
from core.settings_sections import (
    WORKLOAD_SCENARIOS,
    AlertmanagerSettings,
    AuthSettings,
    CollectorSettings,
    EndpointSettings,
    InstanceTuning,
    LogSettings,
    ManagerSettings,
    MetricsExportSettings,
    Ports,
    PrometheusSettings,
    RemoteWriteSettings,
    RetentionSettings,
    TlsSettings,
    UiSettings,
    WorkloadSettings,
)
from core.webauth import is_loopback, validate_auth
from core.yamlconf import Located, load_located_file, locate_message, origins

__all__ = [
    "ENV_PREFIX",
    "MAX_READERS",
    "WORKLOAD_SCENARIOS",
    "AlertmanagerSettings",
    "AuthSettings",
    "CollectorSettings",
    "EndpointSettings",
    "InstanceTuning",
    "LogSettings",
    "ManagerSettings",
    "MetricsExportSettings",
    "Ports",
    "PrometheusSettings",
    "RemoteWriteSettings",
    "RetentionSettings",
    "Settings",
    "TlsSettings",
    "UiSettings",
    "WorkloadSettings",
    "load_settings",
    "settings_from_json_file",
    "settings_to_json",
]

MAX_READERS = 15
ENV_PREFIX = "BOREALIS_"


@dataclass(frozen=True)
class Settings:
    state_dir: Path = Path(".borealis")
    cluster_id: str = "borealis"
    region: str = "local-1"
    readers: int = 2
    listen_host: str = "127.0.0.1"
    # Only inside a container whose ports are published on 127.0.0.1 (compose.yaml): lets
    # listen_host be 0.0.0.0 so the other containers reach the collector and the UI.
    allow_non_loopback_listen: bool = False
    pg_bin: Path = Path("/usr/lib/postgresql/15/bin")
    # Where PostgreSQL's files live (data, segments, sockets, logs): reachable by os_user.
    # None: /var/lib/borealis/<cluster_id>-<hash of the state directory>. Recorded in the
    # state directory at first use; a recorded data root wins over this setting.
    pg_root: Path | None = None
    os_user: str = "postgres"
    workload: bool = True
    ports: Ports = field(default_factory=Ports)
    instance: InstanceTuning = field(default_factory=InstanceTuning)
    manager: ManagerSettings = field(default_factory=ManagerSettings)
    endpoints: EndpointSettings = field(default_factory=EndpointSettings)
    tls: TlsSettings = field(default_factory=TlsSettings)
    light_workload: WorkloadSettings = field(default_factory=WorkloadSettings)
    collector: CollectorSettings = field(default_factory=CollectorSettings)
    prometheus: PrometheusSettings = field(default_factory=PrometheusSettings)
    alertmanager: AlertmanagerSettings = field(default_factory=AlertmanagerSettings)
    ui: UiSettings = field(default_factory=UiSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)

    def state_paths(self) -> StatePaths:
        """The state directory and the data root of this stack (see core.paths)."""
        return StatePaths.for_settings(self.state_dir, self.cluster_id, self.pg_root)

    def validate(self) -> Settings:
        if self.state_dir.exists() and not self.state_dir.is_dir():
            raise ConfigError(
                f"the state directory {self.state_dir} is a file, not a directory; "
                "pass --state-dir with a directory (or a path that does not exist yet)"
            )
        if not 1 <= self.readers <= MAX_READERS:
            raise ConfigError(f"readers must be between 1 and {MAX_READERS}, not {self.readers}")
        if not is_loopback(self.listen_host) and not (
            self.allow_non_loopback_listen or self.auth.enabled
        ):
            # Off loopback only behind a login: with auth off, anyone who reaches the port
            # reads every metric and event and can POST to the APIs.
            raise ConfigError(
                f"listen_host {self.listen_host!r} is not a loopback address and auth is off: "
                "give `auth.users` or `auth.users_file` (basic auth, `borealis hash-password`) "
                "to listen on it, or put a reverse proxy in front (inside a container whose "
                "ports are published on 127.0.0.1: allow_non_loopback_listen)"
            )
        if not self.cluster_id.replace("-", "").isalnum() or not self.cluster_id[0].isalpha():
            raise ConfigError(
                f"cluster_id {self.cluster_id!r} must start with a letter and hold only "
                "letters, digits and hyphens (like a DBClusterIdentifier)"
            )
        if self.collector.os_poll_interval_s <= 0:
            raise ConfigError("collector.os_poll_interval_s must be more than 0")
        if self.collector.sample_interval_s < 0.1:
            raise ConfigError("collector.sample_interval_s must be at least 0.1 (100 ms)")
        _validate_logs(self.collector.logs)
        _validate_exports(self)
        if self.collector.retention_days <= 0:
            raise ConfigError("collector.retention_days must be more than 0")
        if self.collector.max_digests < 1 or self.collector.max_dimension_values < 1:
            raise ConfigError("collector.max_digests and max_dimension_values must be at least 1")
        if self.collector.stats_interval_s < 1:
            raise ConfigError("collector.stats_interval_s must be at least 1")
        load = self.light_workload
        if load.scenario not in WORKLOAD_SCENARIOS:
            raise ConfigError(
                f"light_workload.scenario {load.scenario!r} is not one of "
                f"{', '.join(WORKLOAD_SCENARIOS)}"
            )
        if load.rate_tps < 0 or not 1 <= load.clients <= 50:
            raise ConfigError(
                "light_workload.rate_tps must be 0 or more and light_workload.clients 1..50"
            )
        if self.endpoints.hold_s < 0:
            raise ConfigError("endpoints.hold_s must be 0 or more")
        _validate_retention(self.retention)
        grafana = self.ui.grafana_url
        if grafana is not None and not grafana.startswith(("http://", "https://")):
            raise ConfigError(f"ui.grafana_url {grafana!r} must be an http:// or https:// URL")
        validate_auth(self.auth)
        return self


MAX_RETENTION_DAYS = 36500.0


def _validate_retention(retention: RetentionSettings) -> None:
    for name in ("events_days", "trail_days"):
        days = getattr(retention, name)
        if not (math.isfinite(days) and 0 < days <= MAX_RETENTION_DAYS):
            raise ConfigError(
                f"retention.{name} must be a number of days more than 0 and at most "
                f"{MAX_RETENTION_DAYS:g}, not {days!r}"
            )


def _validate_logs(logs: LogSettings) -> None:
    if logs.start_at not in ("end", "beginning"):
        raise ConfigError(
            f"collector.logs.start_at must be end or beginning, not {logs.start_at!r}"
        )
    if logs.interval_s <= 0 or logs.event_window_s <= 0:
        raise ConfigError("collector.logs.interval_s and event_window_s must be positive")
    if logs.event_burst < 1:
        raise ConfigError("collector.logs.event_burst must be at least 1")
    endpoint = logs.otlp_endpoint
    if endpoint is not None and not endpoint.startswith(("http://", "https://")):
        raise ConfigError(
            f"collector.logs.otlp_endpoint must be an http:// or https:// URL "
            f"(e.g. http://127.0.0.1:4318/v1/logs), not {endpoint!r}"
        )


def _validate_exports(settings: Settings) -> None:
    metrics = settings.collector.metrics
    _require_url(
        "collector.metrics.otlp_endpoint", metrics.otlp_endpoint, "http://127.0.0.1:4318/v1/metrics"
    )
    if metrics.otlp_interval_s < 1:
        raise ConfigError("collector.metrics.otlp_interval_s must be at least 1")
    remote = settings.prometheus.remote_write
    _require_url("prometheus.remote_write.url", remote.url, "http://127.0.0.1:9090/api/v1/write")
    if remote.bearer_token_file and (remote.basic_auth_username or remote.basic_auth_password_file):
        raise ConfigError(
            "prometheus.remote_write: use basic_auth_* or bearer_token_file, not both"
        )
    if bool(remote.basic_auth_username) != bool(remote.basic_auth_password_file):
        raise ConfigError(
            "prometheus.remote_write.basic_auth_username and basic_auth_password_file go together"
        )
    if min(remote.capacity, remote.max_shards, remote.max_samples_per_send) < 1:
        raise ConfigError(
            "prometheus.remote_write.capacity, max_shards and max_samples_per_send must be "
            "at least 1"
        )
    if remote.batch_send_deadline_s <= 0:
        raise ConfigError("prometheus.remote_write.batch_send_deadline_s must be more than 0")


def _require_url(name: str, value: str | None, example: str) -> None:
    if value is not None and not value.startswith(("http://", "https://")):
        raise ConfigError(
            f"{name} must be an http:// or https:// URL (e.g. {example}), not {value!r}"
        )


# --- building ---------------------------------------------------------------------------


def _coerce(value: Any, hint: Any, where: str) -> Any:
    """Turn a raw value (from YAML, env text or a flag) into the annotated type."""
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if value is None or (isinstance(value, str) and value.lower() in {"", "none", "null"}):
            return None
        return _coerce(value, args[0], where)
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in {"1", "true", "yes", "on"}:
            return True
        if isinstance(value, str) and value.lower() in {"0", "false", "no", "off"}:
            return False
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    if hint is int:
        if isinstance(value, bool):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected an integer, got {value!r}") from None
    if hint is float:
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected a number, got {value!r}") from None
    if hint is str:
        if isinstance(value, dict | list):
            raise ConfigError(f"{where}: expected text, got {type(value).__name__}")
        return str(value)
    if hint is Path:
        return Path(str(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        return {str(k): str(v) for k, v in value.items()}
    raise ConfigError(f"{where}: unsupported setting type {hint}")


def _merge(obj: Any, updates: Mapping[str, Located], source: str, prefix: str = "") -> Any:
    hints = typing.get_type_hints(type(obj))
    fields = {f.name for f in dataclasses.fields(obj)}
    changes: dict[str, Any] = {}
    for key, located in updates.items():
        name = key.replace("-", "_")
        where = f"{source}:{located.line}" if located.line else source
        if name not in fields:
            known = ", ".join(sorted(fields))
            raise ConfigError(f"{where}: unknown setting {prefix}{key!r} (known: {known})")
        current = getattr(obj, name)
        if dataclasses.is_dataclass(current):
            if not isinstance(located.value, dict):
                raise ConfigError(f"{where}: {prefix}{key} must be a mapping")
            changes[name] = _merge(current, located.value, source, f"{prefix}{name}.")
        elif typing.get_origin(hints[name]) is dict:
            changes[name] = _coerce(
                {k: v.value for k, v in located.value.items()}
                if isinstance(located.value, dict)
                else located.value,
                hints[name],
                where,
            )
        else:
            changes[name] = _coerce(located.value, hints[name], f"{where}: {prefix}{name}")
    return dataclasses.replace(obj, **changes)


def _env_updates(environ: Mapping[str, str]) -> dict[str, Located]:
    """Nested updates from BOREALIS_* variables (line 0 marks 'from the environment')."""
    tree: dict[str, Located] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or name == "BOREALIS_CONFIG":
            continue
        path = name[len(ENV_PREFIX) :].lower().split("__")
        node = tree
        for part in path[:-1]:
            node = node.setdefault(part, Located({}, 0)).value
        node[path[-1]] = Located(raw, 0)
    return tree


def load_settings(
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Build and validate the settings. `overrides` are flag values (dotted keys allowed)."""
    environ = os.environ if environ is None else environ
    settings = Settings()

    env_tree = _env_updates(environ)
    flag_tree: dict[str, Located] = {}
    for dotted, value in (overrides or {}).items():
        if value is None:
            continue
        node = flag_tree
        parts = dotted.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, Located({}, 0)).value
        node[parts[-1]] = Located(value, 0)

    # The state directory decides where the default config file lives, so resolve it first.
    state_dir = Path(
        str(
            (
                flag_tree.get("state_dir") or env_tree.get("state_dir") or Located(".borealis", 0)
            ).value
        )
    )
    if config_file is None and environ.get("BOREALIS_CONFIG"):
        config_file = Path(environ["BOREALIS_CONFIG"])
    if config_file is None and (state_dir / "borealis.yaml").is_file():
        config_file = state_dir / "borealis.yaml"
    where: dict[str, str] = {}  # each setting given -> where (the last given wins)
    if config_file is not None:
        document = load_located_file(config_file)
        if not isinstance(document.value, dict):
            raise ConfigError(f"{config_file}:{document.line}: the file must hold a mapping")
        settings = _merge(settings, document.value, str(config_file))
        where.update(origins(document.value, str(config_file)))
    settings = _merge(settings, env_tree, "environment")
    settings = _merge(settings, flag_tree, "command line")
    where.update(origins(env_tree, "environment"))
    where.update(origins(flag_tree, "command line"))
    result: Settings = dataclasses.replace(
        settings,
        state_dir=settings.state_dir.absolute(),
        pg_root=None if settings.pg_root is None else settings.pg_root.absolute(),
    )
    try:
        return result.validate()
    except ConfigError as exc:  # a check across settings: say where the one it names was set
        raise ConfigError(locate_message(str(exc), where)) from None


def _locate(value: Any) -> Any:
    if isinstance(value, dict):
        return Located({k: _locate(v) for k, v in value.items()}, 0)
    return Located(value, 0)


def settings_to_json(settings: Settings) -> str:
    data = dataclasses.asdict(settings)
    data["state_dir"] = str(settings.state_dir)
    data["pg_bin"] = str(settings.pg_bin)
    data["pg_root"] = None if settings.pg_root is None else str(settings.pg_root)
    return json.dumps(data, indent=2, sort_keys=True)


def settings_from_json_file(path: Path) -> Settings:
    """The exact settings a supervisor hands to its child services."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read settings from {path}: {exc}") from None
    settings: Settings = _merge(Settings(), _locate(data).value, str(path))
    return settings.validate()
