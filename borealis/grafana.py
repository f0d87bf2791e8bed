"""Grafana provisioning for this stack: datasources at its own Prometheus and Alertmanager
ports, dashboards read from the checkout. Point a Grafana at it with
GF_PATHS_PROVISIONING=<state-dir>/grafana/provisioning."""

from __future__ import annotations

from pathlib import Path

from core.paths import StatePaths
from core.settings import Settings
from core.webauth import INTERNAL_USER, auth_enabled, internal_password, internal_password_file
from dashboards.grafana.provisioning import CHECKOUT_DASHBOARDS, write_provisioning

# A wildcard listen address is not one to connect to; Grafana on this machine uses loopback.
WILDCARD_HOSTS = {"0.0.0.0", "::", ""}  # noqa: S104 - compared, never bound


def provisioning_dir(paths: StatePaths) -> Path:
    return paths.root / "grafana" / "provisioning"


def prepare(settings: Settings, paths: StatePaths) -> Path:
    """Write `<state-dir>/grafana/provisioning/{datasources,dashboards}/borealis.yml`."""
    host = settings.listen_host
    host = "127.0.0.1" if host in WILDCARD_HOSTS else host
    url_host = f"[{host}]" if ":" in host else host
    return write_provisioning(
        provisioning_dir(paths),
        prometheus_url=f"http://{url_host}:{settings.ports.port('prometheus')}",
        alertmanager_url=f"http://{url_host}:{settings.ports.port('alertmanager')}",
        dashboards_path=CHECKOUT_DASHBOARDS,
        auth=_login(settings, paths),
    )


def _login(settings: Settings, paths: StatePaths) -> tuple[str, str] | None:
    """The internal user and its password file, for the datasources (None: auth is off)."""
    if not auth_enabled(settings):
        return None
    internal_password(paths)  # made at first use
    return INTERNAL_USER, str(internal_password_file(paths))
