"""What every page needs: the data clients and the refresh period."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from core.settings import Settings
from dashboards.alerting_data import AlertmanagerClient, CloudWatchClient, WebhookClient
from dashboards.data import CollectorClient, PrometheusClient
from dashboards.pi_data import PiClient
from dashboards.timerange import TimeRange, step_for


@dataclass(frozen=True)
class UiContext:
    prometheus: PrometheusClient
    collector: CollectorClient
    refresh_ms: int
    window_s: float = 900.0
    pi: PiClient | None = None
    # The range shown: the last `window_s` before `end_s` (None: now).
    end_s: float | None = None
    range_key: str = ""
    alertmanager: AlertmanagerClient | None = None
    webhook: WebhookClient | None = None
    cloudwatch: CloudWatchClient | None = None
    # The cluster's endpoints: ("writer", "host:port"), ("reader", "host:port").
    endpoints: tuple[tuple[str, str], ...] = ()
    # The shared instance filter (a db_instance; None: every instance) and Grafana's URL.
    instance: str | None = None
    grafana_url: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings, headers: dict[str, str] | None = None) -> UiContext:
        """`headers`: what the clients send to the stack's services (the internal user's
        Authorization when auth is on; the caller reads it from the state directory)."""
        host = settings.listen_host
        h = headers or {}
        return cls(
            prometheus=PrometheusClient(f"http://{host}:{settings.ports.port('prometheus')}", h),
            collector=CollectorClient(f"http://{host}:{settings.ports.port('collector')}", h),
            refresh_ms=settings.ui.refresh_ms,
            pi=PiClient(f"http://{host}:{settings.ports.port('pi')}", h),
            alertmanager=AlertmanagerClient(
                f"http://{host}:{settings.ports.port('alertmanager')}", h
            ),
            webhook=WebhookClient(f"http://{host}:{settings.ports.port('webhook')}", h),
            cloudwatch=CloudWatchClient(f"http://{host}:{settings.ports.port('cloudwatch')}", h),
            endpoints=(
                ("writer", f"{host}:{settings.ports.port('cluster_endpoint')}"),
                ("reader", f"{host}:{settings.ports.port('reader_endpoint')}"),
            ),
            grafana_url=settings.ui.grafana_url,
        )

    def showing(self, shown: TimeRange, instance: str | None = None) -> UiContext:
        """This context over the range the page's range store holds, for the instance the
        shared filter holds (None: every instance)."""
        return replace(
            self,
            window_s=shown.seconds,
            end_s=shown.end,
            range_key=shown.key,
            instance=instance or None,
        )

    @property
    def matchers(self) -> str:
        """PromQL matchers for the instance filter ("" for every instance)."""
        if not self.instance:
            return ""
        escaped = self.instance.replace("\\", "\\\\").replace('"', '\\"')
        return f'db_instance="{escaped}"'

    def bounds(self, now: float | None = None) -> tuple[float, float]:
        """The range shown as (start, end) unix seconds; a relative range ends now."""
        end = self.end_s if self.end_s is not None else (time.time() if now is None else now)
        return end - self.window_s, end

    @property
    def step(self) -> float:
        return step_for(self.window_s)

    @property
    def x_range(self) -> list[str] | None:
        """The x-axis every graph of the page shares (None: Plotly's autorange)."""
        if self.end_s is None:
            return None
        return TimeRange(self.end_s - self.window_s, self.end_s, self.range_key).x_range()
