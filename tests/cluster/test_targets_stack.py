"""`borealis up --targets FILE` against PostgreSQL this test starts itself (a primary and its
standby, a `pg_monitor`-only role; no Borealis cluster): the series in the stack's Prometheus,
the instances in its UI, `status --json`, the cluster commands refused, `down`."""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from alerts.generate import GENERATED
from dashboards.headless import CHROMEDRIVER, CHROMIUM, chromium_options
from tests.cluster.helpers import assert_grafana_provisioning
from tests.conftest import LIFECYCLE_PORTS, Stack, wait_for
from testsupport.pgpair import MONITOR_PASSWORD, Pair, start_pair, targets_yaml

pytestmark = pytest.mark.cluster

PAIR_PORT = LIFECYCLE_PORTS + 700  # nothing else of the cluster tier listens at base+700..701
STACK_PORTS = LIFECYCLE_PORTS + 600  # services at base+660..693
CLUSTER = "own-pg"


@pytest.fixture(scope="module")
def pair(shared_tmp: Path) -> Iterator[Pair]:
    running = start_pair(shared_tmp / "watched-pair", PAIR_PORT)
    yield running
    running.stop_all()


def watched_stack(root: Path, pair: Pair, port_base: int) -> tuple[Stack, Path]:
    """A state directory and a targets file for `pair`; no PostgreSQL binaries, no data root."""
    root.mkdir()
    targets = root / "targets.yaml"
    targets.write_text(targets_yaml(pair, CLUSTER))
    env = {
        "BOREALIS_PORTS__BASE": str(port_base),
        "BOREALIS_PG_BIN": str(root / "no-postgresql-here"),
        "BOREALIS_PG_ROOT": str(root / "no-data-root"),  # must stay absent
    }
    return Stack(root / "state", env), targets


def up(stack: Stack, targets: Path) -> str:
    done = stack.cli("up", "--detach", "--targets", str(targets), timeout=180)
    if done.returncode != 0:
        log = stack.state_dir / "logs" / "supervisor.log"
        tail = log.read_text()[-3000:] if log.exists() else ""
        stack.cli("down", timeout=120)
        pytest.fail(f"borealis up --targets failed: {done.stderr}\n{tail}")
    return done.stdout


@pytest.fixture(scope="module")
def watched(pair: Pair, shared_tmp: Path) -> Iterator[Stack]:
    stack, targets = watched_stack(shared_tmp / "watch", pair, STACK_PORTS)
    up(stack, targets)
    yield stack
    done = stack.cli("down", timeout=120)
    assert done.returncode == 0, done.stderr
    assert stack.processes() == []


def test_prometheus_has_the_series_and_the_cloudwatch_recordings(
    watched: Stack, pair: Pair
) -> None:
    for name in (pair.primary.name, pair.standby.name):
        wait_for(
            lambda name=name: watched.prometheus(
                f'borealis_up{{cluster="{CLUSTER}",db_instance="{name}"}} == 1'
            ),
            60,
            what=f"borealis_up of {name} in Prometheus",
        )
    recorded = wait_for(
        lambda: watched.prometheus(
            f'aws_rds_database_connections_average{{dimension_DBClusterIdentifier="{CLUSTER}",'
            f'dimension_DBInstanceIdentifier="{pair.primary.name}"}}'
        ),
        120,
        what="the CloudWatch-named recording for the primary",
    )
    assert recorded[0]["metric"]["dimension_Role"] == "WRITER"
    assert float(recorded[0]["value"][1]) >= 1  # the collector's own connection at least


def test_prometheus_loaded_every_generated_rule_group(watched: Stack) -> None:
    wanted = {
        group["name"]
        for rule_file in GENERATED.glob("*.yml")
        for group in yaml.safe_load(rule_file.read_text())["groups"]
    }
    assert wanted  # the recording rules at least
    url = watched.status()["services"]["prometheus"] + "/api/v1/rules"
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310
        loaded = {group["name"] for group in json.load(response)["data"]["groups"]}
    assert wanted <= loaded


