"""What the cluster-tier tests do the way a user would: faults, events, endpoints, metrics."""

from __future__ import annotations

import json
import urllib.parse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from psycopg.conninfo import make_conninfo

from core.settings import Ports
from tests.conftest import Stack, wait_for


def fault(stack: Stack, *args: str) -> dict[str, Any]:
    done = stack.cli("fault", *args, "--json", timeout=120)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def events_since(stack: Stack, since: str, event_id: str | None = None) -> list[dict[str, Any]]:
    return [
        e
        for e in stack.events(minutes=30)
        if e["Date"] >= since and (event_id is None or e["EventId"] == event_id)
    ]


def endpoint_dsn(stack: Stack, endpoint: str) -> str:
    """The DSN `status` shows, with the password from the file `status` names."""
    status = stack.status()
    uri = urllib.parse.urlsplit(status["endpoints"][endpoint])
    creds = status["credentials"]
    password = json.loads(Path(creds["password_file"]).read_text())[creds["password_key"]]
    return make_conninfo(
        host=uri.hostname,
        port=uri.port,
        user=uri.username,
        password=password,
        dbname=uri.path.lstrip("/"),
        connect_timeout=5,
    )


def instance(stack: Stack, instance_id: str) -> dict[str, Any]:
    return next(i for i in stack.status()["instances"] if i["id"] == instance_id)


def healthy(stack: Stack) -> None:
    wait_for(stack.all_available, 120, interval=0.5, what="every instance and segment available")


def metric(stack: Stack, promql: str) -> float | None:
    result = stack.prometheus(promql)
    return float(result[0]["value"][1]) if result else None


def a_reader(stack: Stack) -> dict[str, Any]:
    readers = [i for i in stack.status()["instances"] if i["role"] == "reader"]
    return max(readers, key=lambda i: (i["tier"], i["id"]))


def assert_grafana_provisioning(stack: Stack, status: dict[str, Any]) -> None:
    """`up` wrote Grafana provisioning for THIS stack: its Prometheus and Alertmanager ports
    (not the defaults), dashboards read from the checkout's deploy/grafana/dashboards."""
    root = Path(status["grafana"]["provisioning"])
    assert root == stack.state_dir / "grafana" / "provisioning"
    sources = yaml.safe_load((root / "datasources" / "borealis.yml").read_text())
    urls = {s["type"]: s["url"] for s in sources["datasources"]}
    alertmanager = Ports(base=int(stack.env["BOREALIS_PORTS__BASE"])).port("alertmanager")
    assert urls == {
        "prometheus": status["services"]["prometheus"],
        "alertmanager": f"http://127.0.0.1:{alertmanager}",
    }
    assert alertmanager != Ports().port("alertmanager")
    providers = yaml.safe_load((root / "dashboards" / "borealis.yml").read_text())
    [provider] = providers["providers"]
    dashboards = Path(provider["options"]["path"])
    assert dashboards == Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "dashboards"
    assert any(dashboards.glob("*.json"))
