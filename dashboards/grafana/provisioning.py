"""Grafana provisioning files: the Prometheus and Alertmanager datasources (fixed uids, which
the dashboards reference) and a file provider that puts the dashboards in a Borealis folder."""

from __future__ import annotations

from core.settings import Ports
from dashboards.grafana.build import ALERTMANAGER_UID, PROMETHEUS_UID

FOLDER = "Borealis"
FOLDER_UID = "borealis"
# Where the provider reads the dashboards: mount deploy/grafana/dashboards there.
DASHBOARDS_PATH = "/var/lib/grafana/dashboards/borealis"


def datasources(host: str = "127.0.0.1", ports: Ports | None = None) -> dict[str, object]:
    """The stack's Prometheus and Alertmanager at their default addresses (`make up`)."""
    ports = ports or Ports()
    return {
        "apiVersion": 1,
        "datasources": [
            {
                "name": "Borealis Prometheus",
                "uid": PROMETHEUS_UID,
                "type": "prometheus",
                "access": "proxy",
                "url": f"http://{host}:{ports.port('prometheus')}",
                "isDefault": True,
                "editable": False,
                "jsonData": {
                    "httpMethod": "POST",
                    "timeInterval": "1s",  # the scrape interval: $__rate_interval needs it
                    "prometheusType": "Prometheus",
                },
            },
            {
                "name": "Borealis Alertmanager",
                "uid": ALERTMANAGER_UID,
                "type": "alertmanager",
                "access": "proxy",
                "url": f"http://{host}:{ports.port('alertmanager')}",
                "editable": False,
                "jsonData": {"implementation": "prometheus", "handleGrafanaManagedAlerts": False},
            },
        ],
    }


def dashboard_providers() -> dict[str, object]:
    return {
        "apiVersion": 1,
        "providers": [
            {
                "name": "borealis",
                "orgId": 1,
                "folder": FOLDER,
                "folderUid": FOLDER_UID,
                "type": "file",
                "disableDeletion": False,
                "allowUiUpdates": False,
                "updateIntervalSeconds": 30,
                "options": {"path": DASHBOARDS_PATH, "foldersFromFilesStructure": False},
            }
        ],
    }
