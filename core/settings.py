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
from core.yamlconf import Located, load_located_file

MAX_READERS = 15
ENV_PREFIX = "BOREALIS_"


@dataclass(frozen=True)
class Ports:
    """Every TCP port Borealis listens on. Unset ports are derived from `base`."""

    base: int = 25400
    cluster_endpoint: int | None = None
    reader_endpoint: int | None = None
    first_instance: int | None = None
    ui: int | None = None
    prometheus: int | None = None
    collector: int | None = None
    pi: int | None = None
    alertmanager: int | None = None
    cloudwatch: int | None = None
    webhook: int | None = None

    _OFFSETS: typing.ClassVar[dict[str, int]] = {
        "cluster_endpoint": 32,
        "reader_endpoint": 33,
        "first_instance": 40,
        "ui": 60,
        "prometheus": 90,
        "collector": 91,
        "pi": 92,
        "alertmanager": 93,
        "cloudwatch": 94,
        "webhook": 95,
    }

    def port(self, name: str) -> int:
        explicit = getattr(self, name)
        return int(explicit) if explicit is not None else self.base + self._OFFSETS[name]


@dataclass(frozen=True)
class InstanceTuning:
    """PostgreSQL settings shared by every instance; small by default so 16 fit on 2 cores."""

    shared_buffers: str = "32MB"
    max_connections: int = 60
    work_mem: str = "4MB"
    wal_keep_size: str = "256MB"
    max_slot_wal_keep_size: str = "2GB"
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ManagerSettings:
    """How the cluster manager watches and heals the cluster."""

    health_interval_s: float = 0.2
    probe_timeout_s: float = 1.0
    reader_probe_interval_s: float = 0.8  # the writer is probed every 2 x health_interval_s
    writer_unresponsive_s: float = 3.0
    promote_timeout_s: float = 15.0
    restart_backoff_s: float = 1.0


@dataclass(frozen=True)
class LogSettings:
    """Tailing each instance's jsonlog: counters, events, OpenTelemetry log records."""

    enabled: bool = True
    interval_s: float = 1.0
    start_at: str = "end"  # a log directory seen for the first time: "end" or "beginning"
    include_sql_literals: bool = False  # statements keep their literals (never passwords)
    event_burst: int = 10  # events of one kind per instance and window, then one aggregate
    event_window_s: float = 60.0
    otlp_endpoint: str | None = None  # e.g. http://127.0.0.1:4318/v1/logs; None: no export
    otlp_headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class EndpointSettings:
    """The cluster and reader endpoints (TCP proxies in the supervisor)."""

    hold_s: float = 5.0  # a new connection waits this long for a writer during a failover
    connect_timeout_s: float = 2.0


WORKLOAD_SCENARIOS = ("oltp", "cpu", "row-lock", "io", "sleep", "commit-heavy")


@dataclass(frozen=True)
class WorkloadSettings:
    """The light workload `borealis up` runs (turn it off with --no-workload)."""

    scenario: str = "oltp"
    rate_tps: float = 5.0
    clients: int = 2


@dataclass(frozen=True)
class MetricsExportSettings:
    """The collector's metrics pushed over OTLP/HTTP (protobuf) besides /metrics."""

    otlp_endpoint: str | None = None  # e.g. http://127.0.0.1:4318/v1/metrics; None: no export
    otlp_headers: dict[str, str] = field(default_factory=dict)
    otlp_interval_s: float = 15.0


