"""The sections of the typed settings object (`core.settings.Settings`): one frozen dataclass
per part, with its defaults. Validation and loading live in `core.settings`."""

from __future__ import annotations

import typing
from dataclasses import dataclass, field


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


@dataclass(frozen=True)
class TlsSettings:
    """TLS to the instances (certificates are made at `up`; see cluster.tls)."""

    # Connections through the cluster and reader endpoints (and any TCP client) must use
    # TLS: pg_hba.conf gets hostssl lines only; the manager, collector and storage already do.
    require_clients: bool = False


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
    # Grafana's base URL (http://127.0.0.1:3000): each page then links to its dashboard.
    grafana_url: str | None = None


@dataclass(frozen=True)
class AuthSettings:
    """Basic auth (bcrypt) on the UI, every API, Prometheus and Alertmanager; on when any
    user is given. `users`: name -> bcrypt hash (`borealis hash-password`); `users_file`:
    `name:hash` lines (htpasswd -B format). /healthz stays open."""

    users: dict[str, str] = field(default_factory=dict)
    users_file: str | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.users or self.users_file)
