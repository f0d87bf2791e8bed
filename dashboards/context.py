"""What every page needs: the data clients and the refresh period."""

from __future__ import annotations

from dataclasses import dataclass

from core.settings import Settings
from dashboards.data import CollectorClient, PiClient, PrometheusClient


@dataclass(frozen=True)
class UiContext:
    prometheus: PrometheusClient
    collector: CollectorClient
    refresh_ms: int
    window_s: float = 900.0
    pi: PiClient | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> UiContext:
        host = settings.listen_host
        return cls(
            prometheus=PrometheusClient(f"http://{host}:{settings.ports.port('prometheus')}"),
            collector=CollectorClient(f"http://{host}:{settings.ports.port('collector')}"),
            refresh_ms=settings.ui.refresh_ms,
            pi=PiClient(f"http://{host}:{settings.ports.port('pi')}"),
        )

    @property
    def step(self) -> float:
        return max(1.0, self.window_s / 300)