@dataclass(frozen=True)
class CollectorSettings:
    poll_interval_s: float = 1.0
    # Process and host metrics from /proc (CPU, memory, I/O, network, disk): the costliest
    # part of a poll, read this often (RDS Enhanced Monitoring offers 1 to 60 s); at most
    # once a poll.
    os_poll_interval_s: float = 3.0
    sample_interval_s: float = 1.0
    down_after_s: float = 2.0
    connect_timeout_s: float = 1.0
    statement_timeout_ms: int = 1500
    max_digests: int = 50
    retention_days: float = 7.0
    targets_file: str | None = None
    # Role-change, restart and replica-disconnect events seen from the instances. Unset: on
    # for a targets file, off for the Borealis cluster (its manager emits those events).
    detectors: bool | None = None
    logs: LogSettings = field(default_factory=LogSettings)
    metrics: MetricsExportSettings = field(default_factory=MetricsExportSettings)
    # Performance Insights: where samples are kept (default <state_dir>/pi.db), how often
    # pg_stat_statements and the PI counters are read, the cap on values per dimension
    # (user, database, application, host, session type) in Prometheus, whether the
    # pg_wait_sampling extension is used when installed, and whether statement text with
    # its literals may leave the collector (db.sql.statement in the PI API).
    pi_store: str | None = None
    stats_interval_s: float = 30.0
    max_dimension_values: int = 20
    wait_sampling: bool = True
    sql_literals: bool = False


@dataclass(frozen=True)
class RemoteWriteSettings:
    """Prometheus `remote_write` to Mimir, Thanos Receive, VictoriaMetrics, another
    Prometheus (docs/scaling.md). Secrets stay in files Prometheus reads itself."""

    url: str | None = None  # None: no remote write
    basic_auth_username: str | None = None
    basic_auth_password_file: str | None = None
    bearer_token_file: str | None = None
    headers: dict[str, str] = field(default_factory=dict)  # e.g. X-Scope-OrgID for Mimir
    capacity: int = 10000  # queue_config: samples buffered per shard
    max_shards: int = 50
    max_samples_per_send: int = 2000
    batch_send_deadline_s: float = 5.0


@dataclass(frozen=True)
class PrometheusSettings:
    binary: str = "prometheus"
    scrape_interval_s: float = 1.0
    evaluation_interval_s: float = 1.0
    retention: str = "7d"
    remote_write: RemoteWriteSettings = field(default_factory=RemoteWriteSettings)


@dataclass(frozen=True)
class AlertmanagerSettings:
    binary: str = "prometheus-alertmanager"
    # A YAML file: receiver name (as the alarms' actions name it) -> its Alertmanager body
    # (email_configs, slack_configs, ...); docs/alarms.md. None: every receiver is a webhook.
    receivers_file: str | None = None


@dataclass(frozen=True)
class RetentionSettings:
    """How long the state directory's journals keep their rows; older rows are deleted."""

    events_days: float = 14.0  # events.db (RDS events; RDS itself keeps them 14 days)
    trail_days: float = 90.0  # trail.db (control-plane calls; CloudTrail's event history: 90)


@dataclass(frozen=True)
class UiSettings:
    refresh_ms: int = 2000


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
    light_workload: WorkloadSettings = field(default_factory=WorkloadSettings)
    collector: CollectorSettings = field(default_factory=CollectorSettings)
    prometheus: PrometheusSettings = field(default_factory=PrometheusSettings)
    alertmanager: AlertmanagerSettings = field(default_factory=AlertmanagerSettings)
    ui: UiSettings = field(default_factory=UiSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)

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
        loopback = self.listen_host in {"127.0.0.1", "localhost", "::1"}
        if not loopback and not self.allow_non_loopback_listen:
            # A deliberate choice: the stack has no authentication on its HTTP services.
            raise ConfigError(
                f"listen_host {self.listen_host!r} is not a loopback address; Borealis' HTTP "
                "services have no authentication, so put a reverse proxy in front instead "
                "(inside a container: allow_non_loopback_listen)"
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
    if config_file is not None:
        document = load_located_file(config_file)
        if not isinstance(document.value, dict):
            raise ConfigError(f"{config_file}:{document.line}: the file must hold a mapping")
        settings = _merge(settings, document.value, str(config_file))
    settings = _merge(settings, env_tree, "environment")
    settings = _merge(settings, flag_tree, "command line")
    result: Settings = dataclasses.replace(
        settings,
        state_dir=settings.state_dir.absolute(),
        pg_root=None if settings.pg_root is None else settings.pg_root.absolute(),
    )
    return result.validate()


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
