"""`borealis up --targets FILE` with `auth:` on, against PostgreSQL this test starts: the UI,
the collector, the PI and CloudWatch APIs, the webhook, Prometheus and Alertmanager answer
401 without credentials or with wrong ones and 200 with the right ones (health stays open),
and the stack still works inside: Prometheus scrapes the collector (up == 1), `status` sees
every service healthy, the UI draws the watched instances."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.httpapi.auth import hash_password
from tests.cluster.test_targets_stack import up, watched_stack
from tests.conftest import LIFECYCLE_PORTS, Stack, wait_for
from testsupport.pgpair import MONITOR_PASSWORD, Pair, start_pair

pytestmark = pytest.mark.cluster

PAIR_PORT = LIFECYCLE_PORTS + 720  # nothing else of the cluster tier listens at base+720..721
STACK_PORTS = LIFECYCLE_PORTS + 800  # services at base+860..895
PASSWORD = "open sesame, says ops"
# Each service's path that needs a login (GET), and its health path that does not.
PROTECTED = {
    "ui": ("/", "/healthz"),
    "collector": ("/metrics", "/healthz"),
    "pi": ("/", "/healthz"),
    "cloudwatch": ("/", "/healthz"),
    "webhook": ("/api/notifications", "/healthz"),
    "prometheus": ("/api/v1/query?query=up", None),
    "alertmanager": ("/api/v2/status", None),
}


def fetch(url: str, user: str | None = None, password: str = "") -> tuple[int, bytes]:
    headers = {}
    if user is not None:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - the test's stack
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.fixture(scope="module")
def pair(shared_tmp: Path) -> Iterator[Pair]:
    running = start_pair(shared_tmp / "auth-pair", PAIR_PORT)
    yield running
    running.stop_all()


@pytest.fixture(scope="module")
def guarded(pair: Pair, shared_tmp: Path) -> Iterator[Stack]:
    stack, targets = watched_stack(shared_tmp / "auth", pair, STACK_PORTS)
    stack.state_dir.mkdir(parents=True)
    (stack.state_dir / "borealis.yaml").write_text(
        f'auth:\n  users:\n    ops: "{hash_password(PASSWORD)}"\n'
    )
    up(stack, targets)
    yield stack
    done = stack.cli("down", timeout=120)
    assert done.returncode == 0, done.stderr
    assert stack.processes() == []


def test_every_service_wants_the_right_credentials(guarded: Stack) -> None:
    services = guarded.status()["services"]
    assert set(PROTECTED) <= set(services)
    for name, (path, health) in PROTECTED.items():
        url = services[name] + path
        assert fetch(url)[0] == 401, name
        assert fetch(url, "ops", "wrong")[0] == 401, name
        assert fetch(url, "nobody", PASSWORD)[0] == 401, name
        status, _ = fetch(url, "ops", PASSWORD)
        # the PI and CloudWatch APIs take POSTs only: past the login, their own refusal
        assert status == (200 if name not in {"pi", "cloudwatch"} else 405), (name, status)
        if health:
            assert fetch(services[name] + health)[0] == 200, name


def query(guarded: Stack, promql: str) -> list[dict[str, Any]]:
    url = guarded.status()["services"]["prometheus"]
    status, body = fetch(
        f"{url}/api/v1/query?{urllib.parse.urlencode({'query': promql})}", "ops", PASSWORD
    )
    assert status == 200
    return list(json.loads(body)["data"]["result"])


def test_prometheus_still_scrapes_the_collector_and_status_sees_all_healthy(
    guarded: Stack,
) -> None:
    wait_for(lambda: query(guarded, 'up{job="borealis"} == 1'), 60, what="collector scraped")
    wait_for(lambda: query(guarded, 'up{job="prometheus"} == 1'), 60, what="self scraped")
    wait_for(lambda: query(guarded, "borealis_up == 1"), 60, what="the targets' series")
    status = guarded.status()
    assert all(status["service_health"].values()), status["service_health"]
    assert all(t["up"] for t in status["targets"])  # status reads the collector with a login
    settings_json = (guarded.state_dir / "run" / "settings.json").read_text()
    secret = (guarded.state_dir / "internal-http-password").read_text()
    assert secret not in settings_json and PASSWORD not in settings_json
    assert MONITOR_PASSWORD not in json.dumps(status)


def test_the_ui_draws_the_instances_behind_the_login(guarded: Stack, pair: Pair) -> None:
    ui = guarded.status()["services"]["ui"]
    token = base64.b64encode(f"ops:{PASSWORD}".encode()).decode()
    login = {"Authorization": f"Basic {token}"}

    def call(path: str, body: dict[str, Any] | None = None) -> Any:
        request = urllib.request.Request(  # noqa: S310 - the test's stack
            ui + path,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Content-Type": "application/json", **login},
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return json.load(response)

    callback = next(d for d in call("/_dash-dependencies") if "topology.children" in d["output"])

    def cards() -> str:
        reply = call(
            "/_dash-update-component",
            {
                "output": callback["output"],
                "outputs": [
                    {"id": part.split(".")[0], "property": part.split(".")[1]}
                    for part in callback["output"].strip(".").split("...")
                ],
                "inputs": [
                    {
                        "id": d["id"],
                        "property": d["property"],
                        "value": 1 if d["id"] == "refresh" else None,
                    }
                    for d in callback["inputs"]
                ],
                "changedPropIds": ["refresh.n_intervals"],
            },
        )
        text = json.dumps(reply["response"]["topology"]["children"], ensure_ascii=False)
        return text if pair.standby.name in text and "reader · up" in text else ""

    text = wait_for(cards, 60, what="both instances on the overview, read through the login")
    assert pair.primary.name in text and "writer · up" in text
