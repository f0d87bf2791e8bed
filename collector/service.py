"""The collector process: targets, pollers, samplers, the registry and the HTTP endpoints."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from borealis.errors import ConfigError
from borealis.paths import StatePaths
from borealis.settings import Settings
from cluster.events import EventStore
from collector.http import CollectorHttp
from collector.localhost import LocalInstances
from collector.poller import InstancePoller
from collector.registry import build_registry
from collector.sampler import SessionSampler
from collector.sources.activity import ActivitySource
from collector.sources.base import Source
from collector.sources.database import DatabaseSource
from collector.sources.host import HostSource
from collector.sources.instance import InstanceSource
from collector.sources.process import ProcessSource
from collector.sources.replication import ReplicationSource
from collector.sources.sizes import SizesSource
from collector.sources.wal import WalSource
from collector.targets import Target, targets_from_file, targets_from_state

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
        SizesSource(),
        ProcessSource(local),
        HostSource(local),
    ]


def load_targets(settings: Settings) -> list[Target]:
    if settings.collector.targets_file:
        return targets_from_file(Path(settings.collector.targets_file))
    paths = StatePaths(settings.state_dir)
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

    def start(self) -> None:
        cfg = self.settings.collector
        self.pollers = [InstancePoller(t, self.sources, cfg) for t in self.targets]
        self.samplers = [SessionSampler(t, cfg, consumers=[]) for t in self.targets]
        registry = build_registry(self.sources, self.pollers, self.samplers)
        self.http = CollectorHttp(
            self.settings.listen_host,
            self.settings.ports.port("collector"),
            registry,
            self.pollers,
            self.events,
        )
        for poller in self.pollers:
            poller.start()
        for sampler in self.samplers:
            sampler.start()
        self.http.start()
        log.info(
            "collector watching %d instances on http://%s:%d/metrics",
            len(self.targets),
            self.settings.listen_host,
            self.settings.ports.port("collector"),
        )

    def stop(self) -> None:
        if self.http is not None:
            self.http.stop()
        workers: list[InstancePoller | SessionSampler] = [*self.pollers, *self.samplers]
        for worker in workers:
            worker.stop()
        for worker in workers:
            worker.join(2.0)


def run(settings: Settings, stop: threading.Event) -> None:
    paths = StatePaths(settings.state_dir)
    events = EventStore(paths.events_db) if paths.root.exists() else None
    collector = Collector(settings, load_targets(settings), events)
    collector.start()
    try:
        stop.wait()
    finally:
        collector.stop()