def test_a_target_that_goes_down_shows_down_then_up_again(watched: Stack, pair: Pair) -> None:
    def event_ids(source: str) -> set[str]:
        return {e["EventId"] for e in watched.events(30) if e["SourceIdentifier"] == source}

    def state_of(instance: str) -> bool | None:
        rows = watched.status()["targets"]
        return next(t["up"] for t in rows if t["db_instance"] == instance)

    wait_for(lambda: state_of(pair.standby.name) is True, 60, what="the standby up")
    pair.stop(pair.standby)
    try:
        wait_for(lambda: state_of(pair.standby.name) is False, 60, what="the standby down")
        assert state_of(pair.primary.name) is True
        wait_for(
            lambda: watched.prometheus(
                f'borealis_up{{cluster="{CLUSTER}",db_instance="{pair.standby.name}"}} == 0'
            ),
            60,
            what="borealis_up 0 for the standby in Prometheus",
        )
        # The collector's detectors tell it as RDS events, which `borealis events` lists.
        wait_for(lambda: event_ids(pair.standby.name) & {"RDS-EVENT-0045"}, 60, what="0045")
    finally:
        pair.start(pair.standby)
    wait_for(lambda: state_of(pair.standby.name) is True, 60, what="the standby up again")
    wait_for(lambda: event_ids(pair.standby.name) & {"RDS-EVENT-0006"}, 60, what="restarted")


def test_a_killed_service_is_restarted_and_told_as_an_event(watched: Stack) -> None:
    """The supervisor watching targets restarts a dead service and says so in
    `borealis events`, as the cluster's supervisor does (BOREALIS-EVENT-0161)."""
    pid_file = watched.state_dir / "run" / "collector.pid"
    killed = int(pid_file.read_text())
    since = datetime.now(UTC)
    os.kill(killed, signal.SIGKILL)

    def restart_event() -> dict[str, Any] | None:
        return next(
            (
                e
                for e in watched.events(10)
                if e["EventId"] == "BOREALIS-EVENT-0161"
                and datetime.fromisoformat(e["Date"]) >= since - timedelta(seconds=1)
            ),
            None,
        )

    event = wait_for(restart_event, 60, what="BOREALIS-EVENT-0161 for the collector")
    assert event["Message"] == "The collector service exited (signal SIGKILL) and was restarted."
    assert event["SourceType"] == "db-cluster"
    assert int(pid_file.read_text()) != killed
    # Leave the stack as found: every service healthy, the targets answered for again.
    wait_for(lambda: watched.status()["ready"], 60, what="the stack ready again")
    wait_for(
        lambda: all(t["up"] for t in watched.status()["targets"]), 60, what="targets seen again"
    )


def test_status_lists_services_and_targets_with_their_state(watched: Stack, pair: Pair) -> None:
    def both_up() -> dict[str, Any] | None:
        status = watched.status()
        return status if all(t["up"] for t in status["targets"]) else None

    status = wait_for(both_up, 60, what="both targets up in status")
    assert status["mode"] == "targets"
    assert status["ready"] is True
    assert status["targets_file"] == str(watched.state_dir.parent / "targets.yaml")
    assert set(status["services"]) >= {
        "collector",
        "pi",
        "prometheus",
        "ui",
        "cloudwatch",
        "webhook",
        "alertmanager",
    }
    assert all(status["service_health"].values())
    assert "instances" not in status and "endpoints" not in status
    assert_grafana_provisioning(watched, status)
    roles = {t["db_instance"]: (t["cluster"], t["role"]) for t in status["targets"]}
    assert roles == {
        pair.primary.name: (CLUSTER, "writer"),
        pair.standby.name: (CLUSTER, "reader"),
    }
    assert MONITOR_PASSWORD not in json.dumps(status)
    assert not watched.data_root.exists()  # no data root in this mode
    text = watched.cli("status", timeout=60)
    assert text.returncode == 0, text.stderr
    assert f"{CLUSTER}/{pair.primary.name}" in text.stdout
    assert status["services"]["prometheus"] in text.stdout
    assert f"GF_PATHS_PROVISIONING={status['grafana']['provisioning']}" in text.stdout


