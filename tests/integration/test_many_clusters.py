"""Past one collector: one `borealis collector` watching two clusters from a targets file and
a second collector watching a third, both behind one real Prometheus; every cluster's series
are there, told apart by the `cluster` label (and the collector by `instance`). The first
collector also pushes its metrics over OTLP to a local receiver (collector.metrics)."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from cluster import pgctl
from tests.conftest import INTEGRATION_PORTS, wait_for
from tests.integration.conftest import MONITOR_PASSWORD, SUPER_PASSWORD
from tests.integration.promproc import PrometheusProcess
from testsupport.collector import CollectorProcess
from testsupport.otlp import OtlpReceiver
from testsupport.postgres import start_server

pytestmark = pytest.mark.integration

PG_PORTS = (INTEGRATION_PORTS + 830, INTEGRATION_PORTS + 831)
COLLECTOR_PORTS = (INTEGRATION_PORTS + 832, INTEGRATION_PORTS + 833)
PI_PORTS = (INTEGRATION_PORTS + 834, INTEGRATION_PORTS + 835)
PROMETHEUS_PORT = INTEGRATION_PORTS + 836
OTLP_PORT = INTEGRATION_PORTS + 837


@dataclass
class Fleet:
    prometheus: PrometheusProcess
    collectors: tuple[CollectorProcess, CollectorProcess]
    otlp: OtlpReceiver


def monitor_dsn(port: int) -> str:
    return (
        f"host=127.0.0.1 port={port} user=monitor password={MONITOR_PASSWORD} "
        "dbname=postgres connect_timeout=3"
    )


def targets(clusters: dict[str, int]) -> str:
    lines = ["clusters:"]
    for cluster, port in clusters.items():
        lines += [
            f"  - id: {cluster}",
            "    instances:",
            f"      - id: {cluster}-instance-1",
            f'        dsn: "{monitor_dsn(port)}"',
        ]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def fleet(shared_tmp: Path) -> Iterator[Fleet]:
    root = shared_tmp / "many-clusters"
    root.mkdir()
    servers = []
    running: list[CollectorProcess] = []
    try:
        for n, port in enumerate(PG_PORTS):
            _, popen, _ = start_server(root / f"pg{n}", port, SUPER_PASSWORD)
            servers.append(popen)
            dsn = f"host=127.0.0.1 port={port} user=postgres password={SUPER_PASSWORD}"
            with psycopg.connect(f"{dsn} dbname=postgres", autocommit=True) as conn:
                conn.execute(f"create role monitor login password '{MONITOR_PASSWORD}'")
                conn.execute("grant pg_monitor to monitor")
        with OtlpReceiver(OTLP_PORT) as otlp:
            # Collector A: two clusters from one targets file; collector B: a third.
            layouts = ({"alpha": PG_PORTS[0], "beta": PG_PORTS[1]}, {"gamma": PG_PORTS[1]})
            for n, layout in enumerate(layouts):
                work = root / f"collector-{n}"
                work.mkdir()
                (work / "targets.yaml").write_text(targets(layout))
                env = {
                    "BOREALIS_PORTS__PI": str(PI_PORTS[n]),
                    "BOREALIS_COLLECTOR__POLL_INTERVAL_S": "0.5",
                }
                if n == 0:
                    env["BOREALIS_COLLECTOR__METRICS__OTLP_ENDPOINT"] = otlp.metrics_endpoint
                    env["BOREALIS_COLLECTOR__METRICS__OTLP_INTERVAL_S"] = "1"
                process = CollectorProcess(
                    targets_file=work / "targets.yaml",
                    state_dir=work / "state",
                    port=COLLECTOR_PORTS[n],
                    env=env,
                    log_file=work / "collector.log",
                )
                process.start()
                running.append(process)
            config = {
                "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
                "scrape_configs": [
                    {
                        "job_name": "borealis",
                        "static_configs": [
                            {"targets": [f"127.0.0.1:{port}" for port in COLLECTOR_PORTS]}
                        ],
                    }
                ],
            }
            with PrometheusProcess.with_config(root / "prometheus", PROMETHEUS_PORT, config) as p:
                yield Fleet(p, (running[0], running[1]), otlp)
    finally:
        for process in running:
            process.stop()
        for popen in servers:
            pgctl.stop_process(popen.pid, sig=signal.SIGINT, timeout=30)
            popen.wait(timeout=10)


def test_one_prometheus_sees_every_cluster_of_every_collector(fleet: Fleet) -> None:
    def up_by_cluster() -> dict[str, str]:
        rows = fleet.prometheus.query('borealis_up{job="borealis"} == 1')
        return {r["metric"]["cluster"]: r["metric"]["instance"] for r in rows}

    seen = wait_for(lambda: len(up_by_cluster()) == 3 and up_by_cluster(), 40, what="3 up")
    first, second = (f"127.0.0.1:{port}" for port in COLLECTOR_PORTS)
    assert seen == {"alpha": first, "beta": first, "gamma": second}
    # Beyond health: the SQL sources' series of each cluster, labelled with their cluster.
    rows = wait_for(
        lambda: fleet.prometheus.query(
            "count by (cluster, db_instance) (borealis_xact_commits_total)"
        ),
        30,
        what="commit counters of every cluster",
    )
    assert {(r["metric"]["cluster"], r["metric"]["db_instance"]) for r in rows} == {
        ("alpha", "alpha-instance-1"),
        ("beta", "beta-instance-1"),
        ("gamma", "gamma-instance-1"),
    }


def test_each_collector_serves_only_its_own_clusters(fleet: Fleet) -> None:
    first, second = fleet.collectors
    wait_for(lambda: first.value("borealis_up", cluster="beta") == 1, 30, what="beta up")
    assert first.value("borealis_up", cluster="alpha") == 1
    assert first.value("borealis_up", cluster="gamma") is None
    assert second.value("borealis_up", cluster="gamma") == 1
    assert second.value("borealis_up", cluster="alpha") is None


def test_the_collector_pushes_both_clusters_over_otlp(fleet: Fleet) -> None:
    for cluster in ("alpha", "beta"):
        point = wait_for(
            lambda cluster=cluster: fleet.otlp.latest("borealis_up", cluster=cluster),
            30,
            what=f"borealis_up of {cluster} over OTLP",
        )
        assert point.value == 1
        assert point.attributes["db_instance"] == f"{cluster}-instance-1"
        assert point.resource["service.name"] == "borealis-collector"
    assert fleet.otlp.latest("borealis_up", cluster="gamma") is None  # not this collector's
    commits = wait_for(
        lambda: fleet.otlp.latest("borealis_xact_commits", cluster="alpha"),
        30,
        what="the commit counter over OTLP",
    )
    assert commits.monotonic
    assert commits.kind == "sum"
    assert commits.value >= 0
