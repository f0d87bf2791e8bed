"""The collector process: targets, pollers, samplers, the registry and the HTTP endpoints."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from collector.alert import ClusterAlert
from collector.detectors import Detectors, detectors_wanted
from collector.http import CollectorHttp
from collector.localhost import LocalInstances
from collector.logs.pipeline import LogPipeline
from collector.otlp_metrics import OtlpMetricsExporter
from collector.pi_service import PerformanceInsights
from collector.poller import InstancePoller
from collector.registry import build_registry
from collector.sampler import SessionSampler
from collector.sources.activity import ActivitySource
from collector.sources.base import Source
from collector.sources.database import DatabaseSource
from collector.sources.host import HostSource
from collector.sources.instance import InstanceSource
from collector.sources.process import ProcessSource
from collector.sources.quorum import QuorumSource
from collector.sources.replication import ReplicationSource
from collector.sources.sizes import SizesSource
from collector.sources.wal import WalSource
from collector.targets import Target, targets_from_file, targets_from_state
from core.errors import ConfigError
from core.events import EventStore
from core.settings import Settings
from core.waiting import until_stopped
from core.webauth import service_users

log = logging.getLogger(__name__)


def default_sources() -> list[Source]:
    # The instance source runs first: it finds the role and server version the others use.
    local = LocalInstances()  # process and host metrics: only for instances on this host
    return [
        InstanceSource(),
        DatabaseSource(),
        WalSource(),
        ActivitySource(),
        ReplicationSource(),
        QuorumSource(),
        SizesSource(),
        ProcessSource(local),
        HostSource(local),
    ]


def load_targets(settings: Settings) -> list[Target]:
    if settings.collector.targets_file:
        return targets_from_file(Path(settings.collector.targets_file))
    paths = settings.state_paths()
    if not paths.topology.exists():
        raise ConfigError(
            f"no cluster in {settings.state_dir} and no collector.targets_file: "
            "run `borealis up` first, or list DSNs in a targets file"
        )
    return targets_from_state(paths)


@dataclass
class Collector:
    settings: Settings
    targets: list[Target]
    events: EventStore | None
    sources: list[Source] = field(default_factory=default_sources)
    pollers: list[InstancePoller] = field(default_factory=list)
    samplers: list[SessionSampler] = field(default_factory=list)
    http: CollectorHttp | None = None
    logs: LogPipeline | None = None
    detectors: Detectors | None = None
    pi: PerformanceInsights | None = None
    otlp_metrics: OtlpMetricsExporter | None = None

    def start(self) -> None:
        cfg = self.settings.collector
        if self.events is not None and detectors_wanted(cfg.detectors, bool(cfg.targets_file)):
            self.detectors = Detectors(self.events, down_after_s=cfg.down_after_s)
        observers = [self.detectors.observe] if self.detectors else []
        alerts = {t.cluster: ClusterAlert() for t in self.targets}  # one per cluster
        self.pollers = [
            InstancePoller(t, self.sources, cfg, observers, alerts[t.cluster]) for t in self.targets
        ]
        self.samplers = [SessionSampler(t, cfg, consumers=[]) for t in self.targets]
        self.pi = PerformanceInsights(self.settings, self.samplers)
        registry = build_registry(self.sources, self.pollers, self.samplers)
        positions = self.settings.state_paths().log_positions
        self.logs = LogPipeline(cfg.logs, self.targets, self.events, positions)
        registry.register(self.logs.collector({p.target.db_instance: p for p in self.pollers}))
        self.http = CollectorHttp(
            self.settings.listen_host,
            self.settings.ports.port("collector"),
            registry,
            self.pollers,
            self.events,
            users=service_users(self.settings),
        )
        if cfg.metrics.otlp_endpoint:  # the same registry, pushed over OTLP as well
            self.otlp_metrics = OtlpMetricsExporter(
                registry,
                cfg.metrics.otlp_endpoint,
                headers=cfg.metrics.otlp_headers,
                interval_s=cfg.metrics.otlp_interval_s,
                resource_attributes={
                    "service.instance.id": f"{self.settings.listen_host}:"
                    f"{self.settings.ports.port('collector')}"
                },
            )
        for poller in self.pollers:
            poller.start()
        self.pi.start()
        for sampler in self.samplers:
            sampler.start()
        self.http.start()
        self.logs.start()
        if self.otlp_metrics is not None:
            self.otlp_metrics.start()
        log.info(
            "collector watching %d instances on http://%s:%d/metrics",
            len(self.targets),
            self.settings.listen_host,
            self.settings.ports.port("collector"),
        )

    def stop(self) -> None:
        if self.http is not None:
            self.http.stop()
        if self.otlp_metrics is not None:
            self.otlp_metrics.stop()
        workers: list[InstancePoller | SessionSampler] = [*self.pollers, *self.samplers]
        for worker in workers:
            worker.stop()
        for worker in workers:
            worker.join(2.0)
        if self.logs is not None:
            self.logs.stop()
        if self.pi is not None:
            self.pi.stop()


def run(settings: Settings, stop: threading.Event) -> None:
    paths = settings.state_paths()
    # With a targets file the state directory need not hold a cluster: it is where the event
    # store and the log positions live, created on first use.
    paths.root.mkdir(parents=True, exist_ok=True)
    events = EventStore(paths.events_db, settings.retention.events_days)
    collector = Collector(settings, load_targets(settings), events)
    collector.start()
    try:
        until_stopped(stop)
    finally:
        collector.stop()
