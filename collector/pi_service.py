"""Performance Insights inside the collector process: the store, the samplers' consumers and
the PI API server on `ports.pi`."""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from pathlib import Path

from collector.pi_api import PiHttp
from collector.pi_query import PiQueries
from collector.pi_store import PiStore, identifier
from collector.sampler import SessionSampler
from core.settings import Settings
from core.webauth import service_users

log = logging.getLogger(__name__)


def store_path(settings: Settings) -> Path:
    configured = settings.collector.pi_store
    return Path(configured) if configured else settings.state_paths().pi_db


class PerformanceInsights:
    def __init__(self, settings: Settings, samplers: Sequence[SessionSampler]) -> None:
        cfg = settings.collector
        self.settings = settings
        self.samplers = {identifier(s.target): s for s in samplers}
        self.store = PiStore(store_path(settings), cfg.retention_days)
        for sampler in samplers:
            sampler.consumers.append(functools.partial(self.store.add_sample, book=sampler.digests))
            sampler.stats_consumers.append(self.store.add_stats)
        self.queries = PiQueries(
            self.store,
            list(self.samplers),
            sql_literals=cfg.sql_literals,
            stats_interval_s=cfg.stats_interval_s,
            features=self.features,
        )
        self.http = PiHttp(
            settings.listen_host, settings.ports.port("pi"), self.queries, service_users(settings)
        )

    def features(self, resource: str) -> dict[str, str]:
        """GetResourceMetadata's features: what this instance's PI data is built from."""
        sampler = self.samplers[resource]
        cfg = self.settings.collector
        if sampler.connected_version == 0:
            waits = stats = "UNKNOWN"
        else:
            waits = (
                "ENABLED"
                if sampler.wait_sampling_schema
                else ("DISABLED" if sampler.wait_sampling_installed else "UNSUPPORTED")
            )
            stats = (
                "ENABLED"
                if sampler.statements_schema and sampler.stats.statements_error is None
                else "UNSUPPORTED"
            )
        return {
            "WAIT_SAMPLING": waits,
            "SQL_STATISTICS": stats,
            "SQL_TEXT_WITH_LITERALS": "ENABLED" if cfg.sql_literals else "DISABLED",
        }

    def start(self) -> None:
        self.store.start()
        self.http.start()
        log.info("Performance Insights API on %s (store %s)", self.http.url, self.store.path)

    def stop(self) -> None:
        self.http.stop()
        self.store.stop()