def dash_callback(ui: str, output: str, inputs: list[dict[str, Any]]) -> Any:
    """Call a Dash callback the way the page does, over HTTP (the output from the app's own
    dependency list)."""
    with urllib.request.urlopen(f"{ui}/_dash-dependencies", timeout=10) as response:  # noqa: S310
        dependencies = json.load(response)
    callback = next(d for d in dependencies if output in d["output"])
    body = {
        "output": callback["output"],
        "outputs": [
            {"id": part.split(".")[0], "property": part.split(".")[1]}
            for part in callback["output"].strip(".").split("...")
        ],
        # Every input the callback declares, as a fresh page sends them: those not given are
        # None (a store nobody has written yet).
        "inputs": [
            next(
                (i for i in inputs if (i["id"], i["property"]) == (d["id"], d["property"])),
                {"id": d["id"], "property": d["property"], "value": None},
            )
            for d in callback["inputs"]
        ],
        "changedPropIds": [f"{i['id']}.{i['property']}" for i in inputs],
    }
    request = urllib.request.Request(  # noqa: S310 - the stack's own UI
        f"{ui}/_dash-update-component",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return json.load(response)


def test_the_ui_overview_shows_the_watched_instances(watched: Stack, pair: Pair) -> None:
    ui = watched.status()["services"]["ui"]
    with urllib.request.urlopen(ui + "/", timeout=10) as response:  # noqa: S310
        assert response.status == 200
        assert "Borealis" in response.read().decode()

    def cards() -> str:
        reply = dash_callback(
            ui, "topology.children", [{"id": "refresh", "property": "n_intervals", "value": 1}]
        )
        text = json.dumps(reply["response"]["topology"]["children"], ensure_ascii=False)
        return text if f"{pair.standby.name}" in text and "reader · up" in text else ""

    text = wait_for(cards, 60, what="both instances on the overview")
    assert pair.primary.name in text and "writer · up" in text


@pytest.mark.ui
def test_the_overview_in_a_real_browser(watched: Stack, pair: Pair) -> None:
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.fail("chromium and chromium-driver are not installed: run `make install-test`")
    profile = tempfile.mkdtemp(prefix="borealis-chromium-")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=chromium_options(profile))
    try:
        driver.set_page_load_timeout(30)
        driver.get(watched.status()["services"]["ui"] + "/")

        def cards() -> str:
            # One atomic read: the page re-renders the cards on every refresh.
            text = str(
                driver.execute_script(
                    "return Array.from(document.querySelectorAll('#topology .card'))"
                    ".map(c => c.innerText).join(' | ')"
                )
            )
            return text if pair.standby.name in text and "up" in text else ""

        text = wait_for(
            cards,
            60,
            what="the watched instances as cards",
        )
        assert pair.primary.name in text
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def test_cluster_commands_say_there_is_no_cluster(watched: Stack) -> None:
    targets = watched.state_dir.parent / "targets.yaml"
    for command in (["failover"], ["reboot", "x"], ["fault", "kill-writer"], ["trail"]):
        done = watched.cli(*command, timeout=60)
        assert done.returncode == 1, (command, done.stdout)
        assert done.stderr.strip().splitlines() == [
            f"borealis {command[0]}: no Borealis cluster: this stack watches targets from {targets}"
        ]
    again = watched.cli("up", "--detach", "--targets", str(targets), timeout=60)
    assert again.returncode == 0 and "already running" in again.stdout
    cluster_up = watched.cli("up", "--detach", timeout=60)
    assert cluster_up.returncode == 1
    assert f"already running for {watched.state_dir}, watching targets from {targets}" in (
        cluster_up.stderr
    )
    # RDS events make sense here: the collector's detectors write them.
    events = watched.cli("events", "--json", timeout=60)
    assert events.returncode == 0, events.stderr
    assert "Events" in json.loads(events.stdout)


def test_down_stops_every_process_and_up_starts_again(pair: Pair, shared_tmp: Path) -> None:
    stack, targets = watched_stack(shared_tmp / "watch-lifecycle", pair, LIFECYCLE_PORTS + 400)
    printed = up(stack, targets)
    assert f"watching {targets}" in printed
    try:
        assert stack.processes() != []
        down = stack.cli("down", timeout=120)
        assert down.returncode == 0, down.stderr
        assert stack.processes() == []
        offline = stack.status()
        assert offline["mode"] == "targets" and offline["services"] == {}
        assert [t["up"] for t in offline["targets"]] == [None, None]  # nothing watches
        up(stack, targets)
        wait_for(lambda: stack.status()["ready"], 30, what="the restarted stack ready")
    finally:
        stack.cli("down", timeout=120)
    assert stack.processes() == []
